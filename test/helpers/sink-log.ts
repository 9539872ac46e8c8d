// A ParserSink that writes down every call as text (bigints spelled out), for tests that
// compare two ways of feeding a parser. Runs of skipped lines are summed: the line splitter
// reports them one at a time, the line filter (parsers/line-filter.ts) in counts.

import type { ParserSink } from '../../src/record/types.js';

export function sinkLog(): { readonly sink: ParserSink; readonly log: string[] } {
  const log: string[] = [];
  const j = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));
  const sink: ParserSink = {
    record: (r) => log.push(`record ${j(r)}`),
    skipped: (n = 1) => {
      const last = log[log.length - 1];
      if (last?.startsWith('skipped ') === true) log[log.length - 1] = `skipped ${Number(last.slice(8)) + n}`;
      else log.push(`skipped ${n}`);
    },
    malformed: (p) => log.push(`malformed ${j(p)}`),
    clock: (c) => log.push(`clock ${c}`),
    host: (name, how) => log.push(`host ${name} ${how}`),
  };
  return { sink, log };
}
