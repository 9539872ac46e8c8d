// Hands a SessionPlan (session-plan.ts) to the OpenTelemetry SDK: start the spans with
// exact HrTime start times, add the events, set the status, end them with exact end times.
// Before each end() it waits for room in the span pipeline (span-pipeline.ts), so the
// batch processor's queue never overflows.

import { ROOT_CONTEXT, SpanStatusCode, trace, type Context, type Link, type Span, type SpanContext, type Tracer } from '@opentelemetry/api';
import type { SpanPlan, SessionPlan } from './session-plan.js';
import type { MigrationIdGenerator } from './id-generator.js';

export interface Emitter {
  readonly tracer: Tracer;
  readonly ids: MigrationIdGenerator;
  /** undefined when `n` more spans fit in the queue now; otherwise resolves when they do. */
  room(n: number): Promise<void> | undefined;
  /** The most spans room() can promise at once (the queue size). */
  readonly capacity: number;
  /** Counts one ended span. */
  ended(): void;
}

function fill(span: Span, plan: SpanPlan): void {
  for (const ev of plan.events) span.addEvent(ev.name, ev.attributes, ev.time);
  // error.type is set with the status by the plan (session-plan.ts), as semconv asks.
  if (plan.error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: plan.error });
}

function endNow(em: Emitter, span: Span, plan: SpanPlan): void {
  span.end(plan.end);
  em.ended();
}

async function end(em: Emitter, span: Span, plan: SpanPlan): Promise<void> {
  const wait = em.room(1);
  if (wait !== undefined) await wait;
  endNow(em, span, plan);
}

export interface RootOptions {
  /** The orchestrator's span (TRACEPARENT), or ROOT_CONTEXT. */
  readonly parent: Context;
  /** A derived span id (first save session under a migration id); undefined: random. */
  readonly spanId: string | undefined;
  readonly links: readonly Link[];
}

/** Start a root-level span from a plan (session or standalone finding). */
function startRoot(em: Emitter, plan: SpanPlan, opts: RootOptions): Span {
  return em.ids.withSpanId(opts.spanId, () =>
    em.tracer.startSpan(plan.name, { kind: plan.kind, startTime: plan.start, attributes: plan.attributes, links: [...opts.links] }, opts.parent),
  );
}

/** Emit a session; returns the root span's context (for later child findings). */
export async function emitSession(em: Emitter, plan: SessionPlan, opts: RootOptions): Promise<SpanContext> {
  const n = plan.states.length + 1;
  // Usually the whole session fits: wait once, then end its spans without awaiting each
  // (an await per span was a measurable share of the bench). A session larger than the
  // queue waits span by span.
  const whole = n <= em.capacity;
  if (whole) {
    const wait = em.room(n);
    if (wait !== undefined) await wait;
  }
  const root = startRoot(em, plan.root, opts);
  fill(root, plan.root);
  const ctx = trace.setSpan(ROOT_CONTEXT, root);
  for (const sp of plan.states) {
    const child = em.tracer.startSpan(sp.name, { kind: sp.kind, startTime: sp.start, attributes: sp.attributes }, ctx);
    fill(child, sp);
    if (whole) endNow(em, child, sp);
    else await end(em, child, sp);
  }
  if (whole) endNow(em, root, plan.root);
  else await end(em, root, plan.root);
  return root.spanContext();
}

/** Emit a single span (a finding outside any session), optionally as a child of an earlier span. */
export async function emitSingle(em: Emitter, plan: SpanPlan, opts: RootOptions): Promise<SpanContext> {
  const span = startRoot(em, plan, opts);
  fill(span, plan);
  await end(em, span, plan);
  return span.spanContext();
}
