// Issue 11, merging, live: the lab records a bpftrace capture of a clean migration while its
// workload (playing QEMU 7.2) writes QEMU's log-backend lines and a QMP transcript, then
// `analyze` merges the three (src/cli/input-merge.ts). Needs root, FUSE and bpftrace; the
// recorded set in test/fixtures/merge/ covers the same offline (test/cli/merge-inputs.test.ts).

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureScenario, labAvailable } from '../../capture/lab/run.js';
import { runAnalysis } from '../../src/cli/analyze.js';

const avail = await labAvailable('bpftrace');
if (!avail.ok) console.warn(`SKIPPED test/lab/merge-live.test.ts: ${avail.reason ?? ''}`);
const dir = mkdtempSync(join(tmpdir(), 'migscope-merge-live-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!avail.ok)('lab: a capture and QEMU\'s own logs of the same run, merged', () => {
  it('a capture started after QEMU opened the device: one device, QEMU\'s name joined by thread id, the offset from the capture\'s clock-sync', async () => {
    const [cap, log, qmp] = ['capture.txt', 'qemu.log', 'qmp.jsonl'].map((f) => join(dir, f)) as [string, string, string];
    await captureScenario('clean-live-migration', cap, { tracer: 'bpftrace', qemuLog: log, qmpLog: qmp, earlyOpen: true });
    const sync = /^(\d+) clocksync .*wall_ns=(\d+)/m.exec(readFileSync(cap, 'utf8'));
    expect(sync).not.toBeNull();
    const offset = BigInt(sync?.[2] ?? '0') - BigInt(sync?.[1] ?? '0');

    const a = await runAnalysis([cap, log, qmp], { failOn: 'error', quiet: true });
    expect(a.devices.map((d) => [d.id, d.naming])).toEqual([['0000:65:00.0', 'qemu']]);
    expect(a.devices[0]?.identity).toMatch(/came from thread \d+ right after it used fd \d+ of process \d+/);
    for (const f of a.input.files.filter((x) => x.path !== cap)) expect(f.placement).toMatchObject({ merged: true, offsetNs: -offset });
    expect(a.migrations?.map((m) => m.outcome)).toEqual(['completed']);
    expect(a.migrations?.[0]?.inputs).toEqual(expect.arrayContaining([log, qmp]));
  }, 60_000);
});
