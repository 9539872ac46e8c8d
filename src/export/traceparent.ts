// W3C Trace Context `traceparent` (https://www.w3.org/TR/trace-context/#traceparent-header):
// "00-<trace-id 32 hex>-<parent-id 16 hex>-<flags 2 hex>". An orchestrator that already
// traces the migration hands it to migscope in the TRACEPARENT environment variable
// (DESIGN.md "Correlating hosts"); the sessions then become children of its span.

export interface TraceParent {
  readonly traceId: string;
  readonly parentSpanId: string;
  readonly sampled: boolean;
}

export type TraceParentResult = { readonly ok: true; readonly value: TraceParent } | { readonly ok: false; readonly error: string };

const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/**
 * Parse a traceparent value. Version 00 must be exactly four fields; a higher version may
 * carry more fields after the flags (the spec's forward-compatibility rule); version ff is
 * invalid, as are all-zero ids and upper-case hex.
 */
export function parseTraceParent(text: string): TraceParentResult {
  const t = text.trim();
  const m = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/.exec(t);
  if (m === null) {
    return { ok: false, error: `TRACEPARENT "${text}" is not "00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>" (lower-case hex)` };
  }
  const version = m[1] ?? '';
  const traceId = m[2] ?? '';
  const parentSpanId = m[3] ?? '';
  const flags = m[4] ?? '00';
  const rest = m[5];
  if (version === 'ff') return { ok: false, error: `TRACEPARENT "${text}": version ff is invalid` };
  if (version === '00' && rest !== undefined) return { ok: false, error: `TRACEPARENT "${text}": version 00 has exactly four fields` };
  if (traceId === ZERO_TRACE) return { ok: false, error: `TRACEPARENT "${text}": the trace id is all zeros` };
  if (parentSpanId === ZERO_SPAN) return { ok: false, error: `TRACEPARENT "${text}": the parent id is all zeros` };
  return { ok: true, value: { traceId, parentSpanId, sampled: (parseInt(flags, 16) & 1) === 1 } };
}
