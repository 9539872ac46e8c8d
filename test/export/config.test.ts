// OTEL_* configuration as users expect it, with the OTel defaults; bad values reported.
// And the CLI flags' translation.

import { describe, expect, it } from 'vitest';
import { readExportConfig } from '../../src/export/config.js';
import { exportOptionsFromFlags, ExportUsageError } from '../../src/export/cli-options.js';
import { formatSummary, type ExportSummary } from '../../src/export/summary.js';

describe('readExportConfig', () => {
  it('defaults: OTLP http/protobuf for both signals, 10 s timeout, queue 2048, batch 512', () => {
    expect(readExportConfig({})).toMatchObject({
      traces: ['otlp'],
      metrics: ['otlp'],
      tracesProtocol: 'http/protobuf',
      metricsProtocol: 'http/protobuf',
      tracesTimeoutMs: 10_000,
      metricsTimeoutMs: 10_000,
      maxQueueSize: 2048,
      maxExportBatchSize: 512,
      scheduledDelayMs: 5000,
      metricExportIntervalMs: 60_000,
      problems: [],
    });
  });

  it('reads the general and the signal-specific variables, specific first', () => {
    const c = readExportConfig({
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_TIMEOUT: '3000',
      OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '7000',
      OTEL_TRACES_EXPORTER: 'console,otlp',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_BSP_MAX_QUEUE_SIZE: '100',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '10',
      OTEL_SERVICE_NAME: 'x',
    });
    expect(c).toMatchObject({
      traces: ['console', 'otlp'],
      metrics: [],
      tracesProtocol: 'grpc',
      metricsProtocol: 'http/json',
      tracesTimeoutMs: 7000,
      metricsTimeoutMs: 3000,
      maxQueueSize: 100,
      maxExportBatchSize: 10,
      serviceName: 'x',
      problems: [],
    });
  });

  it('reports bad values and falls back to the defaults', () => {
    const c = readExportConfig({
      OTEL_EXPORTER_OTLP_PROTOCOL: 'thrift',
      OTEL_EXPORTER_OTLP_TIMEOUT: '-1',
      OTEL_TRACES_EXPORTER: 'zipkin',
      OTEL_BSP_MAX_QUEUE_SIZE: '10',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '20',
    });
    expect(c.tracesProtocol).toBe('http/protobuf');
    expect(c.tracesTimeoutMs).toBe(10_000);
    expect(c.traces).toEqual([]);
    expect(c.maxExportBatchSize).toBe(10);
    expect(c.problems.join('\n')).toMatch(/thrift/);
    expect(c.problems.join('\n')).toMatch(/OTEL_EXPORTER_OTLP_TIMEOUT/);
    expect(c.problems.join('\n')).toMatch(/zipkin/);
    expect(c.problems.join('\n')).toMatch(/batch size/);
  });

  it('OTEL_SDK_DISABLED=true exports nothing; overrides beat the environment', () => {
    expect(readExportConfig({ OTEL_SDK_DISABLED: 'true' })).toMatchObject({ traces: [], metrics: [] });
    expect(readExportConfig({ OTEL_TRACES_EXPORTER: 'otlp' }, { traces: ['console'], exportTimeoutMs: 500 })).toMatchObject({ traces: ['console'], tracesTimeoutMs: 500 });
  });
});

describe('CLI flags', () => {
  it('no --export: no export; --migration-id alone is a usage error', () => {
    expect(exportOptionsFromFlags({})).toBeUndefined();
    expect(() => exportOptionsFromFlags({ migrationId: 'm' })).toThrow(ExportUsageError);
  });

  it('translates --export, --migration-id, --link-device and --export-timeout', () => {
    const o = exportOptionsFromFlags({ export: 'otlp', migrationId: 'm1', linkDevice: ['0000:65:00.0=nic0'], exportTimeout: '2.5' });
    expect(o?.migrationId).toBe('m1');
    expect(o?.shutdownTimeoutMs).toBe(2500);
    expect(o?.deviceLinkNames?.get('0000:65:00.0')).toBe('nic0');
    expect(o?.traces).toBeUndefined();
    expect(exportOptionsFromFlags({ export: 'console' })).toMatchObject({ traces: ['console'], metrics: ['console'] });
  });

  it('rejects malformed values with a message saying what was expected', () => {
    expect(() => exportOptionsFromFlags({ export: 'zipkin' })).toThrow(/otlp or console/);
    expect(() => exportOptionsFromFlags({ export: 'otlp', linkDevice: ['nic0'] })).toThrow(/ID=NAME/);
    expect(() => exportOptionsFromFlags({ export: 'otlp', exportTimeout: 'soon' })).toThrow(/seconds/);
    expect(() => exportOptionsFromFlags({ export: 'otlp', migrationId: ' ' })).toThrow(/empty/);
  });
});

describe('formatSummary', () => {
  const base: ExportSummary = {
    spansExported: 8,
    spansFailed: 0,
    metricPointsExported: 12,
    metricPointsFailed: 0,
    sessions: 2,
    standaloneFindings: 0,
    droppedEvents: 0,
    droppedAttributes: 0,
    droppedLinks: 0,
    traceId: 'abc',
    timedOut: false,
    exporters: [{ signal: 'traces', exporter: 'otlp http/protobuf', exported: 8, failed: 0, lastError: undefined }],
    notes: [],
    ok: true,
  };
  it('says nothing was lost, or how much was and why', () => {
    expect(formatSummary(base)).toMatch(/8 spans \(2 sessions\), 12 metric points via otlp http\/protobuf; nothing lost/);
    expect(formatSummary(base)).toMatch(/trace id abc/);
    const bad = formatSummary({
      ...base,
      spansFailed: 3,
      ok: false,
      exporters: [{ signal: 'traces', exporter: 'otlp grpc', exported: 5, failed: 3, lastError: '14 UNAVAILABLE' }],
    });
    expect(bad).toMatch(/LOST 3 spans, 0 metric points/);
    expect(bad).toMatch(/traces via otlp grpc: 3 failed: 14 UNAVAILABLE/);
  });
});
