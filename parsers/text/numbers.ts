// Number scanning for the text parsers: hand-written so that the hot path allocates no
// substrings and never backtracks. Every function takes [start, end) positions in a
// line and returns undefined when the characters are not a number of the expected
// shape, so that callers can report the line as malformed.

/** Hex digits beyond this many do not fit a double exactly (52 bits → 13 digits). */
const MAX_EXACT_HEX_DIGITS = 13;
/** Decimal digits that always fit a double exactly. */
const MAX_EXACT_DEC_DIGITS = 15;

const TWO_POW_31 = 2 ** 31;
const TWO_POW_32 = 2 ** 32;

/** Value of a hex digit char code, or -1. */
export function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 97 && c <= 102) return c - 87; // a-f
  if (c >= 65 && c <= 70) return c - 55; // A-F
  return -1;
}

export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Is `s[i..]` an "0x"/"0X" prefix? */
export function has0x(s: string, i: number, end: number): boolean {
  return i + 1 < end && s.charCodeAt(i) === 48 && (s.charCodeAt(i + 1) | 0x20) === 120;
}

/**
 * Unsigned hex number in s[start, end), with or without "0x" (kernel syscall text prints
 * bare hex on kernels before 6.18, `0x` hex on 6.18; spec trace-formats §2.5.1).
 */
export function parseHexBig(s: string, start: number, end: number): bigint | undefined {
  let i = has0x(s, start, end) ? start + 2 : start;
  if (i >= end) return undefined;
  const digits = end - i;
  if (digits <= MAX_EXACT_HEX_DIGITS) {
    let v = 0;
    for (; i < end; i++) {
      const d = hexDigit(s.charCodeAt(i));
      if (d < 0) return undefined;
      v = v * 16 + d;
    }
    return BigInt(v);
  }
  if (digits > 64) return undefined; // absurd; also bounds BigInt work on hostile input
  for (let j = i; j < end; j++) if (hexDigit(s.charCodeAt(j)) < 0) return undefined;
  return BigInt('0x' + s.slice(i, end));
}

/** Like parseHexBig but as a number; undefined when the value is not exact in a double. */
export function parseHexNum(s: string, start: number, end: number): number | undefined {
  let i = has0x(s, start, end) ? start + 2 : start;
  if (i >= end) return undefined;
  // Leading zeros (trace-cmd's 0x%08lx) do not count toward the exactness limit.
  while (i < end - 1 && s.charCodeAt(i) === 48) i++;
  if (end - i > MAX_EXACT_HEX_DIGITS) return undefined;
  let v = 0;
  for (; i < end; i++) {
    const d = hexDigit(s.charCodeAt(i));
    if (d < 0) return undefined;
    v = v * 16 + d;
  }
  return v;
}

/** Optionally signed decimal in s[start, end). */
export function parseDecBig(s: string, start: number, end: number): bigint | undefined {
  let i = start;
  const neg = i < end && s.charCodeAt(i) === 45; // '-'
  if (neg) i++;
  if (i >= end) return undefined;
  if (end - i <= MAX_EXACT_DEC_DIGITS) {
    let v = 0;
    for (; i < end; i++) {
      const c = s.charCodeAt(i);
      if (!isDigit(c)) return undefined;
      v = v * 10 + (c - 48);
    }
    return BigInt(neg ? -v : v);
  }
  if (end - i > 40) return undefined;
  for (let j = i; j < end; j++) if (!isDigit(s.charCodeAt(j))) return undefined;
  const v = BigInt(s.slice(i, end));
  return neg ? -v : v;
}

/**
 * A probe fetch-arg value (spec trace-formats §3.3): `0x` hex for x-types, decimal
 * (signed for s-types) otherwise. Also the QEMU event numbers (`0x%PRIx64` or `%PRIu64`).
 */
export function parseDecOrHexBig(s: string, start: number, end: number): bigint | undefined {
  if (has0x(s, start, end)) return parseHexBig(s, start, end);
  if (start + 3 < end && s.charCodeAt(start) === 45 && has0x(s, start + 1, end)) {
    const v = parseHexBig(s, start + 1, end);
    return v === undefined ? undefined : -v;
  }
  return parseDecBig(s, start, end);
}

/** Reinterpret an unsigned 64-bit register value as the signed long a syscall returned. */
export function u64ToSigned(v: bigint): number {
  return Number(BigInt.asIntN(64, v));
}

/**
 * An fd from a register printed as unsigned: `unsigned int fd` (syscall formats) or the
 * full 64-bit register; -1 shows as 0xffffffff or 0xffffffffffffffff.
 */
export function regToFd(v: bigint): number {
  if (v < BigInt(TWO_POW_31)) return Number(v);
  if (v < BigInt(TWO_POW_32)) return Number(v) - TWO_POW_32;
  return Number(BigInt.asIntN(64, v));
}

/** Number of a small decimal run s[start, end) (pids, cpus); -1 when not all digits or empty. */
export function parseSmallDec(s: string, start: number, end: number): number {
  if (start >= end || end - start > MAX_EXACT_DEC_DIGITS) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (!isDigit(c)) return -1;
    v = v * 10 + (c - 48);
  }
  return v;
}
