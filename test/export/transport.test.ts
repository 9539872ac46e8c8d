// The same analysis over the three OTLP protocols (OTEL_EXPORTER_OTLP_PROTOCOL) and the
// signal-specific variables: identical spans and metric points arrive each way.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { exportAnalysis } from '../../src/export/index.js';
import { ATTR } from '../../src/export/conventions.js';
import { METRICS } from '../../src/export/metric-names.js';
import { startGrpcReceiver, startHttpReceiver, type ReceivedSpan, type Receiver } from './otlp-receiver.js';
import { SAVE, SYNC_CLOCK, failedSaveAnalysis, cleanSaveAnalysis } from './fixtures.js';

const receivers: Receiver[] = [];

afterEach(async () => {
  vi.unstubAllEnvs();
  for (const r of receivers.splice(0)) await r.close();
});

function shape(spans: readonly ReceivedSpan[]): unknown[] {
  const ids = new Map(spans.map((s) => [s.spanId, s.name]));
  return spans
    .map((s) => ({
      name: s.name,
      parent: ids.get(s.parentSpanId) ?? '',
      start: s.startNs,
      end: s.endNs,
      attributes: s.attributes,
      events: s.events,
      status: s.status,
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function via(proto: 'http/protobuf' | 'http/json' | 'grpc'): Promise<Receiver> {
  const r = proto === 'grpc' ? await startGrpcReceiver() : await startHttpReceiver();
  receivers.push(r);
  vi.stubEnv('OTEL_EXPORTER_OTLP_PROTOCOL', proto);
  vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', r.endpoint);
  vi.stubEnv('OTEL_NODE_RESOURCE_DETECTORS', 'env');
  const s = await exportAnalysis(failedSaveAnalysis());
  expect(s.ok).toBe(true);
  vi.unstubAllEnvs();
  return r;
}

describe('protocols', () => {
  it('http/protobuf, http/json and grpc deliver the same spans and metric points', async () => {
    const proto = await via('http/protobuf');
    const json = await via('http/json');
    const grpc = await via('grpc');
    expect(json.contentTypes).toEqual(new Set(['application/json']));
    expect(proto.spans.map((s) => s.name).sort()).toEqual(['migscope.finding', 'vfio.migration.save', 'vfio.state.INVALID_101', 'vfio.state.PRE_COPY']);
    expect(shape(json.spans)).toEqual(shape(proto.spans));
    expect(shape(grpc.spans)).toEqual(shape(proto.spans));
    const pts = (r: Receiver) => r.points.map((p) => [p.metric, JSON.stringify(p.attributes, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)), p.value ?? p.count]).sort();
    expect(pts(json)).toEqual(pts(proto));
    expect(pts(grpc)).toEqual(pts(proto));
  });
});

describe('OTEL_* variables', () => {
  it('signal-specific endpoints, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES and OTEL_METRICS_EXPORTER=none', async () => {
    const traces = await startHttpReceiver();
    const other = await startHttpReceiver();
    receivers.push(traces, other);
    vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', other.endpoint);
    vi.stubEnv('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', `${traces.endpoint}/v1/traces`);
    vi.stubEnv('OTEL_SERVICE_NAME', 'migscope-host42');
    vi.stubEnv('OTEL_RESOURCE_ATTRIBUTES', 'deployment.environment.name=lab,service.name=ignored');
    vi.stubEnv('OTEL_METRICS_EXPORTER', 'none');
    vi.stubEnv('OTEL_NODE_RESOURCE_DETECTORS', 'env');
    const s = await exportAnalysis(cleanSaveAnalysis());
    expect(s.ok).toBe(true);
    expect(traces.spans).toHaveLength(4);
    expect(other.requests).toEqual({ traces: 0, metrics: 0 });
    expect(s.metricPointsExported).toBe(0);
    expect(traces.spans[0]?.resource['service.name']).toBe('migscope-host42');
    expect(traces.spans[0]?.resource['deployment.environment.name']).toBe('lab');
  });

  it.each(['http/protobuf', 'grpc'] as const)('OTEL_EXPORTER_OTLP_HEADERS reach the collector (%s)', async (proto) => {
    const r = proto === 'grpc' ? await startGrpcReceiver() : await startHttpReceiver();
    receivers.push(r);
    vi.stubEnv('OTEL_EXPORTER_OTLP_PROTOCOL', proto);
    vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', r.endpoint);
    vi.stubEnv('OTEL_EXPORTER_OTLP_HEADERS', 'x-scope-orgid=tenant1');
    vi.stubEnv('OTEL_NODE_RESOURCE_DETECTORS', 'env');
    const s = await exportAnalysis(cleanSaveAnalysis());
    expect(s.ok).toBe(true);
    expect(r.headers.length).toBeGreaterThan(0);
    for (const h of r.headers) expect(h['x-scope-orgid']).toBe('tenant1');
  });

  it('OTEL_TRACES_EXPORTER=none sends no spans but still the metrics', async () => {
    const r = await startHttpReceiver();
    receivers.push(r);
    vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', r.endpoint);
    vi.stubEnv('OTEL_TRACES_EXPORTER', 'none');
    vi.stubEnv('OTEL_NODE_RESOURCE_DETECTORS', 'env');
    const s = await exportAnalysis(cleanSaveAnalysis());
    expect(s.ok).toBe(true);
    expect(s.spansExported).toBe(0);
    expect(r.requests.traces).toBe(0);
    expect(r.points.some((p) => p.metric === METRICS.migrations.name)).toBe(true);
  });

  it('times survive the JSON encoding exactly', async () => {
    const r = await startHttpReceiver();
    receivers.push(r);
    vi.stubEnv('OTEL_EXPORTER_OTLP_PROTOCOL', 'http/json');
    vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', r.endpoint);
    vi.stubEnv('OTEL_NODE_RESOURCE_DETECTORS', 'env');
    await exportAnalysis(cleanSaveAnalysis());
    const root = r.spans.find((s) => s.name === 'vfio.migration.save');
    expect(root?.startNs).toBe(SAVE.preCopy + (SYNC_CLOCK.offsetNs ?? 0n));
    expect(root?.attributes[ATTR.deviceId]).toBe('0000:65:00.0');
  });
});
