// Issue 11: spans and metrics of an input that names its host carry that host's name, not
// the analysing machine's (src/export/resource.ts, span-pipeline.ts emitterFor). Over real
// OTLP/HTTP to the loopback receiver: the two-host merge fixtures (hv-a, hv-b; capture
// header host=, libvirt's hostname: line) put each host's spans under a resource whose
// host.name is that host, with the host and os detectors of this machine left out; inputs
// that name no host keep this machine's resource.

import { hostname } from 'node:os';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FORMATS } from '../../parsers/index.js';
import { analyzeInputs } from '../../src/cli/pipeline.js';
import { exportAnalysis } from '../../src/export/index.js';
import { useHttpReceiver } from './use-receiver.js';

const root = resolve(import.meta.dirname, '../..');
const hosts = (h: string, f: string): string => join(root, 'test/fixtures/merge/hosts', h, f);
const tmp = mkdtempSync(join(tmpdir(), 'migscope-hostres-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// The host detector on: the analysing machine's host.name is on the resource unless the input names another.
const receiver = useHttpReceiver({ OTEL_NODE_RESOURCE_DETECTORS: 'host,env', OTEL_METRIC_EXPORT_INTERVAL: '60000' });

describe('the traced host on spans and metrics', () => {
  it("two hosts in one analysis: each host's spans under its own resource host.name, the metric label host its name", async () => {
    const inputs = ['hv-a', 'hv-b'].flatMap((h) => ['capture.txt', 'libvirt.log', 'qemu.log'].map((f) => ({ path: hosts(h, f) })));
    const a = await analyzeInputs(inputs, { formats: FORMATS });
    const summary = await exportAnalysis(a);
    expect(summary.ok).toBe(true);
    // One save session per host (device spans) and one source migration per host.
    const roots = receiver().spans.filter((s) => s.parentSpanId === '');
    const byHost = (h: string): string[] => roots.filter((s) => s.resource['host.name'] === h).map((s) => s.name).sort();
    expect(byHost('hv-a')).toEqual(['qemu.migration.source', 'vfio.migration.save']);
    expect(byHost('hv-b')).toEqual(['qemu.migration.source', 'vfio.migration.save']);
    for (const s of receiver().spans) {
      const h = s.resource['host.name'];
      expect(['hv-a', 'hv-b']).toContain(h);
      // This machine's host detector attributes are not put on another host's resource.
      expect(s.resource['host.id']).toBeUndefined();
      expect(s.resource['host.arch']).toBeUndefined();
      expect(s.resource['service.name']).toBe('migscope');
      if (s.parentSpanId === '') expect(s.attributes['host.name']).toBe(h);
    }
    // The device of hv-b (named 0000:65:00.0@capture.txt, the same BDF as hv-a's) is hv-b's.
    const saveB = roots.find((s) => s.name === 'vfio.migration.save' && s.resource['host.name'] === 'hv-b');
    expect(saveB?.attributes['migscope.device.id']).toBe('0000:65:00.0@capture.txt');
    const migrations = receiver().points.filter((p) => p.metric === 'migscope.migrations');
    expect(migrations.map((p) => p.attributes['host']).sort()).toEqual(['hv-a', 'hv-b']);
    // The input counters are totals over both hosts: this machine's name, not one host's.
    expect(receiver().points.find((p) => p.metric === 'migscope.input.records')?.attributes['host']).toBe(hostname());
  });

  it("one host's inputs that name it: every span and point is that host's, the input counters too", async () => {
    const a = await analyzeInputs(['capture.txt', 'libvirt.log'].map((f) => ({ path: hosts('hv-b', f) })), { formats: FORMATS });
    const summary = await exportAnalysis(a);
    expect(summary.ok).toBe(true);
    expect(receiver().spans.length).toBeGreaterThan(0);
    for (const s of receiver().spans) expect(s.resource['host.name']).toBe('hv-b');
    expect(receiver().points.find((p) => p.metric === 'migscope.input.records')?.attributes['host']).toBe('hv-b');
  });

  it("inputs that name no host: this machine's resource (host detector) and its name on the spans", async () => {
    const cap = join(tmp, 'capture.txt');
    writeFileSync(cap, readFileSync(hosts('hv-a', 'capture.txt'), 'utf8').replace(/ host=\S+/, ''));
    const a = await analyzeInputs([{ path: cap }, { path: hosts('hv-a', 'qmp.jsonl') }], { formats: FORMATS });
    expect(a.devices.every((d) => d.host === undefined)).toBe(true);
    const summary = await exportAnalysis(a);
    expect(summary.ok).toBe(true);
    const roots = receiver().spans.filter((s) => s.parentSpanId === '');
    expect(roots.map((s) => s.name).sort()).toEqual(['qemu.migration.source', 'vfio.migration.save']);
    for (const s of receiver().spans) {
      expect(s.resource['host.name']).toBe(hostname());
      expect(s.resource['host.arch']).toBeDefined();
    }
  });
});
