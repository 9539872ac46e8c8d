// The trace lines that findings cite, read back from the input files after the analysis, so
// that an HTML report can embed them and stand alone (a bug attachment without the trace).
// Lines are numbered as the parsers number them (1-based, split at "\n"). Only text inputs
// have lines: a binary record (trace.dat, simpletrace) is cited by byte offset and has no
// text to embed; stdin cannot be read twice. Each line is cut at MAX_CHARS.

import { createReadStream } from 'node:fs';
import type { Analysis } from '../analysis/types.js';
import type { Source } from '../record/types.js';
import { detach } from '../../parsers/text/detach.js';

const MAX_CHARS = 400;

const key = (file: string, line: number): string => `${file}\n${line}`;

/** The cited lines of `analysis`'s findings, looked up by their Source. A file that cannot be read gives none. */
export async function citedLines(analysis: Analysis): Promise<(src: Source) => string | undefined> {
  const wanted = new Map<string, Set<number>>();
  for (const f of analysis.findings) {
    for (const e of f.evidence) {
      if (e.src.line === undefined || e.src.file === '<stdin>') continue;
      const s = wanted.get(e.src.file) ?? new Set<number>();
      s.add(e.src.line);
      wanted.set(e.src.file, s);
    }
  }
  const found = new Map<string, string>();
  for (const [file, lines] of wanted) {
    try {
      await readLines(file, lines, (n, text) => found.set(key(file, n), text));
    } catch {
      // gone or unreadable since the analysis: the page shows file:line only
    }
  }
  return (src) => (src.line === undefined ? undefined : found.get(key(src.file, src.line)));
}

async function readLines(file: string, lines: ReadonlySet<number>, onLine: (n: number, text: string) => void): Promise<void> {
  const last = Math.max(...lines);
  let n = 1;
  let rest = '';
  const take = (text: string): void => {
    if (lines.has(n)) {
      const t = text.endsWith('\r') ? text.slice(0, -1) : text;
      // Its own copy: a line cut from the chunk would keep the whole 1 MB chunk alive, and the
      // lines of 4,388 findings kept every chunk of a 470 MB trace (issue 13).
      onLine(n, detach(t.length > MAX_CHARS ? `${t.slice(0, MAX_CHARS)}…` : t));
    }
    n++;
  };
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    const parts = (rest + String(chunk)).split('\n');
    rest = parts.pop() ?? '';
    for (const p of parts) take(p);
    if (n > last) return;
    // a line longer than the cut-off need not be kept whole
    if (rest.length > MAX_CHARS * 4 && !lines.has(n)) rest = rest.slice(-1);
  }
  if (rest !== '') take(rest);
}
