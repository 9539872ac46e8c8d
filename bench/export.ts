// Bench: export of 100,000 migration sessions to OpenTelemetry (issue 4: "spans per second
// and peak memory, zero dropped"). Numbers printed here are the only ones we quote.
//
// Runs, in one process and one go:
//   baseline  building the Analysis objects, and JSON.stringify of the same Analysis
//             (what `migscope analyze --json` does with it) — the cost floor to compare with;
//   sdk       exportAnalysis into an exporter that accepts every batch at once: the cost of
//             planning spans and driving the SDK (batch processor, backpressure, metrics);
//   otlp      exportAnalysis over real OTLP/HTTP protobuf to a loopback sink that reads and
//             discards the bodies: the SDK plus the official exporter's serialization and HTTP.
// Each export must report 0 failed and exactly 4 spans per session, or the bench fails.
//
// Usage: node dist/bench/export.js [sessions]   (or MIGSCOPE_BENCH_SESSIONS); called by
// bench/run.ts through runExportBench().

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { exportAnalysis, type ExportSummary } from '../src/export/index.js';
import { manySessionsAnalysis, spansFor } from '../test/export/fixtures.js';
import type { Analysis } from '../src/analysis/types.js';

export interface ExportBenchResult {
  readonly sessions: number;
  readonly spans: number;
  readonly rows: readonly { readonly name: string; readonly seconds: number; readonly cpuSeconds: number; readonly spansPerSecond: number; readonly dropped: number; readonly peakHeapMB: number }[];
  readonly maxRssMB: number;
  readonly text: string;
}

function now(): number {
  return performance.now();
}

/**
 * Samples heapUsed while `fn` runs; returns its result, the wall and CPU time (the CPU time
 * matters on a shared machine, where wall time includes waiting for a core) and the heap
 * peak above the start.
 */
async function measure<T>(fn: () => Promise<T> | T): Promise<{ value: T; seconds: number; cpuSeconds: number; peakHeapMB: number }> {
  const before = process.memoryUsage().heapUsed;
  let peak = before;
  const timer = setInterval(() => {
    const h = process.memoryUsage().heapUsed;
    if (h > peak) peak = h;
  }, 20);
  const t0 = now();
  const c0 = process.cpuUsage();
  try {
    const value = await fn();
    const seconds = (now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    const h = process.memoryUsage().heapUsed;
    if (h > peak) peak = h;
    return { value, seconds, cpuSeconds: (c.user + c.system) / 1e6, peakHeapMB: (peak - before) / 1e6 };
  } finally {
    clearInterval(timer);
  }
}

function acceptAllSpans(): SpanExporter {
  return {
    export(_spans: ReadableSpan[], cb: (r: ExportResult) => void): void {
      setImmediate(() => cb({ code: ExportResultCode.SUCCESS }));
    },
    shutdown: async () => undefined,
  };
}

function acceptAllMetrics(): PushMetricExporter {
  return {
    export(_m: ResourceMetrics, cb: (r: ExportResult) => void): void {
      setImmediate(() => cb({ code: ExportResultCode.SUCCESS }));
    },
    forceFlush: async () => undefined,
    shutdown: async () => undefined,
  };
}

/** An OTLP/HTTP endpoint that reads each body and answers 200 with an empty response. */
async function startSink(): Promise<{ endpoint: string; bytes: () => number; close: () => Promise<void> }> {
  let bytes = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.on('data', (c: Buffer) => {
      bytes += c.length;
    });
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bytes: () => bytes,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function jsonReplacer(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

function check(name: string, s: ExportSummary, spans: number): number {
  const dropped = spans - s.spansExported;
  if (s.spansFailed !== 0 || dropped !== 0 || !s.ok) {
    throw new Error(`bench ${name}: ${s.spansExported}/${spans} spans exported, ${s.spansFailed} failed, ok=${String(s.ok)}`);
  }
  return dropped;
}

const fmt = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

export async function runExportBench(sessions = 100_000): Promise<ExportBenchResult> {
  const spans = spansFor(sessions);
  const build = await measure(() => manySessionsAnalysis(sessions));
  const analysis: Analysis = build.value;
  const json = await measure(() => JSON.stringify(analysis, jsonReplacer).length);

  // Keep the OTEL_* of the caller's shell out of the measurement, except what we set.
  const saved = { ...process.env };
  process.env['OTEL_NODE_RESOURCE_DETECTORS'] = 'env';
  const rows: ExportBenchResult['rows'][number][] = [];
  try {
    const sdk = await measure(() =>
      exportAnalysis(analysis, {
        spanExporters: [{ name: 'accept-all', exporter: acceptAllSpans() }],
        metricExporters: [{ name: 'accept-all', exporter: acceptAllMetrics() }],
      }),
    );
    rows.push({ name: 'sdk (accept-all exporter)', seconds: sdk.seconds, cpuSeconds: sdk.cpuSeconds, spansPerSecond: spans / sdk.seconds, dropped: check('sdk', sdk.value, spans), peakHeapMB: sdk.peakHeapMB });

    const sink = await startSink();
    process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = sink.endpoint;
    process.env['OTEL_EXPORTER_OTLP_PROTOCOL'] = 'http/protobuf';
    try {
      const otlp = await measure(() => exportAnalysis(analysis));
      rows.push({ name: `otlp http/protobuf loopback (${fmt(sink.bytes() / 1e6, 1)} MB sent)`, seconds: otlp.seconds, cpuSeconds: otlp.cpuSeconds, spansPerSecond: spans / otlp.seconds, dropped: check('otlp', otlp.value, spans), peakHeapMB: otlp.peakHeapMB });
    } finally {
      await sink.close();
    }
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
  const maxRssMB = process.resourceUsage().maxRSS / 1024;

  const lines: string[] = [];
  lines.push(`export bench: ${fmt(sessions)} sessions, ${fmt(spans)} spans (a root + 3 state spans each), Node ${process.version}`);
  lines.push(`  baseline  build Analysis objects   ${fmt(build.seconds, 2)} s (cpu ${fmt(build.cpuSeconds, 2)} s), heap +${fmt(build.peakHeapMB)} MB`);
  lines.push(`  baseline  JSON.stringify(Analysis) ${fmt(json.seconds, 2)} s (cpu ${fmt(json.cpuSeconds, 2)} s), ${fmt(json.value / 1e6, 1)} MB of JSON`);
  for (const r of rows) {
    lines.push(
      `  export    ${r.name}: ${fmt(r.seconds, 2)} s (cpu ${fmt(r.cpuSeconds, 2)} s), ${fmt(r.spansPerSecond)} spans/s (${fmt(spans / r.cpuSeconds)} per CPU-second), ${r.dropped} dropped, heap peak +${fmt(r.peakHeapMB)} MB, ` +
        `${fmt(r.cpuSeconds / json.cpuSeconds, 1)}× the CPU of JSON.stringify, ${fmt(r.cpuSeconds / build.cpuSeconds, 1)}× building the Analysis`,
    );
  }
  lines.push(`  peak RSS of the whole run (fixture included): ${fmt(maxRssMB)} MB`);
  return { sessions, spans, rows, maxRssMB, text: lines.join('\n') };
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const arg = process.argv[2] ?? process.env['MIGSCOPE_BENCH_SESSIONS'];
  const n = arg !== undefined && /^\d+$/.test(arg) ? Number(arg) : 100_000;
  runExportBench(n).then(
    (r) => {
      process.stdout.write(r.text + '\n');
      process.exit(0);
    },
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
