// The trace lines that findings cite, read back from the input files after the analysis, so
// that an HTML report can embed them and stand alone (a bug attachment without the trace).
// Lines are numbered as the parsers number them (1-based, split at "\n"). Only text inputs
// have lines: a binary record (trace.dat, simpletrace) is cited by byte offset and has no
// text to embed; stdin cannot be read twice. Each line is cut at MAX_CHARS.

import { closeSync, openSync, readSync } from 'node:fs';
import { fileChunks, READ_BYTES } from './file-chunks.js';
import type { Analysis } from '../analysis/types.js';
import type { Source } from '../record/types.js';

const MAX_CHARS = 400;

/** A cited line's text by its Source (undefined when not cited or unreadable); close() lets go of the files. */
export type CitedLineText = ((src: Source) => string | undefined) & { close(): void };

/**
 * The cited lines of `analysis`'s findings, looked up by their Source. A file that cannot be
 * read gives none. The files are scanned once for where each cited line is; its text is
 * read when asked for (the report asks once per evidence entry, as it writes them), so
 * that the 44,783 lines a 2 GB trace's findings cite are not all held through the report
 * (issue 13).
 */
export async function citedLines(analysis: Analysis): Promise<CitedLineText> {
  const wanted = new Map<string, Set<number>>();
  for (const f of analysis.findings) {
    for (const e of f.evidence) {
      if (e.src.line === undefined || e.src.file === '<stdin>') continue;
      const s = wanted.get(e.src.file) ?? new Set<number>();
      s.add(e.src.line);
      wanted.set(e.src.file, s);
    }
  }
  const spans = new Map<string, LineSpans>();
  for (const [file, lines] of wanted) {
    const sp = new LineSpans(lines.size);
    try {
      await scanLines(file, lines, (n, start, len) => sp.add(n, start, len));
      spans.set(file, sp);
    } catch {
      // gone or unreadable since the analysis: the page shows file:line only
    }
  }
  const fds = new Map<string, number | undefined>();
  const buf = Buffer.allocUnsafe(MAX_BYTES);
  const text = (src: Source): string | undefined => {
    const sp = spans.get(src.file);
    const at = src.line === undefined || sp === undefined ? -1 : sp.find(src.line);
    if (sp === undefined || at < 0) return undefined;
    let fd = fds.get(src.file);
    if (!fds.has(src.file)) {
      try {
        fd = openSync(src.file, 'r');
      } catch {
        fd = undefined;
      }
      fds.set(src.file, fd);
    }
    if (fd === undefined) return undefined;
    const len = sp.len[at] as number;
    let got = 0;
    try {
      while (got < len) {
        const n = readSync(fd, buf, got, len - got, (sp.start[at] as number) + got);
        if (n === 0) break; // the file got shorter since it was scanned
        got += n;
      }
    } catch {
      return undefined;
    }
    // Nothing where a non-empty line was: the file was cut short since the scan.
    return got === 0 && len > 0 ? undefined : lineText(buf.subarray(0, got));
  };
  return Object.assign(text, {
    close(): void {
      for (const fd of fds.values()) if (fd !== undefined) closeSync(fd);
      fds.clear();
    },
  });
}

/** Enough bytes of a line to hold MAX_CHARS + 1 UTF-16 units whatever its characters (at most 4 bytes each). */
const MAX_BYTES = (MAX_CHARS + 1) * 4;

/** A line's text from its first bytes (up to MAX_BYTES, without the newline): no CR at the end, cut at MAX_CHARS. */
function lineText(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  const t = text.endsWith('\r') ? text.slice(0, -1) : text;
  return t.length > MAX_CHARS ? `${t.slice(0, MAX_CHARS)}…` : t;
}

/**
 * Where the cited lines of one file are: line numbers ascending (the scan finds them in
 * order), byte start, bytes to read. Made with room for every cited line (the scan finds
 * each at most once): grown by copying, a 2 GB trace's 44,783 lines left ≈ 1 MB of
 * outgrown copies as garbage while the report was written.
 */
class LineSpans {
  readonly line: Float64Array;
  readonly start: Float64Array;
  /** At most MAX_BYTES. */
  readonly len: Uint16Array;
  n = 0;

  constructor(capacity: number) {
    this.line = new Float64Array(capacity);
    this.start = new Float64Array(capacity);
    this.len = new Uint16Array(capacity);
  }

  add(line: number, start: number, len: number): void {
    if (this.n >= this.line.length) throw new Error(`evidence-lines: line ${line} found past the ${this.line.length} cited`);
    this.line[this.n] = line;
    this.start[this.n] = start;
    this.len[this.n] = len;
    this.n++;
  }

  /** The index of `line`, or -1. */
  find(line: number): number {
    let lo = 0;
    let hi = this.n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = this.line[mid] as number;
      if (v === line) return mid;
      if (v < line) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}

/**
 * Scans the file's bytes for newlines and reports where each wanted line starts and how
 * many of its bytes to read (up to MAX_BYTES): no string is made of any line here
 * (decoding and splitting every 1 MB chunk of a 470 MB trace left ~100 MB of RSS behind
 * after the analysis, issue 13).
 */
async function scanLines(file: string, lines: ReadonlySet<number>, onLine: (n: number, start: number, len: number) => void): Promise<void> {
  const last = Math.max(...lines);
  let n = 1;
  /** Where line n starts in the file, and where the current chunk does. */
  let lineStart = 0;
  let base = 0;
  // A read at a time into reused buffers (file-chunks.ts): only bytes are scanned here. 1 MiB
  // reads held 3 MiB of buffers beside the report being written; the analysis's read size is enough.
  for await (const chunk of fileChunks(file, READ_BYTES)) {
    let pos = 0;
    for (let nl = chunk.indexOf(10, pos); nl >= 0; nl = chunk.indexOf(10, pos)) {
      if (lines.has(n)) onLine(n, lineStart, Math.min(base + nl - lineStart, MAX_BYTES));
      n++;
      pos = nl + 1;
      lineStart = base + pos;
      if (n > last) return;
    }
    base += chunk.length;
  }
  // An unterminated last line.
  if (lines.has(n) && base > lineStart) onLine(n, lineStart, Math.min(base - lineStart, MAX_BYTES));
}
