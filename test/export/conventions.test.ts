// The trace and metric conventions of issue 15 (docs/telemetry.md): attribute keys under one
// namespace with none also a prefix of another; a finding goes to the session whose window
// holds it (as an event, even when found just after the session ended), never to an earlier
// session; the device state is read by name; device labels are capped with the overflow counted.

import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { ATTR } from '../../src/export/conventions.js';
import { createExporter } from '../../src/export/exporter.js';
import type { Finding } from '../../src/check/types.js';
import { MS, cleanSaveAnalysis, manySessionsAnalysis } from './fixtures.js';

const SEMCONV = new Set(['process.pid', 'thread.name', 'host.name', 'error.type']);

describe('attribute keys', () => {
  it('are semantic-convention keys or migscope.*, and no key is the namespace of another', () => {
    const keys = Object.values(ATTR) as string[];
    for (const k of keys) expect(SEMCONV.has(k) || k.startsWith('migscope.'), k).toBe(true);
    for (const a of keys) for (const b of keys) if (a !== b) expect(b.startsWith(`${a}.`), `${a} is both a key and the prefix of ${b}`).toBe(false);
    // The check can fail: the old pair would have been caught.
    expect('vfio.state.from'.startsWith('vfio.state.')).toBe(true);
  });
});

function finding(rule: string, device: string, tsNs: bigint | undefined, severity: Finding['severity'] = 'error'): Finding {
  return { rule, severity, blame: 'vmm', certainty: 'certain', device, tsNs, message: `${rule} fired`, specRef: 'spec', evidence: [] } as unknown as Finding;
}

describe('findings and their sessions (streaming, as watch drives the exporter)', () => {
  it('a finding found just after its session ended is an event on that session; one between sessions is not the child of the earlier one', async () => {
    const a = manySessionsAnalysis(2, 1);
    const d = a.devices[0]!;
    const [s0, s1] = d.sessions;
    const mem = new InMemorySpanExporter();
    const exp = createExporter({ spanExporters: [{ name: 'memory', exporter: mem }], metricExporters: [], env: {} });
    // Session 0 ends; the drain-style finding at its end arrives after session() (same tick).
    void exp.session({ host: a.host, clock: a.clock, device: d, session: s0!, findings: [] });
    const late = exp.finding({ host: a.host, clock: a.clock, finding: finding('LATE-IN-WINDOW', d.id, s0!.endNs) });
    await late;
    // A finding after session 0 and before session 1: belongs to neither.
    await exp.finding({ host: a.host, clock: a.clock, finding: finding('BETWEEN', d.id, s0!.endNs! + 1n * MS, 'warning') });
    await exp.session({ host: a.host, clock: a.clock, device: d, session: s1!, findings: [] });
    await exp.flush();
    // Read before shutdown: InMemorySpanExporter forgets its spans when shut down.
    const spans = [...mem.getFinishedSpans()];
    const summary = await exp.shutdown();
    expect(summary.ok).toBe(true);
    const roots = spans.filter((s) => s.name === 'vfio.migration.save');
    expect(roots).toHaveLength(2);
    const first = roots.find((s) => s.attributes[ATTR.sessionIndex] === 0)!;
    expect(first.events.map((e) => e.attributes?.[ATTR.ruleId])).toEqual(['LATE-IN-WINDOW']);
    expect(first.attributes[ATTR.findingsCount]).toBe(1);
    expect(first.attributes[ATTR.errorType]).toBe('LATE-IN-WINDOW');
    expect(first.status.code).toBe(2); // ERROR
    const between = spans.find((s) => s.name === 'migscope.finding')!;
    expect(between.attributes[ATTR.ruleId]).toBe('BETWEEN');
    expect(between.parentSpanContext).toBeUndefined(); // not a child of session 0
    expect(between.links.map((l) => l.context.spanId)).toEqual([first.spanContext().spanId]);
    const second = roots.find((s) => s.attributes[ATTR.sessionIndex] === 1)!;
    expect(second.events).toEqual([]);
    expect(summary.standaloneFindings).toBe(1);
  });
});

describe('device labels of the live metrics', () => {
  async function scrape(maxDevicesPerHost: number | undefined): Promise<string> {
    const prom = new PrometheusExporter({ preventServerStart: true });
    const exp = createExporter({ traces: [], metrics: [], metricReaders: [prom], env: {}, maxDevicesPerHost });
    const a = cleanSaveAnalysis();
    const d = a.devices[0]!;
    // Five pid:fd ids, as ftrace without openat paths names devices; each one's state changes.
    for (let fd = 40; fd < 45; fd++) {
      const dev = { id: `4242:${fd}`, protocol: 'v1' as const };
      exp.deviceState(a.host, dev, 1);
      exp.deviceState(a.host, dev, 3);
    }
    exp.input(a.host, { records: 1, malformed: 0, lostEvents: 0 });
    await exp.session({ host: a.host, clock: a.clock, device: d, session: d.sessions[0]!, findings: [] });
    await exp.flush();
    const text = new PrometheusSerializer().serialize((await prom.collect()).resourceMetrics);
    const summary = await exp.shutdown();
    return `${text}\n#notes ${summary.notes.join(' | ')}`;
  }

  it('caps the device labels per host: the rest go to device="_overflow", counted and reported', async () => {
    const text = await scrape(3);
    const devices = new Set([...text.matchAll(/^migscope_\w+\{[^}]*device="([^"]+)"/gm)].map((m) => m[1]));
    expect(devices).toEqual(new Set(['4242:40', '4242:41', '4242:42', '_overflow']));
    // One per recording folded: 2 devices × 2 state changes, and the session of a third device
    // (its migrations, histograms and bytes are one recording).
    expect(text).toMatch(/^migscope_device_label_overflow_total\{host="src-host"[^}]*\} 5$/m);
    expect(text).toMatch(/#notes .*host src-host has more devices than the label cap: 3 device id\(s\) folded/);
    // State set by name: a device left RUNNING (0) for PRE_COPY (1).
    expect(text).toMatch(/^migscope_device_state\{host="src-host",device="4242:40",protocol="v1",state="RUNNING"[^}]*\} 0$/m);
    expect(text).toMatch(/^migscope_device_state\{host="src-host",device="4242:40",protocol="v1",state="PRE_COPY"[^}]*\} 1$/m);
  });

  it('under the cap nothing is folded and the overflow counter stays 0', async () => {
    const text = await scrape(undefined);
    expect(text).not.toMatch(/^migscope_\w+\{[^}]*device="_overflow"/m);
    expect(text).toMatch(/^migscope_device_state\{host="src-host",device="4242:44",protocol="v1",state="PRE_COPY"[^}]*\} 1$/m);
    expect(text).toMatch(/^migscope_device_label_overflow_total\{host="src-host"[^}]*\} 0$/m);
    expect(text).not.toMatch(/#notes .*label cap/);
  });
});
