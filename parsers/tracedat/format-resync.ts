// Finding the way through an event-format list whose stored sizes lie (spec/trace-formats.md
// §5.3 items 3–4: `u32 count, count × (u64 size, text)` per system, systems as
// `name\0` + list). trace-cmd writes each format's size, then copies the format file; when
// another tracer adds or removes a probe meanwhile, the copied text can differ from the size
// written before it (seen here with two test suites tracing at once, issue 14: a "format
// size" of 28556934527805805 read out of the middle of a text). Every later format, and with
// v6 every later part of the file, would then be read at the wrong place.
//
// What is after a format is known: the next format (its size, then "name: "), the next
// system's header (`name\0`, a u32 count, then a format), or the end of the section. When
// the stored size does not lead there, the text is taken to run up to the first such
// structure found after it. Structures are only accepted whole (a plausible size followed by
// "name: "), so the scan never starts reading inside a text.

import type { ByteSource } from './byte-source.js';

/** What must follow a format record at its declared end. */
/**
 * 'systems': a u32 system count, then a system header (v6: the ftrace list is followed by the
 * systems). 'kallsyms': v6's kallsyms block (u32 size, then `address type name` lines), which
 * follows the last system.
 */
export type Follower = 'format' | 'system' | 'systems' | 'kallsyms' | 'end' | 'unknown';

/** A structure found by the scan: where the damaged text ends and what starts there. */
export interface Resync {
  /** File-source position where the damaged record's text ends. */
  readonly textEnd: number;
  /** What starts at textEnd: a format record, a system header, the system count (v6), or the source's end. */
  readonly next: 'format' | 'system' | 'systems' | 'kallsyms' | 'end';
}

const NAME = Buffer.from('name: ', 'latin1');
/** Formats of a whole kernel are about 1 MB; a text longer than this is not one format. */
const MAX_SCAN = 4 * 1024 * 1024;
const MAX_FORMATS_PER_SYSTEM = 100_000;

function read(src: ByteSource, pos: number, len: number): Buffer {
  const n = Math.max(0, Math.min(len, src.size - pos));
  const b = Buffer.alloc(n);
  if (n > 0) src.readInto(b, 0, pos, n);
  return b;
}

/** A format record (u64 size, then "name: ") starting at `p`, whose text fits the source. */
export function formatRecordAt(src: ByteSource, p: number): boolean {
  const b = read(src, p, 8 + NAME.length);
  if (b.length < 8 + NAME.length) return false;
  const size = b.readBigUInt64LE(0);
  return size >= BigInt(NAME.length) && BigInt(p + 8) + size <= BigInt(src.size) && b.subarray(8).equals(NAME);
}

const identByte = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x2d;

/** A system header (`name\0`, u32 count ≥ 1, then a format record) starting at `p`. */
export function systemHeaderAt(src: ByteSource, p: number): boolean {
  const b = read(src, p, 256);
  let i = 0;
  while (i < b.length && identByte(b[i] ?? 0)) i++;
  if (i === 0 || i >= b.length || b[i] !== 0 || i + 5 > b.length) return false;
  const count = b.readUInt32LE(i + 1);
  return count >= 1 && count <= MAX_FORMATS_PER_SYSTEM && formatRecordAt(src, p + i + 5);
}

/** A system count (u32 ≥ 1) followed by a system header at `p`: the v6 ftrace list's follower. */
function systemsAt(src: ByteSource, p: number): boolean {
  const b = read(src, p, 4);
  return b.length === 4 && b.readUInt32LE(0) >= 1 && b.readUInt32LE(0) <= MAX_FORMATS_PER_SYSTEM && systemHeaderAt(src, p + 4);
}

const KALLSYMS_LINE = /^[0-9a-f]{8,16} [A-Za-z] \S/;

/** v6's kallsyms block at `p`: a u32 size that fits, then a symbol line (or size 0 and a fitting u32 printk size). */
function kallsymsAt(src: ByteSource, p: number): boolean {
  const b = read(src, p, 4 + 40);
  if (b.length < 8) return false;
  const n = b.readUInt32LE(0);
  if (p + 4 + n > src.size) return false;
  if (n === 0) return p + 8 + b.readUInt32LE(4) <= src.size;
  return KALLSYMS_LINE.test(b.toString('latin1', 4));
}

/** Does what is at `p` fit what must follow there? */
export function followerFits(src: ByteSource, p: number, follower: Follower): boolean {
  switch (follower) {
    case 'format':
      return formatRecordAt(src, p);
    case 'system':
      return systemHeaderAt(src, p);
    case 'systems':
      return systemsAt(src, p);
    case 'kallsyms':
      return kallsymsAt(src, p);
    case 'end':
      return p === src.size;
    case 'unknown':
      return true;
  }
}

/**
 * The first structure after the text that starts at `textStart` which fits `follower`
 * (for a 'format' also a system header: the list ended early). undefined when none is found
 * within the scan window, or the follower cannot be recognised ('unknown'): the rest of the
 * list cannot be located then.
 */
export function resyncAfter(src: ByteSource, textStart: number, follower: Follower): Resync | undefined {
  if (follower === 'unknown') return undefined;
  const window = read(src, textStart, MAX_SCAN);
  if (follower === 'kallsyms') {
    // The first symbol line after the text, its u32 size just before it.
    const re = /[0-9a-f]{8,16} [A-Za-z] \S/g;
    const text = window.toString('latin1');
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const at = textStart + m.index - 4;
      if (at > textStart && kallsymsAt(src, at)) return { textEnd: at, next: 'kallsyms' };
    }
    return undefined;
  }
  // From 1: the damaged record's own text starts with "name: ".
  for (let h = window.indexOf(NAME, 1); h >= 0; h = window.indexOf(NAME, h + 1)) {
    const rec = textStart + h - 8;
    if (rec <= textStart || !formatRecordAt(src, rec)) continue;
    if (follower === 'format') {
      const sys = systemHeaderEndingAt(src, window, textStart, rec);
      return sys === undefined ? { textEnd: rec, next: 'format' } : { textEnd: sys, next: 'system' };
    }
    if (follower === 'system' || follower === 'systems') {
      const sys = systemHeaderEndingAt(src, window, textStart, rec);
      if (sys === undefined) continue;
      if (follower === 'system') return { textEnd: sys, next: 'system' };
      if (sys - 4 > textStart && systemsAt(src, sys - 4)) return { textEnd: sys - 4, next: 'systems' };
    }
  }
  if (follower === 'end' && textStart + window.length === src.size) return { textEnd: src.size, next: 'end' };
  return undefined;
}

/** Where a system header ends right before the format record at `rec`, its start; else undefined. */
function systemHeaderEndingAt(src: ByteSource, window: Buffer, base: number, rec: number): number | undefined {
  const nul = rec - 5; // name\0, then the u32 count, then the record
  if (nul <= base || window[nul - base] !== 0) return undefined;
  let start = nul;
  while (start > base && identByte(window[start - 1 - base] ?? 0)) start--;
  return start < nul && systemHeaderAt(src, start) ? start : undefined;
}
