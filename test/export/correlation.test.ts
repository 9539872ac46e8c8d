// One migration, one trace, across hosts: the source and destination analyses are
// exported separately (as two collectors would) with the same migration id and land in one
// trace, the destination's resume linking to the source's save.

import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { exportAnalysis, saveSessionSpanId, traceIdFromMigrationId } from '../../src/export/index.js';
import { ATTR } from '../../src/export/conventions.js';
import { parseTraceParent } from '../../src/export/traceparent.js';
import { migrationRootSpanId, resolveCorrelation } from '../../src/export/correlation.js';
import { startHttpReceiver, type Receiver } from './otlp-receiver.js';
import { cleanSaveAnalysis, resumeAnalysis, SRC_DEVICE } from './fixtures.js';

let r: Receiver;

beforeEach(async () => {
  r = await startHttpReceiver();
  vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', r.endpoint);
  vi.stubEnv('OTEL_NODE_RESOURCE_DETECTORS', 'env');
  vi.stubEnv('OTEL_METRICS_EXPORTER', 'none');
});

afterEach(async () => {
  vi.unstubAllEnvs();
  await r.close();
});

const MIGRATION = 'mig-2024-11-25-vm42';

describe('source and destination with the same --migration-id', () => {
  it('land in one trace whose id derives from the migration id, and the resume links to the save', async () => {
    const src = await exportAnalysis(cleanSaveAnalysis(), { migrationId: MIGRATION });
    const dst = await exportAnalysis(resumeAnalysis(), { migrationId: MIGRATION });
    expect(src.ok && dst.ok).toBe(true);

    const expectedTrace = createHash('sha256').update(MIGRATION).digest().subarray(0, 16).toString('hex');
    expect(src.traceId).toBe(expectedTrace);
    expect(dst.traceId).toBe(expectedTrace);
    expect(new Set(r.spans.map((s) => s.traceId))).toEqual(new Set([expectedTrace]));

    const save = r.spans.find((s) => s.name === 'vfio.migration.save');
    const resume = r.spans.find((s) => s.name === 'vfio.migration.resume');
    // Both hosts' sessions hang under one root whose id both derive; only the source (it
    // saw a save) emits that root, so it arrives exactly once, itself a root span.
    const rootId = migrationRootSpanId(MIGRATION);
    expect(save?.parentSpanId).toBe(rootId);
    expect(resume?.parentSpanId).toBe(rootId);
    const roots = r.spans.filter((s) => s.name === 'vfio.migration');
    expect(roots.map((s) => [s.spanId, s.parentSpanId, s.kind, s.attributes[ATTR.migrationId]])).toEqual([[rootId, '', 1, MIGRATION]]);
    expect(roots[0]?.startNs).toBe(save?.startNs);
    expect(roots[0]?.endNs).toBe(save?.endNs);
    expect(save?.kind).toBe(4); // PRODUCER
    expect(resume?.kind).toBe(5); // CONSUMER
    expect(save?.spanId).toBe(saveSessionSpanId(MIGRATION, SRC_DEVICE));
    expect(resume?.links).toEqual([{ traceId: expectedTrace, spanId: save?.spanId, attributes: { [ATTR.linkType]: 'vfio.migration.save', [ATTR.deviceId]: SRC_DEVICE } }]);
    expect(save?.attributes[ATTR.migrationId]).toBe(MIGRATION);
    expect(resume?.attributes[ATTR.hostName]).toBe('dst-host');
    expect(save?.attributes[ATTR.hostName]).toBe('src-host');
  });

  it('links across different device ids when both hosts name the device the same way', async () => {
    await exportAnalysis(cleanSaveAnalysis('0000:65:00.0'), { migrationId: MIGRATION, deviceLinkNames: new Map([['0000:65:00.0', 'nic0']]) });
    await exportAnalysis(resumeAnalysis('0000:b1:00.0'), { migrationId: MIGRATION, deviceLinkNames: new Map([['0000:b1:00.0', 'nic0']]) });
    const save = r.spans.find((s) => s.name === 'vfio.migration.save');
    const resume = r.spans.find((s) => s.name === 'vfio.migration.resume');
    expect(resume?.links[0]?.spanId).toBe(save?.spanId);
  });

  it('without a link name the ids differ and the link points elsewhere (the mapping is what makes it work)', async () => {
    await exportAnalysis(cleanSaveAnalysis('0000:65:00.0'), { migrationId: MIGRATION });
    await exportAnalysis(resumeAnalysis('0000:b1:00.0'), { migrationId: MIGRATION });
    const save = r.spans.find((s) => s.name === 'vfio.migration.save');
    const resume = r.spans.find((s) => s.name === 'vfio.migration.resume');
    expect(resume?.links[0]?.spanId).not.toBe(save?.spanId);
  });

  it('without a migration id each session is its own trace and nothing is linked', async () => {
    const src = await exportAnalysis(cleanSaveAnalysis());
    const dst = await exportAnalysis(resumeAnalysis());
    expect(src.traceId).toBeUndefined();
    expect(dst.traceId).toBeUndefined();
    const save = r.spans.find((s) => s.name === 'vfio.migration.save');
    const resume = r.spans.find((s) => s.name === 'vfio.migration.resume');
    expect(save?.traceId).not.toBe(resume?.traceId);
    expect(resume?.links).toEqual([]);
  });
});

describe('W3C TRACEPARENT', () => {
  const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  it('joins the orchestrator trace as children of its span, on both hosts, with the link', async () => {
    vi.stubEnv('TRACEPARENT', TP);
    await exportAnalysis(cleanSaveAnalysis());
    await exportAnalysis(resumeAnalysis());
    const save = r.spans.find((s) => s.name === 'vfio.migration.save');
    const resume = r.spans.find((s) => s.name === 'vfio.migration.resume');
    expect(save?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(resume?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(save?.parentSpanId).toBe('00f067aa0ba902b7');
    expect(resume?.parentSpanId).toBe('00f067aa0ba902b7');
    expect(resume?.links[0]?.spanId).toBe(save?.spanId);
    expect(save?.spanId).toBe(saveSessionSpanId('4bf92f3577b34da6a3ce929d0e0e4736', SRC_DEVICE));
  });

  it('--migration-id wins over TRACEPARENT, and says so', async () => {
    vi.stubEnv('TRACEPARENT', TP);
    const s = await exportAnalysis(cleanSaveAnalysis(), { migrationId: MIGRATION });
    expect(s.traceId).toBe(traceIdFromMigrationId(MIGRATION));
    expect(s.notes.join('\n')).toMatch(/TRACEPARENT is ignored/);
  });

  it('a malformed TRACEPARENT is reported and the sessions are not correlated', async () => {
    vi.stubEnv('TRACEPARENT', '00-XYZ-00f067aa0ba902b7-01');
    const s = await exportAnalysis(cleanSaveAnalysis());
    expect(s.traceId).toBeUndefined();
    expect(s.notes.join('\n')).toMatch(/TRACEPARENT .* is not/);
    expect(r.spans.find((x) => x.name === 'vfio.migration.save')?.parentSpanId).toBe('');
  });
});

describe('parsing and derivation', () => {
  it('parses valid traceparents and rejects invalid ones', () => {
    expect(parseTraceParent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toMatchObject({
      ok: true,
      value: { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentSpanId: '00f067aa0ba902b7', sampled: true },
    });
    // TRACESTATE rides along (the propagator parses it).
    const withState = parseTraceParent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'vendor=abc,other=1');
    expect(withState.ok && withState.value.spanContext.traceState?.get('vendor')).toBe('abc');
    expect(parseTraceParent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00')).toMatchObject({ ok: true, value: { sampled: false } });
    expect(parseTraceParent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future')).toMatchObject({ ok: true });
    for (const bad of [
      '',
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
      '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01',
    ]) {
      expect(parseTraceParent(bad).ok, bad).toBe(false);
    }
  });

  it('derives ids deterministically, distinct per device and migration', () => {
    expect(traceIdFromMigrationId('a')).toBe(traceIdFromMigrationId('a'));
    expect(traceIdFromMigrationId('a')).not.toBe(traceIdFromMigrationId('b'));
    expect(traceIdFromMigrationId('a')).toMatch(/^[0-9a-f]{32}$/);
    expect(saveSessionSpanId('m', 'dev1')).toMatch(/^[0-9a-f]{16}$/);
    expect(saveSessionSpanId('m', 'dev1')).not.toBe(saveSessionSpanId('m', 'dev2'));
    expect(saveSessionSpanId('m\0x', 'y')).not.toBe(saveSessionSpanId('m', 'x\0y'));
    expect(resolveCorrelation({ migrationId: '  ' }).correlation.mode).toBe('none');
  });

  it('a second save of the same device in one migration gets its own id (ids never collide)', async () => {
    const a = cleanSaveAnalysis();
    const d = a.devices[0]!;
    const first = d.sessions[0]!;
    const second = { ...first, startNs: (first.endNs ?? 0n) + 1000n, endNs: (first.endNs ?? 0n) + 2000n };
    await exportAnalysis({ ...a, devices: [{ ...d, sessions: [first, second] }] }, { migrationId: MIGRATION });
    const saves = r.spans.filter((s) => s.name === 'vfio.migration.save');
    expect(saves).toHaveLength(2);
    expect(saves.map((s) => s.spanId)).toContain(saveSessionSpanId(MIGRATION, SRC_DEVICE));
    expect(new Set(saves.map((s) => s.spanId)).size).toBe(2);
  });
});
