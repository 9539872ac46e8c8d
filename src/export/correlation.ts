// One migration, one trace, across hosts (DESIGN.md "Correlating hosts").
//
// The orchestrator passes the same migration id to the source and destination collectors
// (`--migration-id ID`, or the W3C TRACEPARENT environment variable). Both derive:
//   trace id           = first 16 bytes of SHA-256(ID)              (migration id)
//                      = the traceparent's trace id                 (TRACEPARENT)
//   save span id       = first 8 bytes of SHA-256(JSON ["KEY","DEVICE","save"])
//   migration root id  = first 8 bytes of SHA-256(JSON ["KEY","migration"])  (--migration-id only)
// where KEY is the migration id, or the traceparent's trace id (hex). The destination can
// therefore compute the span id of the source's save session for the same device and LINK
// its resume session to it without any message between the hosts. With --migration-id both
// hosts also hang their sessions under one root span "vfio.migration" whose id both derive;
// the source (the host that saw a save session) emits it, the destination only refers to it. Anyone can recompute the
// trace id: `printf %s "$ID" | sha256sum | cut -c1-32`.

import { createHash } from 'node:crypto';
import { parseTraceParent, type TraceParent } from './traceparent.js';

export type Correlation =
  | { readonly mode: 'none' }
  | { readonly mode: 'migration-id'; readonly migrationId: string; readonly traceId: string; readonly key: string }
  | { readonly mode: 'traceparent'; readonly traceId: string; readonly parent: TraceParent; readonly key: string };

export interface CorrelationInput {
  /** --migration-id; wins over TRACEPARENT. */
  readonly migrationId?: string | undefined;
  /** The TRACEPARENT value (the caller reads the environment). */
  readonly traceparent?: string | undefined;
  /** The TRACESTATE value, carried with TRACEPARENT (W3C tracestate). */
  readonly tracestate?: string | undefined;
}

export interface CorrelationResult {
  readonly correlation: Correlation;
  /** Why an input was not used (printed with the export summary). */
  readonly problems: readonly string[];
}

export function resolveCorrelation(input: CorrelationInput): CorrelationResult {
  const problems: string[] = [];
  const id = input.migrationId?.trim();
  const tp = input.traceparent?.trim();
  if (input.migrationId !== undefined && (id === undefined || id === '')) problems.push('--migration-id is empty: sessions are not correlated across hosts');
  if (id !== undefined && id !== '') {
    if (tp !== undefined && tp !== '') problems.push('both --migration-id and TRACEPARENT are set: the trace id derives from --migration-id and TRACEPARENT is ignored');
    return { correlation: { mode: 'migration-id', migrationId: id, traceId: traceIdFromMigrationId(id), key: id }, problems };
  }
  if (tp !== undefined && tp !== '') {
    const parsed = parseTraceParent(tp, input.tracestate);
    if (parsed.ok) {
      return { correlation: { mode: 'traceparent', traceId: parsed.value.traceId, parent: parsed.value, key: parsed.value.traceId }, problems };
    }
    problems.push(`${parsed.error}; sessions are not correlated across hosts`);
  }
  return { correlation: { mode: 'none' }, problems };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** An all-zero id is invalid in OTel; the odds are 2^-128, but never emit one. */
function nonZeroHex(bytes: Buffer): string {
  if (bytes.every((b) => b === 0)) bytes[bytes.length - 1] = 1;
  return bytes.toString('hex');
}

export function traceIdFromMigrationId(migrationId: string): string {
  return nonZeroHex(sha256(migrationId).subarray(0, 16));
}

/**
 * Span id of the first save session of `device` under correlation key `key`. The JSON
 * array keeps any two (key, device) pairs apart, whatever characters they contain.
 */
export function saveSessionSpanId(key: string, device: string): string {
  return nonZeroHex(sha256(JSON.stringify([key, device, 'save'])).subarray(0, 8));
}

/**
 * Span id of the migration's root span under a migration id: the source emits a span with
 * this id, and every session of both hosts names it as parent.
 */
export function migrationRootSpanId(key: string): string {
  return nonZeroHex(sha256(JSON.stringify([key, 'migration'])).subarray(0, 8));
}
