// Nothing dropped silently: with a tiny queue and a slow exporter the SDK's batch processor
// alone drops spans (shown first, so the test proves the problem exists), while migscope's
// pipeline delivers every one; the summary counts exactly.

import { describe, expect, it } from 'vitest';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { createExporter, exportAnalysis } from '../../src/export/index.js';
import { manySessionsAnalysis, spansFor } from './fixtures.js';

/** Accepts every batch after a few milliseconds; records what it got. */
function slowExporter(ms: number): SpanExporter & { readonly got: ReadableSpan[]; maxConcurrent: number } {
  let active = 0;
  const out = {
    got: [] as ReadableSpan[],
    maxConcurrent: 0,
    export(spans: ReadableSpan[], cb: (r: ExportResult) => void): void {
      active++;
      out.maxConcurrent = Math.max(out.maxConcurrent, active);
      setTimeout(() => {
        active--;
        out.got.push(...spans);
        cb({ code: ExportResultCode.SUCCESS });
      }, ms);
    },
    shutdown: async () => undefined,
  };
  return out;
}

describe('backpressure', () => {
  it('the SDK batch processor by itself drops what does not fit in its queue', async () => {
    const exp = slowExporter(5);
    const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exp, { maxQueueSize: 16, maxExportBatchSize: 4 })] });
    const tracer = provider.getTracer('t');
    for (let i = 0; i < 200; i++) tracer.startSpan(`s${i}`).end();
    await provider.shutdown();
    expect(exp.got.length).toBeLessThan(200);
  });

  it('migscope delivers every span with the same tiny queue, and never overlaps more than 4 exports', async () => {
    const exp = slowExporter(5);
    const n = 200;
    const s = await exportAnalysis(manySessionsAnalysis(n, 3), {
      spanExporters: [{ name: 'slow', exporter: exp }],
      metrics: [],
      maxQueueSize: 16,
      maxExportBatchSize: 4,
      env: { OTEL_NODE_RESOURCE_DETECTORS: 'none' },
    });
    expect(s.spansFailed).toBe(0);
    expect(s.spansExported).toBe(spansFor(n));
    expect(exp.got).toHaveLength(spansFor(n));
    expect(new Set(exp.got.map((x) => x.spanContext().spanId)).size).toBe(spansFor(n));
    expect(exp.maxConcurrent).toBeLessThanOrEqual(4);
    expect(s.ok).toBe(true);
  });

  it('a session larger than the whole queue still goes through, span by span', async () => {
    const exp = slowExporter(1);
    const a = manySessionsAnalysis(1, 1);
    const d = a.devices[0]!;
    const base = d.sessions[0]!;
    // 40 state intervals inside one session, with a queue of 8.
    const timeline = Array.from({ length: 40 }, (_, i) => ({ ...d.timeline[0]!, startNs: (base.startNs ?? 0n) + BigInt(i), endNs: (base.startNs ?? 0n) + BigInt(i + 1) }));
    const session = { ...base, endNs: (base.startNs ?? 0n) + 40n };
    const s = await exportAnalysis({ ...a, devices: [{ ...d, timeline, stateWrites: [], sessions: [session] }] }, {
      spanExporters: [{ name: 'slow', exporter: exp }],
      metrics: [],
      maxQueueSize: 8,
      maxExportBatchSize: 2,
      env: { OTEL_NODE_RESOURCE_DETECTORS: 'none' },
    });
    expect(s.spansFailed).toBe(0);
    expect(exp.got).toHaveLength(41);
  });

  it('a failing exporter: every span is counted as failed, none as exported', async () => {
    const failing: SpanExporter = {
      export: (_spans, cb) => setTimeout(() => cb({ code: ExportResultCode.FAILED, error: new Error('nope') }), 1),
      shutdown: async () => undefined,
    };
    const n = 50;
    const s = await exportAnalysis(manySessionsAnalysis(n, 2), {
      spanExporters: [{ name: 'failing', exporter: failing }],
      metrics: [],
      maxQueueSize: 16,
      maxExportBatchSize: 4,
      exportTimeoutMs: 200,
      env: { OTEL_NODE_RESOURCE_DETECTORS: 'none' },
    });
    expect(s.spansExported).toBe(0);
    expect(s.spansFailed).toBe(spansFor(n));
    expect(s.ok).toBe(false);
    expect(s.exporters[0]?.lastError).toBeDefined();
  });

  it('a collector that is down is not tried batch after batch: the rest fail fast, counted', async () => {
    let calls = 0;
    const down: SpanExporter = {
      // Each attempt uses its whole (short) window, as a retrying exporter facing a dead collector does.
      export: (_spans, cb) => {
        calls++;
        setTimeout(() => cb({ code: ExportResultCode.FAILED, error: new Error('ECONNREFUSED') }), 100);
      },
      shutdown: async () => undefined,
    };
    const n = 50; // 200 spans, 50 batches of 4
    const s = await exportAnalysis(manySessionsAnalysis(n, 2), {
      spanExporters: [{ name: 'down', exporter: down }],
      metrics: [],
      maxQueueSize: 16,
      maxExportBatchSize: 4,
      exportTimeoutMs: 150,
      env: { OTEL_NODE_RESOURCE_DETECTORS: 'none' },
    });
    expect(s.spansFailed).toBe(spansFor(n));
    expect(s.exporters[0]?.lastError).toMatch(/ECONNREFUSED/);
    expect(calls).toBeLessThan(25);
  });

  it('the streaming exporter sends each session when asked (flush), before shutdown', async () => {
    const got = slowExporter(1);
    const exp = createExporter({ spanExporters: [{ name: 'mem', exporter: got }], metrics: [], env: { OTEL_NODE_RESOURCE_DETECTORS: 'none' } });
    const a = manySessionsAnalysis(2, 1);
    const d = a.devices[0]!;
    await exp.session({ host: a.host, clock: a.clock, device: d, session: d.sessions[0]!, findings: [] });
    await exp.flush();
    expect(got.got.map((x) => x.name).sort()).toEqual(['vfio.migration.save', 'vfio.state.PRE_COPY', 'vfio.state.SAVING', 'vfio.state.STOP']);
    await exp.session({ host: a.host, clock: a.clock, device: d, session: d.sessions[1]!, findings: [] });
    const s = await exp.shutdown();
    expect(got.got).toHaveLength(8);
    expect(s).toMatchObject({ sessions: 2, spansExported: 8, spansFailed: 0, ok: true });
  });

  it('the streaming exporter refuses work after shutdown instead of losing it quietly', async () => {
    const exp = createExporter({ traces: [], metrics: [], env: { OTEL_NODE_RESOURCE_DETECTORS: 'none' } });
    await exp.shutdown();
    const a = manySessionsAnalysis(1, 1);
    const d = a.devices[0]!;
    await expect(exp.session({ host: a.host, clock: a.clock, device: d, session: d.sessions[0]!, findings: [] })).rejects.toThrow(/after shutdown/);
  });
});
