// Issue 15, "processes that exit dropped": the device gauges (state set, pending bytes) of a
// device whose VMM is gone leave the exposition — watch's /metrics endpoint (the real
// ZeroFirstPrometheusExporter over HTTP) and a pushed OTLP export alike — while the other
// devices' gauges and every counter stay as they were.

import { AggregationTemporality, DataPointType, InMemoryMetricExporter, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { createExporter, type MigscopeExporter } from '../../src/export/exporter.js';
import { ZeroFirstPrometheusExporter } from '../../src/export/zero-first-prometheus-exporter.js';
import type { Finding } from '../../src/check/types.js';
import { freePort } from '../helpers/prometheus.js';

const HOST = 'hv-1';
const A = { id: '0000:65:00.0', protocol: 'v1' as const };
const B = { id: '0000:66:00.0', protocol: 'v2' as const };

function finding(device: string): Finding {
  return { rule: 'V1-RESERVED-STATE', severity: 'error', blame: 'vmm', certainty: 'certain', device, tsNs: 1n, message: 'm', specRef: 's', evidence: [] } as unknown as Finding;
}

let exp: MigscopeExporter | undefined;
afterEach(async () => {
  await exp?.shutdown();
  exp = undefined;
});

async function setUp(opts: { maxDevicesPerHost?: number; push?: boolean } = {}): Promise<{ exp: MigscopeExporter; scrape: () => Promise<string>; pushed: () => ResourceMetrics | undefined }> {
  const port = await freePort();
  const prom = await new Promise<ZeroFirstPrometheusExporter>((resolve, reject) => {
    const p: ZeroFirstPrometheusExporter = new ZeroFirstPrometheusExporter({ host: '127.0.0.1', port }, (err) => (err instanceof Error ? reject(err) : resolve(p)));
  });
  // A push exporter that asks for cumulative temporality (the OTLP default).
  const mem = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  exp = createExporter({
    traces: [],
    metrics: [],
    metricExporters: opts.push === true ? [{ name: 'memory', exporter: mem }] : [],
    metricReaders: [prom],
    env: {},
    countFindingsOnSight: true,
    maxDevicesPerHost: opts.maxDevicesPerHost,
  });
  const e = exp;
  return {
    exp: e,
    scrape: async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text(),
    pushed: () => mem.getMetrics().at(-1),
  };
}

const unscoped = (l: string): string => l.replace(/,otel_scope_name[^}]*/, '');
const lines = (text: string, re: RegExp): string[] => text.split('\n').filter((l) => re.test(l));
const gaugeLines = (text: string, device: string): string[] => lines(text, new RegExp(`^migscope_device_(state|pending_bytes)\\{[^}]*device="${device.replace(/\./g, '\\.')}"`));

function pushedGaugeDevices(rm: ResourceMetrics | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const sm of rm?.scopeMetrics ?? []) {
    for (const m of sm.metrics) {
      if (m.dataPointType !== DataPointType.GAUGE) continue;
      out[m.descriptor.name] = [...new Set(m.dataPoints.map((p) => String(p.attributes['device'])))].sort();
    }
  }
  return out;
}

describe('device gauges of a device whose VMM is gone', () => {
  it('leave /metrics at the next scrape; the other device’s gauges and all counters stay', async () => {
    const { exp, scrape } = await setUp();
    exp.deviceState(HOST, A, 1);
    exp.deviceState(HOST, A, 3);
    exp.pendingBytes(HOST, A, 0x6000n);
    exp.deviceState(HOST, B, 2);
    exp.deviceState(HOST, B, 3);
    exp.pendingBytes(HOST, B, 0x2000n);
    exp.countFinding(HOST, finding(A.id));
    await scrape(); // a new counter series reads 0 on its first scrape (ZeroFirstPrometheusExporter)
    const before = await scrape();
    expect(gaugeLines(before, A.id).map(unscoped)).toEqual([
      'migscope_device_state{host="hv-1",device="0000:65:00.0",protocol="v1",state="RUNNING"} 0',
      'migscope_device_state{host="hv-1",device="0000:65:00.0",protocol="v1",state="PRE_COPY"} 1',
      'migscope_device_pending_bytes{host="hv-1",device="0000:65:00.0",protocol="v1"} 24576',
    ]);
    const bBefore = gaugeLines(before, B.id);
    expect(bBefore).toHaveLength(3); // STOP 0, RUNNING 1, pending

    exp.deviceGone(HOST, A.id);
    for (const after of [await scrape(), await scrape()]) {
      expect(gaugeLines(after, A.id)).toEqual([]);
      expect(gaugeLines(after, B.id)).toEqual(bBefore);
      // The finding counter of the gone device stays (a counter must not go back).
      expect(after).toMatch(/^migscope_findings_total\{[^}]*device="0000:65:00\.0"[^}]*\} 1$/m);
    }

    // The same device name used again (another VMM): its series come back, from its new state only.
    exp.deviceState(HOST, A, 1);
    expect(gaugeLines(await scrape(), A.id).map(unscoped)).toEqual(['migscope_device_state{host="hv-1",device="0000:65:00.0",protocol="v1",state="RUNNING"} 1']);
  });

  it('leave a pushed (OTLP, cumulative) export too; with two readers a reader may still see the last value once, observed while the other collected', async () => {
    const { exp, scrape, pushed } = await setUp({ push: true });
    exp.deviceState(HOST, A, 1);
    exp.pendingBytes(HOST, A, 0x6000n);
    exp.deviceState(HOST, B, 2);
    await exp.flush();
    expect(pushedGaugeDevices(pushed())).toEqual({ 'migscope.device.state': [A.id, B.id], 'migscope.device.pending_bytes': [A.id] });
    expect(gaugeLines(await scrape(), A.id)).toHaveLength(2);
    exp.deviceGone(HOST, A.id);
    // Each reader reports what was observed since its last collection (sdk-metrics, delta):
    // one more collection each, and the gone device is out of both for good.
    await exp.flush();
    await scrape();
    for (let i = 0; i < 2; i++) {
      await exp.flush();
      expect(pushedGaugeDevices(pushed())).toEqual({ 'migscope.device.state': [B.id] });
      const text = await scrape();
      expect(gaugeLines(text, A.id)).toEqual([]);
      expect(gaugeLines(text, B.id)).toHaveLength(1);
    }
  });

  it('dropping a device that has no label of its own admits none and counts no overflow; the shared overflow series stays', async () => {
    const { exp, scrape } = await setUp({ maxDevicesPerHost: 1 });
    exp.input(HOST, { records: 1, malformed: 0, lostEvents: 0 });
    exp.deviceState(HOST, A, 1); // admitted
    exp.deviceGone(HOST, '0000:99:00.0'); // never seen: must not take the one label
    exp.deviceState(HOST, B, 2); // over the cap: folded
    exp.deviceGone(HOST, B.id); // folded: other devices may be live behind _overflow
    await scrape(); // the overflow counter's first scrape reads 0 (ZeroFirstPrometheusExporter)
    const text = await scrape();
    expect(gaugeLines(text, A.id)).toHaveLength(1);
    expect(text).not.toMatch(/device="0000:99:00\.0"/);
    expect(gaugeLines(text, '_overflow')).toHaveLength(1);
    expect(text).toMatch(/^migscope_device_label_overflow_total\{host="hv-1"[^}]*\} 1$/m);
  });
});
