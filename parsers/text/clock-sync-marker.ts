// The clock-sync marker `migscope capture --tracer ftrace|trace-cmd` writes into its tracefs
// instance's trace_marker (DESIGN.md "Time"), and the capture-file header line that names
// the trace clock. Both arrive through the existing parsers: the marker as an ftrace:print
// event (ftrace text `tracing_mark_write: TEXT`, trace.dat `ftrace:print` buf, trace-cmd
// report `print: tracing_mark_write: TEXT`), the header as a `#` comment of ftrace text.
//
//   migscope-clocksync clock=mono trace_ns=1177238010123 wall_ns=1764110000123000000 uncertainty_ns=150 source=runner at=start
//
// trace_ns is CLOCK_MONOTONIC read by the capture (Node's hrtime, capture/clock.ts) in the
// same instant as wall_ns; it is used instead of the print event's own timestamp because
// the pair was measured together (the event's time is a few µs later, and ftrace text
// rounds it to µs). The capture sets the instance's trace_clock to mono, so trace_ns and
// the events' timestamps are on one axis (spec trace-formats §7).
//
// The writer lives in capture/ (capture/ftrace.ts clockSyncMarkerText); the layering rule
// keeps capture/ and parsers/ apart, so test/capture/ftrace-marker.test.ts checks that what
// the capture writes is what this parses.

import type { ClockSyncRecord, MarkerRecord } from '../../src/record/types.js';

export const CLOCK_SYNC_MARKER_WORD = 'migscope-clocksync';

export interface ClockSyncMarker {
  readonly clock: string;
  readonly traceNs: bigint;
  readonly wallNs: bigint;
  readonly uncertaintyNs: bigint | undefined;
}

const MARKER = /^migscope-clocksync((?: [a-z_]+=[^\s=]+)+)\s*$/;

/** The clock-sync pair in a marker text, or undefined when the text is not one (cheap to call). */
export function parseClockSyncMarker(text: string): ClockSyncMarker | undefined {
  if (!text.startsWith(CLOCK_SYNC_MARKER_WORD)) return undefined;
  const m = MARKER.exec(text);
  if (m?.[1] === undefined) return undefined;
  const f = new Map<string, string>();
  for (const kv of m[1].trim().split(' ')) {
    const eq = kv.indexOf('=');
    f.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  const int = (k: string): bigint | undefined => {
    const v = f.get(k);
    return v !== undefined && /^\d{1,30}$/.test(v) ? BigInt(v) : undefined;
  };
  const clock = f.get('clock');
  const traceNs = int('trace_ns');
  const wallNs = int('wall_ns');
  if (clock === undefined || !/^[\w-]{1,32}$/.test(clock) || traceNs === undefined || wallNs === undefined) return undefined;
  return { clock, traceNs, wallNs, uncertaintyNs: int('uncertainty_ns') };
}

/**
 * A marker record as it should be emitted: a ClockSyncRecord when its text is a migscope
 * clock-sync marker (same time, thread and evidence), otherwise the marker unchanged.
 */
export function clockSyncOrMarker(m: MarkerRecord): MarkerRecord | ClockSyncRecord {
  const c = parseClockSyncMarker(m.text);
  if (c === undefined) return m;
  return {
    kind: 'clock-sync',
    tsNs: m.tsNs,
    pid: m.pid,
    tid: m.tid,
    comm: m.comm,
    cpu: m.cpu,
    src: m.src,
    clock: c.clock,
    traceNs: c.traceNs,
    wallNs: c.wallNs,
  };
}

/**
 * The trace clock a migscope ftrace capture names in its header comment
 * (`# migscope-ftrace-capture v1 ... clock=mono ...`); undefined for any other line. ftrace
 * text does not say its clock otherwise (spec §2.4), and "local" would be a wrong guess.
 */
export function captureHeaderClock(line: string): string | undefined {
  if (!line.startsWith('# migscope-ftrace-capture ')) return undefined;
  return /(?:^| )clock=([\w-]{1,32})(?: |$)/.exec(line)?.[1];
}
