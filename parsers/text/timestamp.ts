// Timestamps of ftrace text and `trace-cmd report` (spec trace-formats §2.4, §6):
// nanosecond clocks print "SEC.USEC" (6 digits, the last 3 ns digits dropped) or, with
// `report -t`, "SEC.NSEC" (9 digits); counter clocks (counter, uptime, x86-tsc) print a
// raw integer, which is kept as is (not nanoseconds: the clock name says so).

import { isDigit } from './numbers.js';

/** Seconds below this give nanoseconds below 2^53, so the arithmetic can stay in doubles. */
const EXACT_SECONDS = 9_000_000;
const POW10 = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000];

/**
 * Parse s[start, end) as "SEC.FRAC" (1–9 fraction digits) or a bare integer.
 * Returns nanoseconds (or the raw counter), or undefined when malformed.
 */
export function parseTraceTimestamp(s: string, start: number, end: number): bigint | undefined {
  let i = start;
  let sec = 0;
  let secDigits = 0;
  for (; i < end; i++) {
    const c = s.charCodeAt(i);
    if (!isDigit(c)) break;
    sec = sec * 10 + (c - 48);
    secDigits++;
  }
  if (secDigits === 0) return undefined;
  if (i === end) {
    // A raw counter (trace_clock counter/uptime/x86-tsc): may exceed 2^53.
    return secDigits <= 15 ? BigInt(sec) : BigInt(s.slice(start, end));
  }
  if (s.charCodeAt(i) !== 46) return undefined; // '.'
  i++;
  const fracStart = i;
  let frac = 0;
  for (; i < end; i++) {
    const c = s.charCodeAt(i);
    if (!isDigit(c)) return undefined;
    frac = frac * 10 + (c - 48);
  }
  const fracDigits = end - fracStart;
  if (fracDigits === 0 || fracDigits > 9) return undefined;
  const fracNs = frac * (POW10[9 - fracDigits] ?? 1);
  if (secDigits <= 7 && sec < EXACT_SECONDS) return BigInt(sec * 1e9 + fracNs);
  // Epoch-based clocks (tai, QEMU's wall clock): 10-digit seconds need BigInt arithmetic.
  const secBig = secDigits <= 15 ? BigInt(sec) : BigInt(s.slice(start, fracStart - 1));
  return secBig * 1_000_000_000n + BigInt(fracNs);
}

/** Does s[start, end) hold a "SEC.FRAC" timestamp (as opposed to a raw counter)? */
export function hasFraction(s: string, start: number, end: number): boolean {
  const dot = s.indexOf('.', start);
  return dot >= 0 && dot < end;
}
