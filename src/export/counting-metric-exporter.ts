// Wraps an official PushMetricExporter: counts data points exported and failed (the
// periodic reader only logs failures), counts points rejected in an accepted request (OTLP
// partial success, partial-success.ts) as failed, and retries gRPC failures (grpc-retry.ts). The
// aggregation and temporality selectors are passed through, so
// OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE keeps working (observable gauges
// excepted: always delta, see live-gauge-temporality.ts).

import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { deliver, describeError } from './delivery.js';
import type { RetryPolicy } from './grpc-retry.js';
import { tapPartialSuccess, type Rejection } from './partial-success.js';
import { liveGaugeTemporality } from './live-gauge-temporality.js';

export interface MetricTally {
  readonly exported: number;
  readonly failed: number;
  /** Points handed over whose export has not finished. */
  readonly pending: number;
  readonly lastError: string | undefined;
}

export interface CountingMetricExporter extends PushMetricExporter {
  readonly name: string;
  tally(): MetricTally;
  abandon(): void;
}

export function countPoints(rm: ResourceMetrics): number {
  let n = 0;
  for (const sm of rm.scopeMetrics) for (const m of sm.metrics) n += m.dataPoints.length;
  return n;
}

export function createCountingMetricExporter(
  inner: PushMetricExporter,
  opts: { readonly name: string; readonly retry: RetryPolicy | undefined; readonly timeoutMs: number },
): CountingMetricExporter {
  let exported = 0;
  let failed = 0;
  let pending = 0;
  let lastError: string | undefined;
  let abandoned = false;
  const tap = tapPartialSuccess(inner, 'rejectedDataPoints');
  const out: CountingMetricExporter = {
    name: opts.name,
    export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
      const n = countPoints(metrics);
      pending += n;
      let rejection: Rejection | undefined;
      const send = (cb: (r: ExportResult) => void): void =>
        inner.export(metrics, (res) => {
          rejection = tap?.take();
          cb(res);
        });
      void deliver(send, { retry: opts.retry, timeoutMs: opts.timeoutMs, cancelled: () => abandoned }).then((r) => {
        pending -= n;
        if (r.ok) {
          // Accepted, but points the collector rejected (OTLP partial success) are lost.
          const lost = Math.min(rejection?.rejected ?? 0, n);
          exported += n - lost;
          if (lost > 0) {
            failed += lost;
            lastError = `the collector rejected ${lost} of ${n} metric points (OTLP partial success${rejection?.message !== undefined ? `: ${rejection.message}` : ''})`;
          }
          resultCallback({ code: ExportResultCode.SUCCESS });
        } else {
          failed += n;
          lastError = describeError(r.error);
          resultCallback({ code: ExportResultCode.FAILED, error: r.error instanceof Error ? r.error : new Error(lastError) });
        }
      });
    },
    forceFlush: () => inner.forceFlush(),
    shutdown: () => inner.shutdown(),
    tally: () => ({ exported, failed, pending, lastError }),
    abandon(): void {
      abandoned = true;
      void inner.shutdown().catch(() => undefined);
    },
  };
  // The inner exporter's temporality (the reader's default, cumulative, when it has none),
  // except for observable gauges: delta, so a device that is gone leaves (live-gauge-temporality.ts).
  out.selectAggregationTemporality = liveGaugeTemporality(inner.selectAggregationTemporality?.bind(inner));
  // Only define the aggregation selector if the inner exporter has one: the reader treats a defined selector as a choice.
  if (inner.selectAggregation !== undefined) out.selectAggregation = inner.selectAggregation.bind(inner);
  return out;
}
