// The ftrace parser's byte fast path (parsers/ftrace-text.ts lineBytes, parsers/text/
// event-prefix-bytes.ts) must change nothing but speed: the same input through the line
// splitter with and without it gives the same sink calls in the same order, and the byte
// prefix scan agrees with the string scan on every line, including broken ones.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFtraceTextParser } from '../../parsers/ftrace-text.js';
import { createLineFeeder } from '../../parsers/lines.js';
import { newPrefixScan, scanEventPrefix } from '../../parsers/text/event-prefix.js';
import { scanEventPrefixBytes } from '../../parsers/text/event-prefix-bytes.js';
import type { LineParser, ParserSink } from '../../src/record/types.js';
import { fixturesDir, samplesDir } from '../fixtures/text/harness.js';
import { CRAFTED } from '../helpers/ftrace-crafted.js';

/** Every sink call, in order, as text (bigints spelled out). */
function run(input: string, fast: boolean, chunk = 1 << 16): { log: string[]; bytesLines: number } {
  const log: string[] = [];
  const j = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));
  const sink: ParserSink = {
    record: (r) => log.push(`record ${j(r)}`),
    skipped: (n = 1) => log.push(`skipped ${n}`),
    malformed: (p) => log.push(`malformed ${j(p)}`),
    clock: (c) => log.push(`clock ${c}`),
    host: (name, how) => log.push(`host ${name} ${how}`),
  };
  const parser = createFtraceTextParser('t.txt', sink);
  let bytesLines = 0;
  const counted = parser.lineBytes;
  const p: LineParser = fast
    ? {
        line: parser.line,
        end: parser.end,
        lineBytes: counted === undefined ? undefined : (b, s, e, n) => (bytesLines++, counted(b, s, e, n)),
      }
    : { line: parser.line, end: parser.end };
  const feeder = createLineFeeder(p, { file: 't.txt', sink });
  const buf = Buffer.from(input, 'latin1');
  for (let i = 0; i < buf.length; i += chunk) feeder.push(buf.subarray(i, i + chunk));
  feeder.end();
  return { log, bytesLines };
}

describe('ftrace text byte fast path', () => {
  it('gives the same sink calls as the string path on crafted lines, in chunks of any size', () => {
    const text = CRAFTED.join('\n') + '\n';
    const slow = run(text, false).log;
    expect(slow.some((l) => l.startsWith('skipped'))).toBe(true);
    expect(slow.some((l) => l.startsWith('malformed'))).toBe(true);
    expect(slow.some((l) => l.startsWith('record'))).toBe(true);
    for (const chunk of [1 << 16, 97, 13]) {
      const fast = run(text, true, chunk);
      expect(fast.bytesLines).toBeGreaterThan(0);
      expect(fast.log).toEqual(slow);
    }
  });

  const dirs = [join(fixturesDir), ...(samplesDir() === undefined ? [] : [join(samplesDir() ?? '', 'ftrace'), join(samplesDir() ?? '', 'uprobe')])];
  const files = dirs.flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.txt')).map((f) => join(d, f)));
  it.each(files)('gives the same sink calls as the string path on %s', (file) => {
    const text = readFileSync(file, 'latin1');
    expect(run(text, true).log).toEqual(run(text, false).log);
  });

  it('byte prefix scan agrees with the string scan on mutated lines', () => {
    // Deterministic mutations of real prefixes: every status (none, bad, ok) occurs.
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = ' -[]():.0123456789abc#';
    const seen = new Set<number>();
    const a = newPrefixScan();
    const b = newPrefixScan();
    for (let i = 0; i < 20_000; i++) {
      const base = CRAFTED[rnd(CRAFTED.length)] ?? '';
      const chars = [...base];
      for (let m = rnd(4); m > 0; m--) {
        const at = rnd(Math.max(1, Math.min(chars.length, 70)));
        if (rnd(2) === 0) chars.splice(at, 1);
        else chars.splice(at, 0, alphabet[rnd(alphabet.length)] ?? ' ');
      }
      const line = chars.join('').replace(/\r$/, '');
      const bytes = Buffer.from(`xx${line}\n`, 'latin1');
      const s = scanEventPrefix(line, a);
      const t = scanEventPrefixBytes(bytes, 2, bytes.length - 1, b);
      seen.add(s);
      expect([line, t]).toEqual([line, s]);
      if (s === 2) expect([line, b]).toEqual([line, a]);
    }
    expect([...seen].sort()).toEqual([0, 1, 2]);
  });
});
