// Trace time → wall-clock time for people and log pipelines: ISO 8601 in UTC with
// nanoseconds, from the clock mapping the capture's clock-sync record (or --clock-offset)
// gave. DESIGN "Time": trace clocks are not wall clocks; without a mapping there is no
// wall time to give, and none is made up.

import type { ClockMapping } from '../analysis/types.js';

/** `2026-12-02T01:02:03.123456789Z`, or undefined when the clock is relative or the time unknown. */
export function wallTimeIso(clock: ClockMapping, traceNs: bigint | undefined): string | undefined {
  if (traceNs === undefined || clock.source === 'relative' || clock.offsetNs === undefined) return undefined;
  const ns = traceNs + clock.offsetNs;
  if (ns < 0n) return undefined;
  const iso = new Date(Number(ns / 1_000_000n)).toISOString();
  return `${iso.slice(0, 19)}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}Z`;
}
