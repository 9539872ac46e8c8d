// ftrace text read in blocks of whole lines, with the lines the parser would skip taken
// out before it sees them (issue 13: "use both cores"). On a busy host most lines of a
// trace are other kernel activity (sched_switch, futex, other processes' reads), which the
// parser only counts: its byte fast path (ftrace-text.ts classifyLineBytes) rejects them,
// but on the thread that also decodes, tracks and checks. Here the same test runs on
// another thread (src/cli/line-filter-worker.ts) while the main one works on the lines
// kept, which arrive with their line numbers; the skipped ones arrive as counts between
// them (LineParser.skipLines). One decision, made by one function, so the analysis is the
// same line for line whichever thread made it.
//
// A block is sent as it was read ('raw', for the line splitter as before) when the test
// cannot be run on it: a block that is not pure ASCII (byte offsets are not character
// offsets there), one that does not start at a line's start (a line longer than a block),
// or the file's unterminated last line; and every block once a header says latency format.

import { isAscii } from 'node:buffer';
import { closeSync, openSync, readSync } from 'node:fs';
import { newPrefixScan, PREFIX_SCAN_INTS, writePrefixScan, type PrefixScan } from './text/event-prefix.js';
import { classifyLineBytes, isLatencyHeader, LINE_OF_INTEREST, LINE_OTHER, LINE_SKIPPABLE } from './ftrace-text.js';
import { MAX_LINE_BYTES, type LineFeeder } from './lines.js';
import type { LineParser } from '../src/record/types.js';

/**
 * Bytes a block holds at most. No larger than MAX_LINE_BYTES: a line that fits in a block
 * is never one the line splitter would cut as too long, so a filtered block has none.
 */
export const FILTER_BLOCK_BYTES = MAX_LINE_BYTES;

export interface LineBlock {
  /**
   * 'lines': buf[0, len) holds the block's kept lines, each with its "\n", lineNos[i] the
   * number of the i-th; the block's other lines are skippable. 'raw': buf[0, len) are the
   * file's bytes as read, for the line splitter.
   */
  readonly kind: 'lines' | 'raw';
  readonly buf: Buffer;
  readonly len: number;
  readonly lineNos: Float64Array | undefined;
  /** 'lines': SCAN_INTS a kept line: its kind and prefix scan, for LineParser.lineScanned. */
  readonly scans: Int32Array | undefined;
  /** 'lines': how many lines were kept (lineNos and scans may have room for more). */
  readonly kept: number;
  /** Lines before the block. */
  readonly firstLine: number;
  /** Lines that end in the block (its "\n"s). */
  readonly lines: number;
  /** Bytes of the file read for this block (progress; a line cut by the block's end is counted where it was read). */
  readonly bytes: number;
}

export interface FilterState {
  /** A header said latency format: nothing is skipped from there on (the parser reports those lines). */
  latency: boolean;
  readonly scan: PrefixScan;
}

export function newFilterState(): FilterState {
  return { latency: false, scan: newPrefixScan() };
}

/** Int32s per kept line in LineBlock.scans: its kind (classifyLineBytes), then its prefix scan (writePrefixScan; written for a LINE_OF_INTEREST only). */
export const SCAN_INTS = 1 + PREFIX_SCAN_INTS;

/** The kept lines' numbers and prefix scans, as keepLines finds them; grown by doubling. */
export class KeptLines {
  lineNos: Float64Array;
  scans: Int32Array;
  count = 0;

  constructor(capacity: number) {
    const n = Math.max(16, capacity);
    this.lineNos = new Float64Array(n);
    this.scans = new Int32Array(n * SCAN_INTS);
  }

  add(lineNo: number, kind: number, scan: PrefixScan): void {
    if (this.count === this.lineNos.length) {
      const nos = new Float64Array(this.count * 2);
      nos.set(this.lineNos);
      this.lineNos = nos;
      const scans = new Int32Array(this.count * 2 * SCAN_INTS);
      scans.set(this.scans);
      this.scans = scans;
    }
    const a = this.count * SCAN_INTS;
    this.lineNos[this.count] = lineNo;
    this.scans[a] = kind;
    // The prefix scan goes with the line (LineParser.lineScanned): the parser need not scan it again.
    if (kind === LINE_OF_INTEREST) writePrefixScan(this.scans, a + 1, scan);
    this.count++;
  }
}

/** Where the line buf[start, nl) ends as the line splitter hands it on: before a "\r" that ends it. */
function lineEnd(buf: Buffer, start: number, nl: number): number {
  return nl > start && buf[nl - 1] === 13 ? nl - 1 : nl;
}

/**
 * Moves the lines of buf[0, len) that the parser would not skip to the front of buf, in
 * order, and returns how many bytes they take; their numbers (firstLine + 1 on) and scans
 * go to `kept`. buf[0, len) must start at a line's start, end with "\n" and be pure ASCII.
 */
export function keepLines(buf: Buffer, len: number, firstLine: number, st: FilterState, kept: KeptLines): { readonly keptBytes: number; readonly lines: number } {
  let r = 0;
  let w = 0;
  let line = firstLine;
  const scan = st.scan;
  while (r < len) {
    let nl = buf.indexOf(10, r);
    if (nl < 0 || nl >= len) nl = len - 1; // cannot happen: the block ends with "\n"
    line++;
    const end = lineEnd(buf, r, nl);
    const kind = st.latency ? LINE_OTHER : classifyLineBytes(buf, r, end, scan);
    if (kind === LINE_SKIPPABLE) {
      r = nl + 1;
      continue;
    }
    if (buf[r] === 35 && isLatencyHeader(buf.toString('latin1', r, end))) st.latency = true;
    if (w !== r) buf.copyWithin(w, r, nl + 1);
    w += nl + 1 - r;
    kept.add(line, kind, scan);
    r = nl + 1;
  }
  return { keptBytes: w, lines: line - firstLine };
}


/**
 * The share of the lines in `head` (a file's first bytes) that the filter would take out.
 * The filter's thread pays on a trace where most lines are of no interest (a busy host);
 * where nearly every line is migration traffic it only costs memory (pipeline.ts).
 */
export function skippableShare(head: Buffer): number {
  const end = head.lastIndexOf(10) + 1;
  if (end === 0 || !isAscii(head.subarray(0, end))) return 0;
  const copy = Buffer.from(head.subarray(0, end));
  const kept = new KeptLines(1024);
  const k = keepLines(copy, end, 0, newFilterState(), kept);
  return k.lines === 0 ? 0 : (k.lines - kept.count) / k.lines;
}

export interface BlockReader {
  /** The next block, read into `buf` (FILTER_BLOCK_BYTES long); undefined at the end of the file. */
  next(buf: Buffer): LineBlock | undefined;
  close(): void;
}

/**
 * Reads `path` (a regular file) from its start, a block at a time, until a read gives
 * nothing (a file still growing is read to where it has got). Each block ends after its
 * last "\n"; the bytes after it begin the next block.
 */
export function createBlockReader(path: string, blockBytes: number = FILTER_BLOCK_BYTES): BlockReader {
  const fd = openSync(path, 'r');
  let pos = 0;
  let eof = false;
  const carry = Buffer.allocUnsafe(blockBytes);
  let carryLen = 0;
  /** The next block starts at a line's start. */
  let atLineStart = true;
  let line = 0;
  let lastKept = 1024;
  const st = newFilterState();

  function fill(buf: Buffer, from: number): number {
    let n = from;
    while (!eof && n < blockBytes) {
      const got = readSync(fd, buf, n, blockBytes - n, pos);
      if (got === 0) eof = true;
      pos += got;
      n += got;
    }
    return n;
  }

  /**
   * A raw block: its lines are counted, and since the parser gets its whole lines too, a
   * latency header among them stops the filtering of every later block, as it stops the
   * parser's fast path. `startsLine`: buf[0] begins a line (else the first "\n" ends one
   * begun in an earlier block).
   */
  function raw(buf: Buffer, len: number, bytes: number, startsLine: boolean): LineBlock {
    const firstLine = line;
    let s = startsLine ? 0 : -1;
    for (let nl = buf.indexOf(10); nl >= 0 && nl < len; nl = buf.indexOf(10, nl + 1)) {
      line++;
      if (s >= 0 && !st.latency && buf[s] === 35 && isLatencyHeader(buf.toString('latin1', s, lineEnd(buf, s, nl)))) st.latency = true;
      s = nl + 1;
    }
    return { kind: 'raw', buf, len, lineNos: undefined, scans: undefined, kept: 0, firstLine, lines: line - firstLine, bytes };
  }

  return {
    next(buf) {
      if (buf.length < blockBytes) throw new RangeError(`line filter: a block buffer of ${buf.length} bytes (needs ${blockBytes})`);
      if (eof && carryLen === 0) return undefined;
      carry.copy(buf, 0, 0, carryLen);
      const n = fill(buf, carryLen);
      const bytes = n - carryLen;
      carryLen = 0;
      if (n === 0) return undefined;
      const last = buf.lastIndexOf(10, n - 1);
      if (last < 0) {
        // No line ends here: one longer than a block, or the file's unterminated last line.
        const startsLine = atLineStart;
        atLineStart = false;
        return raw(buf, n, bytes, startsLine);
      }
      const cut = last + 1;
      carryLen = buf.copy(carry, 0, cut, n);
      const whole = atLineStart;
      atLineStart = true;
      if (!whole || st.latency || !isAscii(buf.subarray(0, cut))) return raw(buf, cut, bytes, whole);
      // Room for as many kept lines as the block before had: most blocks never grow it.
      const kept = new KeptLines(lastKept + lastKept / 8);
      const firstLine = line;
      const k = keepLines(buf, cut, firstLine, st, kept);
      line += k.lines;
      lastKept = kept.count;
      return { kind: 'lines', buf, len: k.keptBytes, lineNos: kept.lineNos, scans: kept.scans, kept: kept.count, firstLine, lines: k.lines, bytes };
    },
    close() {
      closeSync(fd);
    },
  };
}

/** Kept lines are made strings this many bytes at a time at most (as lines.ts chunks: strings that die young). */
const TEXT_BYTES = 1 << 16;

/**
 * Hands a block to the parser: a raw one through the line splitter, a filtered one line by
 * line with its numbers, the skipped lines between them as counts. `feeder` is the one
 * splitter of the whole input (it carries a line a raw block cut).
 */
export function feedBlock(b: LineBlock, feeder: LineFeeder, parser: LineParser): void {
  if (b.kind === 'raw') {
    for (let at = 0; at < b.len; at += TEXT_BYTES) feeder.push(b.buf.subarray(at, Math.min(b.len, at + TEXT_BYTES)));
    return;
  }
  const { buf, len } = b;
  const nos = b.lineNos as Float64Array;
  const skip = parser.skipLines?.bind(parser);
  if (skip === undefined) throw new Error('line filter: the parser cannot be told of skipped lines');
  const scanned = parser.lineScanned?.bind(parser);
  const fast = parser.lineBytes?.bind(parser);
  const scans = b.scans as Int32Array;
  let prev = b.firstLine;
  let i = 0;
  let at = 0;
  while (at < len) {
    // A run of whole lines of at most TEXT_BYTES (or one longer line), as one string.
    let upto = at + TEXT_BYTES >= len ? len : buf.lastIndexOf(10, at + TEXT_BYTES - 1) + 1;
    if (upto <= at) upto = buf.indexOf(10, at) + 1;
    const text = buf.toString('latin1', at, upto);
    let s = 0;
    while (s < text.length) {
      const nl = text.indexOf('\n', s);
      const lineNo = nos[i++] as number;
      if (lineNo > prev + 1) skip(lineNo - prev - 1);
      prev = lineNo;
      const e = nl > s && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      // An event line with its prefix scanned by the filter; else the parser's own fast path
      // first, as the splitter does.
      if (scanned !== undefined && scans[(i - 1) * SCAN_INTS] === LINE_OF_INTEREST) scanned(text.slice(s, e), lineNo, scans, (i - 1) * SCAN_INTS);
      else if (fast === undefined || !fast(buf, at + s, at + e, lineNo)) parser.line(text.slice(s, e), lineNo);
      s = nl + 1;
    }
    at = upto;
  }
  const last = b.firstLine + b.lines;
  if (last > prev) skip(last - prev);
  feeder.advance(b.lines);
}
