// The SDK asks its IdGenerator for a trace id (root spans only) and a span id (every span),
// with no say in which span is being created. migscope needs two deterministic ids
// (correlation.ts): every root span of a correlated run gets the migration's trace id, and
// the first save session of a device gets a derived span id. So the generator holds a
// fixed trace id and a one-shot "next span id" that the caller sets right before the
// synchronous tracer.startSpan() call that consumes it; everything else is random.

import { RandomIdGenerator, type IdGenerator } from '@opentelemetry/sdk-trace-base';

export interface MigrationIdGenerator extends IdGenerator {
  /** Start `fn`'s span (the first span it starts) with `spanId`. */
  withSpanId<T>(spanId: string | undefined, fn: () => T): T;
}

/** @param traceId the trace id for every root span; undefined: random per root span. */
export function createMigrationIdGenerator(traceId: string | undefined): MigrationIdGenerator {
  const random = new RandomIdGenerator();
  let next: string | undefined;
  return {
    generateTraceId: () => traceId ?? random.generateTraceId(),
    generateSpanId: () => {
      const id = next ?? random.generateSpanId();
      next = undefined;
      return id;
    },
    withSpanId<T>(spanId: string | undefined, fn: () => T): T {
      next = spanId;
      try {
        return fn();
      } finally {
        next = undefined;
      }
    },
  };
}
