// The context prefix every ftrace text event line and every `trace-cmd report` line
// starts with (spec trace-formats §2.3, §6):
//
//   COMM "-" PID SP+ [ "(" TGID ")" SP+ ] "[" CPU "]" SP [ FLAGS SP ] SP* TS ":" SP BODY
//
// COMM may contain "-", spaces, "[" …, so the scan anchors on the " [CPU]" group and
// validates what precedes it (pid digits after a "-", optional tgid group) instead of
// splitting from the left. Speed matters here (every line of a multi-GB trace passes
// through): native indexOf does the searching, char-by-char loops only walk the few
// characters of the pid, and no substring is made until a caller keeps the line.

import { isDigit, parseSmallDec } from './numbers.js';

/** Result of scanEventPrefix; one object per parser, reused for every line. */
export interface PrefixScan {
  /** Comm ends here; it starts after the line's leading padding (see commOf). */
  commEnd: number;
  tid: number;
  /** -1 when the line has no TGID column or shows "(-------)". */
  tgid: number;
  cpu: number;
  tsStart: number;
  tsEnd: number;
  /** Index of the first body character (after ": "). */
  bodyStart: number;
}

export function newPrefixScan(): PrefixScan {
  return { commEnd: 0, tid: 0, tgid: -1, cpu: 0, tsStart: 0, tsEnd: 0, bodyStart: 0 };
}

/** Numbers in a PrefixScan as writePrefixScan writes them (a scan made on another thread: parsers/line-filter.ts). */
export const PREFIX_SCAN_INTS = 7;

export function writePrefixScan(a: Int32Array, at: number, s: PrefixScan): void {
  a[at] = s.commEnd;
  a[at + 1] = s.tid;
  a[at + 2] = s.tgid;
  a[at + 3] = s.cpu;
  a[at + 4] = s.tsStart;
  a[at + 5] = s.tsEnd;
  a[at + 6] = s.bodyStart;
}

/** The scan writePrefixScan wrote at a[at, at + PREFIX_SCAN_INTS), into `out`. */
export function readPrefixScan(a: Int32Array, at: number, out: PrefixScan): void {
  out.commEnd = a[at] as number;
  out.tid = a[at + 1] as number;
  out.tgid = a[at + 2] as number;
  out.cpu = a[at + 3] as number;
  out.tsStart = a[at + 4] as number;
  out.tsEnd = a[at + 5] as number;
  out.bodyStart = a[at + 6] as number;
}

/** scanEventPrefix results. */
export const PREFIX_NONE = 0; // no "COMM-PID [CPU]" structure at all
export const PREFIX_BAD = 1; // the structure is there but the rest is broken (e.g. truncated)
export const PREFIX_OK = 2;

const SPACE = 32;
const RPAREN = 41;
const DASH = 45;

/** Longest gap between "]" and the timestamp: " " + 5–6 flag characters + padding. */
const MAX_FLAGS_GAP = 24;

/**
 * Scan `COMM-PID [(TGID)] [CPU] [FLAGS] TS: ` at the start of `line` into `out`.
 * Returns PREFIX_OK, PREFIX_BAD or PREFIX_NONE.
 */
export function scanEventPrefix(line: string, out: PrefixScan): number {
  let sp = line.indexOf(' [');
  while (sp >= 0) {
    const lb = sp + 1;
    const rb = line.indexOf(']', lb);
    if (rb < 0) return PREFIX_NONE;
    const cpu = rb - lb <= 6 ? parseSmallDec(line, lb + 1, rb) : -1;
    if (cpu >= 0 && scanPid(line, sp, out)) {
      out.cpu = cpu;
      return scanAfterCpu(line, rb + 1, out);
    }
    sp = line.indexOf(' [', lb);
  }
  return PREFIX_NONE;
}

/** Walk back from the space before "[": spaces, optional "(TGID)", spaces, PID digits, "-". */
function scanPid(line: string, sp: number, out: PrefixScan): boolean {
  let k = sp;
  while (k >= 0 && line.charCodeAt(k) === SPACE) k--;
  let tgid = -1;
  if (k >= 0 && line.charCodeAt(k) === RPAREN) {
    const lp = line.lastIndexOf('(', k);
    if (lp < 1 || k - lp > 12) return false;
    let a = lp + 1;
    while (a < k && line.charCodeAt(a) === SPACE) a++;
    if (line.charCodeAt(a) === DASH) {
      for (let b = a; b < k; b++) if (line.charCodeAt(b) !== DASH) return false;
    } else {
      tgid = parseSmallDec(line, a, k);
      if (tgid < 0) return false;
    }
    k = lp - 1;
    if (line.charCodeAt(k) !== SPACE) return false;
    while (k >= 0 && line.charCodeAt(k) === SPACE) k--;
  }
  let p = k;
  while (p >= 0 && isDigit(line.charCodeAt(p))) p--;
  if (p === k || p < 0 || k - p > 10 || line.charCodeAt(p) !== DASH) return false;
  out.tid = parseSmallDec(line, p + 1, k + 1);
  out.tgid = tgid;
  out.commEnd = p;
  return true;
}

/** After "]": " " [FLAGS] " "* TS ": " — the first ": " after "]" ends the timestamp. */
function scanAfterCpu(line: string, i: number, out: PrefixScan): number {
  if (line.charCodeAt(i) !== SPACE) return PREFIX_BAD;
  const colon = line.indexOf(': ', i);
  if (colon < 0) {
    // Tolerate an event with an empty body at the very end ("…: ").
    if (line.charCodeAt(line.length - 1) !== 58) return PREFIX_BAD;
    return finish(line, i, line.length - 1, line.length, out);
  }
  return finish(line, i, colon, colon + 2, out);
}

function finish(line: string, i: number, colon: number, bodyStart: number, out: PrefixScan): number {
  const tsStart = line.lastIndexOf(' ', colon - 1) + 1;
  // The flags column (irq-info) is not interpreted (spec §2.3.1): any 4–6 characters.
  if (tsStart <= i || tsStart === colon || tsStart - i > MAX_FLAGS_GAP) return PREFIX_BAD;
  out.tsStart = tsStart;
  out.tsEnd = colon;
  out.bodyStart = bodyStart;
  return PREFIX_OK;
}

/**
 * The comm of the scanned line, through `intern` (parsers/text/detach.ts); undefined for
 * "<...>" (the pid→comm cache did not know the task).
 */
/** The comm ftrace prints when its pid→comm cache did not know the task. */
const UNKNOWN_COMM = '<...>';

export function commOf(line: string, scan: PrefixScan, intern: (s: string) => string, byTid?: Map<number, string>): string | undefined {
  let c = 0;
  while (c < scan.commEnd && line.charCodeAt(c) === SPACE) c++;
  // A thread's lines mostly repeat its comm: compare in place with the one it had last
  // time instead of cutting and hashing a new substring for every kept line.
  const had = byTid?.get(scan.tid);
  if (had !== undefined && had.length === scan.commEnd - c && line.startsWith(had, c)) return had === UNKNOWN_COMM ? undefined : had;
  const comm = line.slice(c, scan.commEnd);
  const own = comm === UNKNOWN_COMM ? UNKNOWN_COMM : intern(comm);
  if (byTid !== undefined) {
    if (byTid.size >= 4096) byTid.clear(); // bounded on hostile input with endless tids
    byTid.set(scan.tid, own);
  }
  return own === UNKNOWN_COMM ? undefined : own;
}
