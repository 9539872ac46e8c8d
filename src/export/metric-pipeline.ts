// The metric side of an export: a MeterProvider (not registered globally) with a
// PeriodicExportingMetricReader per push exporter (each wrapped for accounting and gRPC
// retry) plus any reader the caller brings (watch mode's Prometheus /metrics endpoint).
// A one-shot export (exportAnalysis) exports once, at shutdown.

import { MeterProvider, PeriodicExportingMetricReader, type IMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { Resource } from '@opentelemetry/resources';
import { createCountingMetricExporter, type CountingMetricExporter } from './counting-metric-exporter.js';
import { GRPC_RETRY_POLICY } from './grpc-retry.js';
import { createInstruments, type Instruments } from './metrics.js';
import { METER_NAME } from './metric-names.js';

export interface MetricPipelineExporter {
  readonly name: string;
  readonly exporter: PushMetricExporter;
  readonly grpc: boolean;
}

export interface MetricPipelineOptions {
  readonly resource: Resource;
  readonly exporters: readonly MetricPipelineExporter[];
  readonly readers: readonly IMetricReader[];
  readonly exportIntervalMs: number;
  readonly exportTimeoutMs: number;
  readonly meterVersion: string | undefined;
  /** Device label cap per host (device-labels.ts). */
  readonly maxDevicesPerHost?: number | undefined;
}

export interface MetricTallyByExporter {
  readonly name: string;
  readonly exported: number;
  readonly failed: number;
  readonly lastError: string | undefined;
}

export interface MetricPipeline {
  readonly instruments: Instruments;
  flush(): Promise<void>;
  shutdown(timeoutMs: number): Promise<{ timedOut: boolean }>;
  tally(): readonly MetricTallyByExporter[];
}

export function createMetricPipeline(opts: MetricPipelineOptions): MetricPipeline {
  const counting: CountingMetricExporter[] = opts.exporters.map((e) =>
    createCountingMetricExporter(e.exporter, { name: e.name, retry: e.grpc ? GRPC_RETRY_POLICY : undefined, timeoutMs: opts.exportTimeoutMs }),
  );
  const readers: IMetricReader[] = [
    ...counting.map(
      (exporter) =>
        new PeriodicExportingMetricReader({
          exporter,
          exportIntervalMillis: opts.exportIntervalMs,
          // The reader abandons an export after this long; our gRPC retries need the same window.
          exportTimeoutMillis: Math.min(opts.exportIntervalMs, Math.max(opts.exportTimeoutMs * 2, opts.exportTimeoutMs + 1000)),
        }),
    ),
    ...opts.readers,
  ];
  const provider = new MeterProvider({ resource: opts.resource, readers });
  const instruments = createInstruments(provider.getMeter(METER_NAME, opts.meterVersion), { maxDevicesPerHost: opts.maxDevicesPerHost });
  let finalTally: readonly MetricTallyByExporter[] | undefined;

  function snapshot(pendingFails: boolean): readonly MetricTallyByExporter[] {
    return counting.map((c) => {
      const t = c.tally();
      return { name: c.name, exported: t.exported, failed: t.failed + (pendingFails ? t.pending : 0), lastError: t.lastError };
    });
  }

  return {
    instruments,
    async flush(): Promise<void> {
      await provider.forceFlush().catch(() => undefined);
    },
    async shutdown(timeoutMs: number): Promise<{ timedOut: boolean }> {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      // Shutdown collects and exports once more (the reader's onShutdown), then closes the exporters.
      const work = provider.shutdown().then(
        () => 'done' as const,
        () => 'done' as const,
      );
      const r = await Promise.race([work, deadline]);
      clearTimeout(timer);
      finalTally = snapshot(true);
      if (r === 'timeout') for (const c of counting) c.abandon();
      return { timedOut: r === 'timeout' };
    },
    tally(): readonly MetricTallyByExporter[] {
      return finalTally ?? snapshot(false);
    },
  };
}
