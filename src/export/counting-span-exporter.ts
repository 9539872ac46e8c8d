// Wraps an official SpanExporter so that nothing is lost silently (issue 4, item 4):
//   - counts every span handed over, exported and failed (the BatchSpanProcessor only logs
//     a failed export through the global error handler);
//   - retries gRPC failures (grpc-retry.ts);
//   - bounds concurrent exports (the OTLP exporters refuse more than their concurrency
//     limit with "Concurrent export limit reached", which would be another silent loss);
//   - after a batch fails for good having used most of its retry window (the collector is
//     down or keeps refusing), fails the following batches at once for a cool-down instead
//     of letting each wait out its own window, so a dead collector costs one timeout, not
//     one per batch (100,000 sessions are 800 batches); one batch per cool-down probes
//     whether it is back;
//   - counts the spans a collector rejected in an accepted request (OTLP partial success,
//     partial-success.ts) as failed: the official exporters only log them;
//   - signals each completion, which the span pipeline's backpressure waits on.

import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { deliver, describeError } from './delivery.js';
import type { RetryPolicy } from './grpc-retry.js';
import { tapPartialSuccess, type Rejection } from './partial-success.js';

export interface SpanTally {
  /** Spans passed to export(). */
  readonly handed: number;
  readonly exported: number;
  readonly failed: number;
  /** Events, attributes and links the SDK dropped from exported spans for its span limits. */
  readonly droppedEvents: number;
  readonly droppedAttributes: number;
  readonly droppedLinks: number;
  readonly lastError: string | undefined;
}

export interface CountingSpanExporter extends SpanExporter {
  readonly name: string;
  tally(): SpanTally;
  /** Batches queued here or in flight. */
  busy(): number;
  /** Resolves at the next completed batch, or after `maxWaitMs`. */
  nextCompletion(maxWaitMs: number): Promise<void>;
  /** Stop retrying and fail everything queued (shutdown deadline passed). */
  abandon(): void;
}

export interface CountingSpanExporterOptions {
  readonly name: string;
  readonly retry: RetryPolicy | undefined;
  readonly timeoutMs: number;
  readonly maxConcurrent: number;
  readonly coolDownMs: number;
}

interface Job {
  readonly spans: ReadableSpan[];
  readonly done: (r: ExportResult) => void;
}

export function createCountingSpanExporter(inner: SpanExporter, opts: CountingSpanExporterOptions): CountingSpanExporter {
  const tap = tapPartialSuccess(inner, 'rejectedSpans');
  let handed = 0;
  let exported = 0;
  let failed = 0;
  let droppedEvents = 0;
  let droppedAttributes = 0;
  let droppedLinks = 0;
  let lastError: string | undefined;
  let active = 0;
  let abandoned = false;
  /** While set and in the future, batches fail at once (a previous batch failed for good). */
  let coolUntil: number | undefined;
  let probing = false;
  const queue: Job[] = [];
  let waiters: (() => void)[] = [];

  function completed(): void {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  }

  function fail(job: Job, reason: string): void {
    failed += job.spans.length;
    lastError = reason;
    job.done({ code: ExportResultCode.FAILED, error: new Error(reason) });
  }

  async function run(job: Job): Promise<void> {
    const now = Date.now();
    if (abandoned) {
      fail(job, 'export abandoned at the shutdown deadline');
      return;
    }
    if (coolUntil !== undefined && (now < coolUntil || probing)) {
      fail(job, `not sent: an earlier batch failed after retries (${lastError ?? 'export failed'}); retrying the collector after a cool-down`);
      return;
    }
    const isProbe = coolUntil !== undefined;
    if (isProbe) probing = true;
    const started = Date.now();
    let rejection: Rejection | undefined;
    const r = await deliver(
      (cb) =>
        inner.export(job.spans, (res) => {
          rejection = tap?.take();
          cb(res);
        }),
      {
        retry: opts.retry,
        timeoutMs: opts.timeoutMs,
        cancelled: () => abandoned,
      },
    );
    if (isProbe) probing = false;
    if (r.ok) {
      // Accepted, but the collector may have rejected some (partial success): those are lost.
      const lost = Math.min(rejection?.rejected ?? 0, job.spans.length);
      exported += job.spans.length - lost;
      if (lost > 0) {
        failed += lost;
        lastError = `the collector rejected ${lost} of ${job.spans.length} spans (OTLP partial success${rejection?.message !== undefined ? `: ${rejection.message}` : ''})`;
      }
      coolUntil = undefined;
      job.done({ code: ExportResultCode.SUCCESS });
    } else {
      // Only a batch that spent most of its retry window trips the cool-down (the collector
      // is unreachable or keeps refusing); a quick non-retryable answer (e.g. 400 for one
      // bad batch) does not stop the batches after it.
      if (Date.now() - started >= opts.timeoutMs / 2) coolUntil = Date.now() + opts.coolDownMs;
      else if (isProbe) coolUntil = Date.now() + opts.coolDownMs;
      fail(job, describeError(r.error));
    }
  }

  function pump(): void {
    while (active < opts.maxConcurrent && queue.length > 0) {
      const job = queue.shift();
      if (job === undefined) break;
      active++;
      void run(job).finally(() => {
        active--;
        completed();
        pump();
      });
    }
  }

  return {
    name: opts.name,
    export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
      handed += spans.length;
      for (const s of spans) {
        droppedEvents += s.droppedEventsCount;
        droppedAttributes += s.droppedAttributesCount;
        droppedLinks += s.droppedLinksCount;
      }
      queue.push({ spans, done: resultCallback });
      pump();
    },
    async forceFlush(): Promise<void> {
      while (active > 0 || queue.length > 0) await new Promise<void>((resolve) => waiters.push(resolve));
      await inner.forceFlush?.();
    },
    async shutdown(): Promise<void> {
      while (active > 0 || queue.length > 0) await new Promise<void>((resolve) => waiters.push(resolve));
      await inner.shutdown();
    },
    tally(): SpanTally {
      return { handed, exported, failed, droppedEvents, droppedAttributes, droppedLinks, lastError };
    },
    busy(): number {
      return active + queue.length;
    },
    nextCompletion(maxWaitMs: number): Promise<void> {
      return new Promise<void>((resolve) => {
        const t = setTimeout(resolve, maxWaitMs);
        waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    },
    abandon(): void {
      abandoned = true;
      for (const job of queue.splice(0)) fail(job, 'export abandoned at the shutdown deadline');
      completed();
      // The inner exporter may still hold sockets or retry timers: close it, don't wait.
      void inner.shutdown().catch(() => undefined);
    },
  };
}
