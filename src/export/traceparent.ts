// W3C Trace Context (https://www.w3.org/TR/trace-context/#traceparent-header) read from the
// environment: an orchestrator that already traces the migration hands its span to migscope
// in TRACEPARENT (and optionally TRACESTATE), the environment-variable carrier of the OTel
// spec ("Environment Variables as Context Propagation Carriers"). The sessions then become
// children of its span (DESIGN.md "Correlating hosts").
//
// Parsing is @opentelemetry/core's W3CTraceContextPropagator (version ff, all-zero ids,
// upper-case hex and extra fields on version 00 are refused there); this module only turns
// its "no span context" answer into a message for the export summary.

import { ROOT_CONTEXT, TraceFlags, trace, type SpanContext, type TextMapGetter } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

export interface TraceParent {
  readonly traceId: string;
  readonly parentSpanId: string;
  readonly sampled: boolean;
  /** The remote span context as the propagator extracted it (tracestate included). */
  readonly spanContext: SpanContext;
}

export type TraceParentResult = { readonly ok: true; readonly value: TraceParent } | { readonly ok: false; readonly error: string };

interface EnvCarrier {
  readonly traceparent: string;
  readonly tracestate: string | undefined;
}

const getter: TextMapGetter<EnvCarrier> = {
  keys: (c) => (c.tracestate === undefined ? ['traceparent'] : ['traceparent', 'tracestate']),
  get: (c, key) => (key === 'traceparent' ? c.traceparent : key === 'tracestate' ? c.tracestate : undefined),
};

const propagator = new W3CTraceContextPropagator();

/** Parse a TRACEPARENT value (and TRACESTATE, when set) with the OTel W3C propagator. */
export function parseTraceParent(text: string, traceState?: string): TraceParentResult {
  const carrier: EnvCarrier = { traceparent: text.trim(), tracestate: traceState?.trim() || undefined };
  const sc = trace.getSpanContext(propagator.extract(ROOT_CONTEXT, carrier, getter));
  if (sc === undefined) {
    return {
      ok: false,
      error: `TRACEPARENT "${text}" is not a valid W3C traceparent ("00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>", lower-case hex, ids not all zeros, version not ff)`,
    };
  }
  return { ok: true, value: { traceId: sc.traceId, parentSpanId: sc.spanId, sampled: (sc.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED, spanContext: sc } };
}
