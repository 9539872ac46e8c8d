// The metric names are final (dashboards are built on them). This checks that the names
// Prometheus shows are the documented ones, both through @opentelemetry/exporter-prometheus
// (watch mode's /metrics) and under the Collector/Prometheus OTLP translation rules, and
// that the streaming exporter records what the dashboards need.

import { describe, expect, it } from 'vitest';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { createExporter } from '../../src/export/index.js';
import { METRICS, LABEL, type MetricSpec } from '../../src/export/metric-names.js';
import { cleanSaveAnalysis, failedSaveAnalysis } from './fixtures.js';

/**
 * The Collector's prometheus exporters and Prometheus' OTLP receiver
 * (prometheus/otlptranslator, UnderscoreEscapingWithSuffixes): non-alphanumerics → "_",
 * UCUM unit → suffix unless the name already has that word, "{...}" annotations dropped,
 * "_total" for monotonic sums.
 */
function collectorName(m: MetricSpec): string {
  const units: Record<string, string> = { s: 'seconds', By: 'bytes' };
  let tokens = m.name.split(/[^a-zA-Z0-9]+/).filter((t) => t !== '');
  const unit = m.unit.startsWith('{') ? undefined : units[m.unit];
  if (unit !== undefined && !tokens.includes(unit)) tokens.push(unit);
  if (m.kind === 'counter') tokens = [...tokens.filter((t) => t !== 'total'), 'total'];
  return tokens.join('_');
}

describe('metric names', () => {
  it('translate to the documented Prometheus names under the Collector rules', () => {
    for (const m of Object.values(METRICS)) expect(collectorName(m), m.name).toBe(m.prometheus);
  });

  it('appear under the documented names on a Prometheus /metrics page', async () => {
    const prom = new PrometheusExporter({ preventServerStart: true });
    const exp = createExporter({ traces: [], metrics: [], metricReaders: [prom], env: {} });
    const ok = cleanSaveAnalysis();
    const bad = failedSaveAnalysis();
    for (const a of [ok, bad]) {
      const d = a.devices[0]!;
      await exp.session({ host: a.host, clock: a.clock, device: d, session: d.sessions[0]!, findings: a.findings.filter((f) => f.rule !== 'V1-WIDTH') });
      exp.deviceState(a.host, d, d.timeline[d.timeline.length - 1]?.raw);
      exp.pendingBytes(a.host, d, 4096n);
      exp.input(a.host, { records: 10, malformed: 1, lostEvents: 2 });
    }
    await exp.finding({ host: bad.host, clock: bad.clock, finding: bad.findings[0]! });
    const { resourceMetrics } = await prom.collect();
    const text = new PrometheusSerializer().serialize(resourceMetrics);
    const summary = await exp.shutdown();
    expect(summary.ok).toBe(true);

    for (const m of Object.values(METRICS)) {
      const type = m.kind === 'histogram' ? 'histogram' : m.kind === 'gauge' ? 'gauge' : 'counter';
      expect(text, m.prometheus).toContain(`# TYPE ${m.prometheus} ${type}\n`);
    }
    expect(text).toMatch(/^migscope_migrations_total\{host="src-host",device="0000:65:00\.0",protocol="v1",kind="save",outcome="completed"[^}]*\} 1/m);
    expect(text).toMatch(/^migscope_migrations_total\{host="src-host",device="0000:66:00\.0",protocol="v1",kind="save",outcome="failed"[^}]*\} 1/m);
    expect(text).toMatch(/^migscope_findings_total\{host="src-host",device="0000:66:00\.0",rule="V1-WIDTH",severity="warning",blame="vmm",certainty="certain"[^}]*\} 1/m);
    expect(text).toMatch(/^migscope_state_duration_seconds_bucket\{[^}]*state="PRE_COPY"[^}]*le="0\.5"\} 1/m);
    // The clean save's 100 ms stop-copy; the failed save has no timed stop-copy, so no series.
    expect(text).toMatch(/^migscope_migration_stop_copy_seconds_bucket\{host="src-host",device="0000:65:00\.0",protocol="v1",outcome="completed"[^}]*le="0\.1"\} 1/m);
    expect(text).not.toMatch(/^migscope_migration_stop_copy_seconds_count\{[^}]*device="0000:66:00\.0"/m);
    expect(text).toMatch(/^migscope_device_state\{host="src-host",device="0000:65:00\.0",protocol="v1",state="STOP"[^}]*\} 1/m);
    expect(text).toMatch(/^migscope_device_state\{host="src-host",device="0000:66:00\.0",protocol="v1",state="INVALID_101"[^}]*\} 1/m);
    expect(text).toMatch(/^migscope_device_pending_bytes\{host="src-host",device="0000:65:00\.0",protocol="v1"[^}]*\} 4096/m);
    expect(text).toMatch(/^migscope_input_records_total\{host="src-host"[^}]*\} 20/m);
    // Every label key used is a documented one.
    const ours = text.split('\n').filter((l) => l.startsWith('migscope_')).join('\n');
    const used = new Set([...ours.matchAll(/[{,]([a-z_]+)="/g)].map((x) => x[1]));
    expect(used.size).toBeGreaterThan(5);
    for (const k of used) expect([...Object.values(LABEL), 'otel_scope_name', 'otel_scope_version', 'le'], k).toContain(k);
  });
});
