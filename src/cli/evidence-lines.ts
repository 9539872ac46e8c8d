// The trace lines that findings cite, read back from the input files after the analysis, so
// that an HTML report can embed them and stand alone (a bug attachment without the trace).
// Lines are numbered as the parsers number them (1-based, split at "\n"). Only text inputs
// have lines: a binary record (trace.dat, simpletrace) is cited by byte offset and has no
// text to embed; stdin cannot be read twice. Each line is cut at MAX_CHARS.

import { fileChunks } from './file-chunks.js';
import type { Analysis } from '../analysis/types.js';
import type { Source } from '../record/types.js';

const MAX_CHARS = 400;

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
  // By file, then line: a key string per cited line ("file\nline") was as large as the line
  // itself, and 44,783 of them stayed through the whole report of a 2 GB trace (issue 13).
  const found = new Map<string, Map<number, string>>();
  for (const [file, lines] of wanted) {
    const texts = new Map<number, string>();
    found.set(file, texts);
    try {
      await readLines(file, lines, (n, text) => texts.set(n, text));
    } catch {
      // gone or unreadable since the analysis: the page shows file:line only
    }
  }
  return (src) => (src.line === undefined ? undefined : found.get(src.file)?.get(src.line));
}

/** Enough bytes of a line to hold MAX_CHARS + 1 UTF-16 units whatever its characters (at most 4 bytes each). */
const MAX_BYTES = (MAX_CHARS + 1) * 4;

/**
 * Scans the file's bytes for newlines and decodes only the wanted lines: no string is made
 * of the lines between (decoding and splitting every 1 MB chunk of a 470 MB trace left
 * ~100 MB of RSS behind after the analysis, issue 13).
 */
async function readLines(file: string, lines: ReadonlySet<number>, onLine: (n: number, text: string) => void): Promise<void> {
  const last = Math.max(...lines);
  let n = 1;
  // The start of line n from earlier chunks, kept only when line n is wanted (up to MAX_BYTES).
  let head: Buffer[] = [];
  let headBytes = 0;
  const take = (tail: Buffer): void => {
    const bytes = headBytes === 0 ? tail : Buffer.concat([...head, tail]);
    const cut = bytes.length > MAX_BYTES ? bytes.subarray(0, MAX_BYTES) : bytes;
    const text = cut.toString('utf8');
    const t = text.endsWith('\r') ? text.slice(0, -1) : text;
    onLine(n, t.length > MAX_CHARS ? `${t.slice(0, MAX_CHARS)}…` : t);
  };
  // 1 MiB at a time into reused buffers (file-chunks.ts): only bytes are scanned here, nothing is decoded per chunk.
  for await (const chunk of fileChunks(file, 1 << 20)) {
    let pos = 0;
    for (let nl = chunk.indexOf(10, pos); nl >= 0; nl = chunk.indexOf(10, pos)) {
      if (lines.has(n)) take(chunk.subarray(pos, nl));
      head = [];
      headBytes = 0;
      n++;
      pos = nl + 1;
      if (n > last) return;
    }
    if (lines.has(n) && headBytes < MAX_BYTES && pos < chunk.length) {
      // Its own copy: a slice would keep the whole 1 MB chunk alive.
      const part = Buffer.from(chunk.subarray(pos, Math.min(chunk.length, pos + MAX_BYTES - headBytes)));
      head.push(part);
      headBytes += part.length;
    }
  }
  if (headBytes > 0) take(Buffer.alloc(0));
}
