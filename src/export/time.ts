// Trace time → wall clock → OpenTelemetry HrTime, exactly (STYLE.md "Exact kernel time";
// DESIGN.md "Time").
//
// The SDK takes span and event times as `TimeInput`. A number is read as milliseconds and,
// when it is below performance.now(), as RELATIVE to the process's time origin; either way a
// double cannot hold nanoseconds past 2^53. An `HrTime` tuple [seconds, nanoseconds] is used
// as given, and the OTLP transformer turns it into fixed64 nanoseconds with BigInt
// arithmetic, so a tuple computed here from bigint arrives at the backend to the nanosecond.

import type { HrTime } from '@opentelemetry/api';
import type { ClockMapping } from '../analysis/types.js';

const NS_PER_S = 1_000_000_000n;

/**
 * How trace times become wall-clock times for one export.
 * - sync/offset: wall = trace + offsetNs.
 * - relative: no mapping is known; the trace time is used AS IF it counted from the Unix
 *   epoch (a trace taken 3 days after boot shows up on 1970-01-04). We do not invent a wall
 *   time: spans say `migscope.clock.source = relative`, and users find them by trace id
 *   (docs/telemetry.md "Time").
 */
export interface WallClock {
  readonly source: 'sync' | 'offset' | 'relative';
  readonly clockName: string | undefined;
  readonly offsetNs: bigint;
}

/**
 * Parse the Analysis' clock mapping. A mapping that claims sync/offset without an offset is
 * treated as relative (parse, don't trust).
 */
export function wallClockOf(clock: ClockMapping): WallClock {
  if (clock.source !== 'relative' && clock.offsetNs !== undefined) {
    return { source: clock.source, clockName: clock.clock, offsetNs: clock.offsetNs };
  }
  return { source: 'relative', clockName: clock.clock, offsetNs: 0n };
}

/** Wall-clock nanoseconds since the epoch, clamped at 0 (a bad offset must not yield a negative time). */
export function toWallNs(traceNs: bigint, wall: WallClock): bigint {
  const ns = traceNs + wall.offsetNs;
  return ns < 0n ? 0n : ns;
}

/** Exact HrTime of a non-negative epoch-nanosecond count. */
export function nsToHrTime(ns: bigint): HrTime {
  const n = ns < 0n ? 0n : ns;
  return [Number(n / NS_PER_S), Number(n % NS_PER_S)];
}

/** HrTime of a trace time under a wall clock. */
export function traceToHrTime(traceNs: bigint, wall: WallClock): HrTime {
  return nsToHrTime(toWallNs(traceNs, wall));
}

/** Seconds as a double, for histograms (precision loss is fine at metric resolution). */
export function nsToSeconds(ns: bigint): number {
  // Split so that large values keep their sub-second part.
  return Number(ns / NS_PER_S) + Number(ns % NS_PER_S) / 1e9;
}
