// scanEventPrefix (event-prefix.ts) on the raw bytes of a line, before any string is made
// (issue 13: "reject irrelevant lines as bytes"). Same grammar, same decisions, same
// PrefixScan out (positions relative to the line's first byte), so that a parser can
// decide from bytes that a line is of no interest, and hand the scan of one that is to its
// string path without scanning it twice. Reading a Uint8Array is the cheapest access V8
// has; charCodeAt on a line sliced from a chunk is several times dearer and every line of
// a multi-GB trace passes through here.
//
// Only for pure-ASCII input (lines.ts checks each chunk): there a byte offset is a
// character offset, so every length limit below means what it means in the string scan.

import { PREFIX_BAD, PREFIX_NONE, PREFIX_OK, type PrefixScan } from './event-prefix.js';

const SPACE = 32;
const LPAREN = 40;
const RPAREN = 41;
const DASH = 45;
const COLON = 58;
const LBRACKET = 91;
const RBRACKET = 93;
const MAX_FLAGS_GAP = 24;
const MAX_EXACT_DEC_DIGITS = 15;

/** First i in [from, end - 1) with b[i] = c0 and b[i + 1] = c1, or -1. */
function indexOf2(b: Uint8Array, from: number, end: number, c0: number, c1: number): number {
  for (let i = from; i < end - 1; i++) if (b[i] === c0 && b[i + 1] === c1) return i;
  return -1;
}

function indexOf1(b: Uint8Array, from: number, end: number, c: number): number {
  for (let i = from; i < end; i++) if (b[i] === c) return i;
  return -1;
}

/** Last i in [low, from] with b[i] = c, or -1. */
function lastIndexOf1(b: Uint8Array, low: number, from: number, c: number): number {
  for (let i = from; i >= low; i--) if (b[i] === c) return i;
  return -1;
}

/** parseSmallDec on bytes: the number b[start, end) spells, -1 when not all digits or empty. */
export function smallDecBytes(b: Uint8Array, start: number, end: number): number {
  if (start >= end || end - start > MAX_EXACT_DEC_DIGITS) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = b[i] ?? 0;
    if (c < 48 || c > 57) return -1;
    v = v * 10 + (c - 48);
  }
  return v;
}

/** scanEventPrefix on b[start, end) (one line, without its newline): PREFIX_OK, PREFIX_BAD or PREFIX_NONE. */
export function scanEventPrefixBytes(b: Uint8Array, start: number, end: number, out: PrefixScan): number {
  let sp = indexOf2(b, start, end, SPACE, LBRACKET);
  while (sp >= 0) {
    const lb = sp + 1;
    const rb = indexOf1(b, lb, end, RBRACKET);
    if (rb < 0) return PREFIX_NONE;
    const cpu = rb - lb <= 6 ? smallDecBytes(b, lb + 1, rb) : -1;
    if (cpu >= 0 && scanPid(b, start, sp, out)) {
      out.cpu = cpu;
      return scanAfterCpu(b, start, end, rb + 1, out);
    }
    sp = indexOf2(b, lb, end, SPACE, LBRACKET);
  }
  return PREFIX_NONE;
}

function scanPid(b: Uint8Array, start: number, sp: number, out: PrefixScan): boolean {
  let k = sp;
  while (k >= start && b[k] === SPACE) k--;
  let tgid = -1;
  if (k >= start && b[k] === RPAREN) {
    const lp = lastIndexOf1(b, start, k, LPAREN);
    if (lp < start + 1 || k - lp > 12) return false;
    let a = lp + 1;
    while (a < k && b[a] === SPACE) a++;
    if (b[a] === DASH) {
      for (let i = a; i < k; i++) if (b[i] !== DASH) return false;
    } else {
      tgid = smallDecBytes(b, a, k);
      if (tgid < 0) return false;
    }
    k = lp - 1;
    if (b[k] !== SPACE) return false;
    while (k >= start && b[k] === SPACE) k--;
  }
  let p = k;
  while (p >= start && (b[p] ?? 0) >= 48 && (b[p] ?? 0) <= 57) p--;
  if (p === k || p < start || k - p > 10 || b[p] !== DASH) return false;
  out.tid = smallDecBytes(b, p + 1, k + 1);
  out.tgid = tgid;
  out.commEnd = p - start;
  return true;
}

function scanAfterCpu(b: Uint8Array, start: number, end: number, i: number, out: PrefixScan): number {
  if (i >= end || b[i] !== SPACE) return PREFIX_BAD;
  const colon = indexOf2(b, i, end, COLON, SPACE);
  if (colon < 0) {
    if (b[end - 1] !== COLON) return PREFIX_BAD;
    return finish(b, start, i, end - 1, end, out);
  }
  return finish(b, start, i, colon, colon + 2, out);
}

function finish(b: Uint8Array, start: number, i: number, colon: number, bodyStart: number, out: PrefixScan): number {
  const found = lastIndexOf1(b, start, colon - 1, SPACE);
  const tsStart = found < 0 ? start : found + 1;
  if (tsStart <= i || tsStart === colon || tsStart - i > MAX_FLAGS_GAP) return PREFIX_BAD;
  out.tsStart = tsStart - start;
  out.tsEnd = colon - start;
  out.bodyStart = bodyStart - start;
  return PREFIX_OK;
}
