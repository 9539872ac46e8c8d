// The `migrations` section (src/track/migration-tracker.ts, migration-merge.ts): each input
// form gives the migration's status sequence, outcome and QEMU's figures; inputs of one
// host are one story; both hosts are paired; nothing is merged on a guess.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FORMATS } from '../../parsers/index.js';
import { analyzeInputs } from '../../src/cli/pipeline.js';
import type { Migration } from '../../src/track/migration-types.js';

const root = resolve(import.meta.dirname, '../..');
const q = (n: string): string => join(root, 'test/fixtures/qemu', n);
const lab = (n: string): string => join(root, 'test/fixtures/qemu-lab', n);
const tmp = mkdtempSync(join(tmpdir(), 'migscope-mig-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function migrations(...paths: string[]): Promise<readonly Migration[]> {
  const a = await analyzeInputs(
    paths.map((path) => ({ path })),
    { formats: FORMATS },
  );
  return a.migrations ?? [];
}

function file(name: string, text: string): string {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
}

const ev = (us: number, event: string, data?: unknown): string => JSON.stringify({ timestamp: { seconds: 1753123408, microseconds: us }, event, ...(data === undefined ? {} : { data }) });

describe('one input, each form', () => {
  it('QMP transcript: status sequence, completed, QEMU\'s figures, limit, RAM and VFIO bytes, passes, the device from VFIO_MIGRATION', async () => {
    const [m, ...rest] = await migrations(q('qmp-transcript.jsonl'));
    expect(rest).toEqual([]);
    expect(m).toMatchObject({
      id: 'source-1',
      side: 'source',
      outcome: 'completed',
      clock: 'wall',
      setupTimeMs: 1,
      downtimeMs: 121,
      totalTimeMs: 331,
      downtimeLimitMs: 500,
      ramTransferredBytes: 123456789n,
      ramTotalBytes: 4294967296n,
      vfioTransferredBytes: 1048576n,
      passes: 2,
      vmStopNs: 1753123408_300000_000n,
      uri: 'tcp:192.0.2.20:4444',
      figuresFrom: { file: q('qmp-transcript.jsonl'), line: 21 },
    });
    expect(m?.statuses.map((s) => [s.status, s.tsNs])).toEqual([
      ['setup', 1753123408_089815_000n],
      ['active', 1753123408_091000_000n],
      ['completed', 1753123408_420000_000n],
    ]);
    expect(m?.phases.map((p) => p.name)).toEqual(['setup', 'precopy', 'stop-copy']);
    expect(m?.devices).toEqual([
      expect.objectContaining({ id: 'hostdev0', via: ['qmp-event'], states: [expect.objectContaining({ state: 'PRE_COPY' }), expect.objectContaining({ state: 'STOP_COPY' }), expect.objectContaining({ state: 'STOP' })] }),
    ]);
  });

  it('QMP VFIO_MIGRATION events also give the device its v2 timeline, named from QMP', async () => {
    const a = await analyzeInputs([{ path: q('qmp-transcript.jsonl') }], { formats: FORMATS });
    const d = a.devices.find((x) => x.id === 'hostdev0');
    expect(d?.naming).toBe('qmp');
    expect(d?.protocol).toBe('v2');
    expect(d?.timeline.map((i) => i.state)).toEqual(['PRE_COPY', 'STOP_COPY', 'STOP']);
  });

  it('QEMU 10.1 ISO log and qemu-trace-stap give the same migration and device states', async () => {
    for (const f of ['log-iso.txt', 'stap.txt']) {
      const [m] = await migrations(q(f));
      expect(m?.side).toBe('source');
      expect(m?.outcome).toBe('completed');
      expect(m?.statuses.map((s) => s.status)).toEqual(['setup', 'active', 'completed']);
      expect(m?.devices[0]?.states.map((s) => s.state)).toEqual(['PRE_COPY', 'STOP_COPY', 'STOP']);
      expect(m?.vmStopNs).toBeDefined();
      // No query-migrate: QEMU's own figures are unknown, not guessed.
      expect(m?.downtimeMs).toBeUndefined();
      expect(m?.figuresFrom).toBeUndefined();
    }
  });

  it('libvirt log of the destination: side from migrate-incoming, completed, VM resumed, device states from VFIO_MIGRATION', async () => {
    const [m] = await migrations(q('libvirt-destination.log'));
    expect(m).toMatchObject({ side: 'destination', outcome: 'completed', uri: 'tcp:[::]:49152', vmResumeNs: 1753123408_431000_000n });
    expect(m?.sideEvidence).toMatch(/migrate-incoming/);
    // VFIO_MIGRATION's device-id hostdev0 is 0000:65:00.0 by the command line (line 2): one
    // device with QEMU's own trace line in the same log (line 11, on QEMU's stderr).
    expect(m?.devices.map((d) => d.id)).toEqual(['0000:65:00.0']);
    expect(m?.devices[0]?.states.map((s) => s.state)).toEqual(['RESUMING', 'STOP', 'RUNNING']);
    expect([...(m?.devices[0]?.via ?? [])].sort()).toEqual(['qemu-trace', 'qmp-event']);
    expect(m?.inputs).toEqual([q('libvirt-destination.log')]);
    expect(m?.phases.map((p) => p.name)).toEqual(['load']);
  });

  it('a bare log (no timestamps) still gives the sequence and outcome, with no times claimed', async () => {
    const [s, d] = await migrations(lab('bare/source.log'), lab('bare/destination.log'));
    expect(s).toMatchObject({ side: 'source', outcome: 'completed', clock: 'none', startNs: undefined, phases: [] });
    expect(d).toMatchObject({ side: 'destination', outcome: 'completed', clock: 'none' });
    expect(s?.statuses.every((x) => x.tsNs === undefined)).toBe(true);
    // Without time nothing says they are one migration's two sides.
    expect(s?.peer).toBeUndefined();
  });

  it('11.1-cycle events: the 100 GiB stop-copy sentinel and multifd device-state transfer are noted on the device', async () => {
    const [m] = await migrations(q('vfio-11.1-multifd.txt'));
    const notes = m?.devices[0]?.notes ?? [];
    expect(notes.some((n) => /could not get the stop-copy size .*ret -95, size 107374182400/.test(n))).toBe(true);
    expect(notes.some((n) => /multifd device-state transfer/.test(n))).toBe(true);
  });

  it('multifd stop-copy without any vfio_save_block line: the device timeline is built and no rule fires', async () => {
    const a = await analyzeInputs([{ path: q('vfio-11.1-multifd.txt') }], { formats: FORMATS });
    expect(a.devices.map((d) => [d.id, d.timeline.map((i) => i.state)])).toEqual([['0000:65:00.0', ['STOP_COPY', 'STOP']]]);
    expect(a.findings).toEqual([]);
  });

  it('a plain size is not the sentinel: no note', async () => {
    const f = file(
      'plain-size.txt',
      ['2025-07-21T18:43:28.089815Z migrate_set_state new state setup', '2025-07-21T18:43:28.093000Z vfio_query_stop_copy_size  (0000:65:00.0) size 4096 ret 0', '2025-07-21T18:43:28.420000Z migrate_set_state new state completed'].join('\n') + '\n',
    );
    const [m] = await migrations(f);
    expect(m?.devices[0]?.id).toBe('0000:65:00.0');
    expect(m?.devices[0]?.notes).toEqual([]);
  });
});

describe('outcomes', () => {
  it('failed: the status, and error-desc from query-migrate', async () => {
    const f = file(
      'failed.jsonl',
      [
        '{"execute": "migrate", "arguments": {"uri": "tcp:192.0.2.20:4444"}}',
        ev(100, 'MIGRATION', { status: 'setup' }),
        '{"return": {}}',
        ev(200, 'MIGRATION', { status: 'active' }),
        ev(300, 'MIGRATION', { status: 'failed' }),
        '{"execute": "query-migrate"}',
        '{"return": {"status": "failed", "error-desc": "Unable to write to socket: Connection reset by peer", "total-time": 7}}',
        ev(400, 'RESUME'),
      ].join('\n') + '\n',
    );
    const [m, ...rest] = await migrations(f);
    expect(rest).toEqual([]);
    expect(m).toMatchObject({ side: 'source', outcome: 'failed', errorDesc: 'Unable to write to socket: Connection reset by peer', totalTimeMs: 7 });
    // A source that resumes after a failure stays a source.
    expect(m?.vmResumeNs).toBe(1753123408_000400_000n);
  });

  it('cancelled, after migrate_cancel', async () => {
    const f = file(
      'cancelled.jsonl',
      [ev(100, 'MIGRATION', { status: 'setup' }), ev(200, 'MIGRATION', { status: 'active' }), '{"execute": "migrate_cancel"}', '{"return": {}}', ev(300, 'MIGRATION', { status: 'cancelling' }), ev(400, 'MIGRATION', { status: 'cancelled' })].join('\n') + '\n',
    );
    const [m] = await migrations(f);
    expect(m?.outcome).toBe('cancelled');
    expect(m?.statuses.map((s) => s.status)).toEqual(['setup', 'active', 'cancelling', 'cancelled']);
    expect(m?.notes.some((n) => n.startsWith('migrate_cancel sent'))).toBe(true);
  });

  it('unknown: the input ends before a final status', async () => {
    const f = file('cut.jsonl', [ev(100, 'MIGRATION', { status: 'setup' }), ev(200, 'MIGRATION', { status: 'active' })].join('\n') + '\n');
    const [m] = await migrations(f);
    expect(m?.outcome).toBe('unknown');
  });

  it('two migrations in one input are two, in order', async () => {
    const f = file(
      'two.jsonl',
      [ev(100, 'MIGRATION', { status: 'setup' }), ev(200, 'MIGRATION', { status: 'failed' }), ev(300, 'MIGRATION', { status: 'setup' }), ev(400, 'MIGRATION', { status: 'completed' })].join('\n') + '\n',
    );
    const ms = await migrations(f);
    expect(ms.map((m) => [m.id, m.outcome])).toEqual([
      ['source-1', 'failed'],
      ['source-2', 'completed'],
    ]);
  });
});

describe('merging inputs (real QEMU 7.2 lab recording)', () => {
  const all = [lab('timestamped/source.log'), lab('timestamped/source-qmp.jsonl'), lab('timestamped/destination.log'), lab('timestamped/destination-qmp.jsonl')];

  it('the log and the QMP transcript of one host are one migration; the two hosts are paired', async () => {
    const ms = await migrations(...all);
    expect(ms.map((m) => [m.id, m.side, m.outcome, m.peer])).toEqual([
      ['source-1', 'source', 'completed', 'destination-1'],
      ['destination-1', 'destination', 'completed', 'source-1'],
    ]);
    const [s, d] = ms;
    expect(s?.inputs).toEqual([all[0], all[1]]);
    expect(d?.inputs).toEqual([all[2], all[3]]);
    // Each status seen by both inputs of a host is one step with both sources.
    expect(s?.statuses.map((x) => [x.status, x.seen.map((e) => e.via).sort()])).toEqual([
      ['setup', ['qemu-trace', 'qmp-event']],
      ['active', ['qemu-trace', 'qmp-event']],
      ['completed', ['qemu-trace', 'qmp-event']],
    ]);
    expect(s?.downtimeMs).toBeTypeOf('number');
    expect(s?.downtimeLimitMs).toBe(300);
    expect(s?.phases.map((p) => p.name)).toEqual(['setup', 'precopy', 'stop-copy']);
    expect(s?.observedDowntimeMs).toBeTypeOf('number');
    expect(d?.phases.map((p) => p.name)).toEqual(['load']);
  });

  it('the destination\'s QMP transcript alone is a destination: its first event is "active" with the events capability on', async () => {
    const [m] = await migrations(lab('timestamped/destination-qmp.jsonl'));
    expect(m?.side).toBe('destination');
    expect(m?.sideEvidence).toMatch(/events capability/);
  });

  it('an input that cannot tell its side is not merged when both hosts\' migrations overlap it', async () => {
    // The source's own MIGRATION active/completed events, without the commands or capabilities that tell the side.
    const lines = readFileSync(all[1] ?? '', 'utf8')
      .split('\n')
      .filter((l) => /"event": "MIGRATION", "data": \{"status": "(active|completed)"/.test(l));
    expect(lines).toHaveLength(2);
    const f = file('sideless.jsonl', lines.join('\n') + '\n');
    const alone = await migrations(f);
    expect(alone.map((m) => m.side)).toEqual(['unknown']);
    const ms = await migrations(all[0] ?? '', all[2] ?? '', f);
    expect(ms.map((m) => `${m.side} ${m.inputs.length}`).sort()).toEqual(['destination 1', 'source 1', 'unknown 1']);
    // With only the source host's log it overlaps one candidate: merged into it.
    const one = await migrations(all[0] ?? '', f);
    expect(one.map((m) => [m.side, m.inputs])).toEqual([['source', [all[0], f]]]);
  });
});
