// Issue 11, merging: a capture, a QEMU log and a QMP transcript of the same VM on the same
// host are one story (src/cli/input-merge.ts, docs/input-formats.md "Merging inputs of one
// host"). The fixtures (test/fixtures/merge/README.md) are one real lab run each: bpftrace
// through `migscope capture`'s back end, and the lab workload (playing QEMU 7.2) writing
// QEMU's log lines and QMP events beside its syscalls, on this host's clocks.
//
// Both outcomes are pinned: merged (one device, one timeline, the offset printed and equal
// to the capture's clock-sync), and not merged, with the reason, when the clocks cannot be
// reconciled or the inputs are not one VM's.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runAnalysis, type AnalyzeFlags } from '../../src/cli/analyze.js';
import { renderTerminal } from '../../src/report/terminal.js';
import type { Analysis, InputFile } from '../../src/analysis/types.js';
import { toJsonValue } from '../../src/report/json.js';
import { wallTimeIso } from '../../src/report/wall-clock.js';
import { planSession } from '../../src/export/session-plan.js';
import { wallClockOf } from '../../src/export/time.js';

const M = 'test/fixtures/merge';
const late = (f: string): string => `${M}/late/${f}`;
const named = (f: string): string => `${M}/named/${f}`;
const flags = (extra: Partial<AnalyzeFlags> = {}): AnalyzeFlags => ({ failOn: 'error', quiet: true, ...extra });

/** wall − trace of the capture's first clock-sync line, read from the fixture itself. */
function syncOffset(capture: string): bigint {
  const line = readFileSync(capture, 'utf8').split('\n').find((l) => / clocksync /.test(l));
  const m = /^(\d+) clocksync .*wall_ns=(\d+)/.exec(line ?? '');
  if (m === null) throw new Error(`${capture}: no clocksync line`);
  return BigInt(m[2] ?? '0') - BigInt(m[1] ?? '0');
}

const file = (a: Analysis, path: string): InputFile => {
  const f = a.input.files.find((x) => x.path === path);
  if (f === undefined) throw new Error(`${path} not among the inputs`);
  return f;
};

describe('inputs of one host merged into one timeline', () => {
  it('capture (device only as pid:fd) + QEMU ≤ 10.0 log + QMP: one device joined by thread id, one migration, offset = the clock-sync', async () => {
    const a = await runAnalysis([late('capture.txt'), late('qemu.log'), late('qmp.jsonl')], flags());
    expect(a.devices.map((d) => d.id)).toEqual(['0000:65:00.0']);
    const d = a.devices[0];
    expect(d?.naming).toBe('qemu');
    expect(d?.identity).toMatch(/came from thread \d+ right after it used fd 3 of process \d+ \(test\/fixtures\/merge\/late\/qemu\.log joined with test\/fixtures\/merge\/late\/capture\.txt\)/);
    // The timeline is the capture's: the save session with its states, from the syscalls.
    expect(d?.sessions.map((s) => [s.kind, s.outcome])).toEqual([['save', 'completed']]);

    const off = syncOffset(late('capture.txt'));
    for (const f of ['qemu.log', 'qmp.jsonl']) {
      const p = file(a, late(f)).placement;
      expect(p?.merged).toBe(true);
      expect(p?.timeline).toBe(late('capture.txt'));
      expect(p?.ownClock).toBe('realtime');
      expect(p?.offsetNs).toBe(-off);
      expect(p?.rule).toMatch(/clock-sync record \(test\/fixtures\/merge\/late\/capture\.txt:2\)/);
    }
    expect(file(a, late('capture.txt')).placement?.offsetNs).toBe(0n);

    // QMP's migration and QEMU's device events are one migration; the session landed in it.
    expect(a.migrations?.map((m) => [m.id, m.outcome])).toEqual([['source-1', 'completed']]);
    const mig = a.migrations?.[0];
    expect(mig?.inputs).toEqual(expect.arrayContaining([late('qmp.jsonl'), late('qemu.log')]));
    expect(mig?.devices.map((x) => x.id)).toEqual(['0000:65:00.0']);
    expect(d?.sessions[0]?.convergence?.downtime.migrationDowntimeMs).toBe(mig?.downtimeMs);

    const text = renderTerminal(a, { color: false });
    const secs = `${-off / 1_000_000_000n}`;
    expect(text).toContain(`${late('qemu.log')}: merged into it, offset -${secs.replace('-', '')}.`);
    expect(text).toContain(`wall = mono +${off / 1_000_000_000n}.`);
  });

  it('without the merge (--no-merge) the same files are two devices: the join is the merge\'s doing', async () => {
    const a = await runAnalysis([late('capture.txt'), late('qemu.log')], flags({ merge: false }));
    expect(a.devices.map((d) => d.id).sort()).toEqual(['0000:65:00.0', `${String(a.devices.find((d) => d.naming === 'pid-fd')?.pid)}:3`].sort());
    expect(file(a, late('qemu.log')).placement).toMatchObject({ merged: false, rule: expect.stringContaining('--no-merge') });
  });

  it('QEMU 10.1+ log (ISO stamps, no thread id): joined by time proximity, and the join says so', async () => {
    const a = await runAnalysis([late('capture.txt'), late('qemu-10.1.log')], flags());
    expect(a.devices.map((d) => d.id)).toEqual(['0000:65:00.0']);
    expect(a.devices[0]?.identity).toMatch(/no thread id; joined with fd 3 of process \d+ by time proximity: \d+ µs from fd 3's last VFIO call, the only device fd within 5000 µs/);
    expect(file(a, late('qemu-10.1.log')).placement?.offsetNs).toBe(-syncOffset(late('capture.txt')));
  });

  it('the device named by GET_DEVICE_FD in the capture and by QEMU in its log: one device, joined by name', async () => {
    const a = await runAnalysis([named('capture.txt'), named('qemu.log'), named('qmp.jsonl')], flags());
    expect(a.devices.map((d) => [d.id, d.naming])).toEqual([['0000:65:00.0', 'group-get-device-fd']]);
    expect(a.devices[0]?.identity).toMatch(/^same name: QEMU's events \(test\/fixtures\/merge\/named\/qemu\.log\) name 0000:65:00\.0, the name VFIO_GROUP_GET_DEVICE_FD gave fd 3/);
    expect(file(a, named('qemu.log')).placement?.merged).toBe(true);
  });
});

describe('inputs that cannot be placed are kept separate, with the reason', () => {
  it('a QEMU log without time stamps: kept apart, the capture\'s device stays pid:fd', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'migscope-merge-'));
    const bare = join(dir, 'bare.log');
    // The same run's log as QEMU writes it without -msg timestamp=on: the prefix is gone.
    writeFileSync(bare, readFileSync(late('qemu.log'), 'utf8').replace(/^\d+@\d+\.\d+:/gm, ''));
    const a = await runAnalysis([late('capture.txt'), bare], flags());
    expect(file(a, bare).placement).toMatchObject({ merged: false, rule: expect.stringMatching(/only an order, not a time/) });
    expect(a.devices.some((d) => d.naming === 'pid-fd')).toBe(true);
    expect(a.devices.find((d) => d.naming === 'pid-fd')?.identity).toBeUndefined();
  });

  it('a capture without its clock-sync record: the QEMU log is not guessed onto it; --clock-offset places it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'migscope-merge-'));
    const cap = join(dir, 'capture-nosync.txt');
    writeFileSync(cap, readFileSync(late('capture.txt'), 'utf8').split('\n').filter((l) => !/ clocksync /.test(l)).join('\n'));
    const a = await runAnalysis([cap, late('qemu.log')], flags());
    const p = file(a, late('qemu.log')).placement;
    expect(p?.merged).toBe(false);
    expect(p?.rule).toMatch(/kept separate: .*has no clock-sync record and no --clock-offset was given/);
    expect(a.devices.map((d) => d.id)).not.toEqual(['0000:65:00.0']);
    expect(renderTerminal(a, { color: false })).toContain(`${late('qemu.log')}: kept separate:`);

    const off = syncOffset(late('capture.txt'));
    const secs = `${off / 1_000_000_000n}.${(off % 1_000_000_000n).toString().padStart(9, '0')}`;
    const b = await runAnalysis([cap, late('qemu.log')], flags({ clockOffset: secs }));
    expect(file(b, late('qemu.log')).placement).toMatchObject({ merged: true, offsetNs: -off, rule: expect.stringContaining('--clock-offset') });
    expect(b.devices.map((d) => d.id)).toEqual(['0000:65:00.0']);
  });

  it("another VM's QEMU log (its thread ids are none of the capture's) is not taken as the capture's host; --host merges it anyway", async () => {
    const a = await runAnalysis([late('capture.txt'), named('qemu.log')], flags());
    expect(file(a, named('qemu.log')).placement?.rule).toMatch(/are none of .*capture\.txt's: another VM's or another host's QEMU/);
    const b = await runAnalysis([late('capture.txt'), named('qemu.log')], flags({ host: [`${late('capture.txt')}=hv1`, `${named('qemu.log')}=hv1`] }));
    expect(file(b, named('qemu.log')).placement).toMatchObject({ merged: true, host: 'hv1' });
  });

  it('two captures without --host (two hosts, maybe): an input without thread ids is not merged, and it says to pass --host', async () => {
    const a = await runAnalysis([late('capture.txt'), named('capture.txt'), late('qmp.jsonl')], flags());
    for (const f of a.input.files) expect(f.placement?.merged).toBe(false);
    expect(file(a, late('qmp.jsonl')).placement?.rule).toMatch(/2 captures among the inputs .*carries no thread or process id: say which host .*--host FILE=NAME/);
  });

  it('two captures, two QEMU logs: each log goes with the capture whose threads it names', async () => {
    const a = await runAnalysis([late('capture.txt'), named('capture.txt'), named('qemu.log'), late('qemu.log')], flags());
    expect(file(a, late('qemu.log')).placement).toMatchObject({ merged: true, timeline: late('capture.txt'), hostRule: expect.stringMatching(/are .*late\/capture\.txt's, and no other capture's/) });
    expect(file(a, named('qemu.log')).placement).toMatchObject({ merged: true, timeline: named('capture.txt') });
    // Two devices of the same name on two hosts: two devices, each with its own join.
    expect(a.devices.map((d) => d.id).sort()).toEqual(['0000:65:00.0', `0000:65:00.0@capture.txt`]);
    expect(a.devices.find((d) => d.id === '0000:65:00.0')?.identity).toMatch(/^same name: .*named\/qemu\.log/);
    expect(a.devices.find((d) => d.id === '0000:65:00.0@capture.txt')?.identity).toMatch(/came from thread \d+ .*late\/qemu\.log joined with .*late\/capture\.txt.*another input's device already/);
  });
});

// Two hosts' inputs that name their host (test/fixtures/merge/hosts/README.md): a bpftrace
// capture taken on hv-a and one on hv-b (real runs, their headers say host=), each run's QEMU
// log, and each host's libvirt log (derived from the run's QMP events; hv-a's names the FQDN
// hv-a.lab.example, as libvirt logs what virGetHostname found).
const hosts = (h: string, f: string): string => `${M}/hosts/${h}/${f}`;

/** A copy of a capture without its header's host=: what a capture made before this change looks like. */
function withoutHost(capture: string): string {
  const out = join(mkdtempSync(join(tmpdir(), 'migscope-merge-')), 'capture.txt');
  writeFileSync(out, readFileSync(capture, 'utf8').replace(/ host=\S+/, ''));
  return out;
}

describe('inputs that name their host are grouped by it', () => {
  it("two captures of two named hosts: each host's libvirt log and QEMU log go with its own capture, in any order", async () => {
    const inputs = [hosts('hv-b', 'libvirt.log'), hosts('hv-a', 'capture.txt'), hosts('hv-a', 'libvirt.log'), hosts('hv-b', 'capture.txt'), hosts('hv-b', 'qemu.log'), hosts('hv-a', 'qemu.log')];
    const a = await runAnalysis(inputs, flags());
    for (const h of ['hv-a', 'hv-b']) {
      expect(file(a, hosts(h, 'capture.txt')).host).toEqual({ name: h, how: `capture header host= (${hosts(h, 'capture.txt')}:1)` });
      expect(file(a, hosts(h, 'capture.txt')).placement).toMatchObject({ host: h, hostRule: expect.stringMatching(/^its own host name: capture header host=/), merged: true });
      for (const f of ['libvirt.log', 'qemu.log']) {
        expect(file(a, hosts(h, f)).placement).toMatchObject({ host: h, merged: true, timeline: hosts(h, 'capture.txt'), offsetNs: -syncOffset(hosts(h, 'capture.txt')) });
      }
    }
    expect(file(a, hosts('hv-a', 'libvirt.log')).host?.name).toBe('hv-a.lab.example');
    expect(file(a, hosts('hv-a', 'libvirt.log')).placement?.hostRule).toMatch(/names hv-a\.lab\.example \(the FQDN of hv-a\), the host of .*hv-a\/capture\.txt$/);
    expect(file(a, hosts('hv-b', 'libvirt.log')).placement?.hostRule).toMatch(/names hv-b, the host of .*hv-b\/capture\.txt$/);
    // Each host's migration is its own story, told by its capture, QEMU log and libvirt log.
    expect(a.migrations).toHaveLength(2);
    for (const h of ['hv-a', 'hv-b']) {
      const m = a.migrations?.find((x) => x.inputs.includes(hosts(h, 'libvirt.log')));
      expect(m?.outcome).toBe('completed');
      expect(m?.inputs).not.toContain(hosts(h === 'hv-a' ? 'hv-b' : 'hv-a', 'libvirt.log'));
    }
    const text = renderTerminal(a, { color: false });
    expect(text).toContain(`${hosts('hv-a', 'capture.txt')} (bpftrace, clock mono, host hv-a)`);
    expect(text).toContain(`  ${hosts('hv-a', 'libvirt.log')}: names its host hv-a.lab.example (libvirt's hostname: line (${hosts('hv-a', 'libvirt.log')}:1))`);
  });

  it('each migration and each device says its host; times of the second host map back with its own clock-sync', async () => {
    const inputs = [hosts('hv-a', 'capture.txt'), hosts('hv-a', 'libvirt.log'), hosts('hv-a', 'qemu.log'), hosts('hv-b', 'capture.txt'), hosts('hv-b', 'libvirt.log'), hosts('hv-b', 'qemu.log')];
    const a = await runAnalysis(inputs, flags());
    for (const h of ['hv-a', 'hv-b']) {
      const m = a.migrations?.find((x) => x.inputs.includes(hosts(h, 'libvirt.log')));
      expect(m?.host?.name).toBe(h);
      expect(m?.host?.how).toContain(`the host of ${hosts(h, 'capture.txt')}`);
    }
    expect(a.devices.map((d) => [d.id, d.host])).toEqual([
      ['0000:65:00.0', 'hv-a'],
      ['0000:65:00.0@capture.txt', 'hv-b'],
    ]);
    // hv-b's libvirt log went onto hv-b's capture clock with hv-b's clock-sync (140 ns apart
    // from hv-a's): its first MIGRATION event comes back at QEMU's own µs timestamp exactly.
    const b = a.migrations?.find((x) => x.host?.name === 'hv-b');
    expect(b?.statuses[0]?.tsNs).toBe(1796196185863454000n);
    const text = renderTerminal(a, { color: false });
    expect(text).toMatch(/^Migration source-1 on hv-a completed/m);
    expect(text).toMatch(/^Migration source-2 on hv-b completed/m);
    expect(text).toMatch(/^ {2}host: hv-b \(libvirt's hostname: line .*names hv-b, the host of .*hv-b\/capture\.txt\)$/m);
    expect(text).toMatch(/^device 0000:65:00\.0 {2}on hv-a, {2}pid 28131/m);
    expect(text).toMatch(/^device 0000:65:00\.0@capture\.txt {2}on hv-b, {2}pid 28246/m);
  });

  it('one host\'s inputs name no host: no host line on devices, and the migration says it is not named', async () => {
    const a = await runAnalysis([withoutHost(hosts('hv-a', 'capture.txt')), hosts('hv-a', 'qmp.jsonl')], flags());
    expect(a.migrations).toHaveLength(1);
    expect(a.migrations?.[0]?.host).toBeUndefined();
    expect(a.devices[0]?.host).toBeUndefined();
    const text = renderTerminal(a, { color: false });
    expect(text).toMatch(/^ {2}host: not named by its inputs/m);
    expect(text).not.toMatch(/^device .* on /m);
  });

  it('two QMP transcripts of overlapping source migrations: one story without hosts, two migrations when --host names two hosts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'migscope-twohosts-'));
    const a1 = join(dir, 'a.jsonl');
    const b1 = join(dir, 'b.jsonl');
    writeFileSync(a1, readFileSync(hosts('hv-a', 'qmp.jsonl')));
    writeFileSync(b1, readFileSync(hosts('hv-a', 'qmp.jsonl')));
    const merged = await runAnalysis([a1, b1], flags());
    expect(merged.migrations?.map((m) => m.inputs)).toEqual([[a1, b1]]);
    const apart = await runAnalysis([a1, b1], flags({ host: [`${a1}=hv-a`, `${b1}=hv-b`] }));
    expect(apart.migrations?.map((m) => [m.host?.name, m.inputs])).toEqual([
      ['hv-a', [a1]],
      ['hv-b', [b1]],
    ]);
    expect(apart.migrations?.[0]?.host?.how).toBe(`--host ${a1}=hv-a`);
  });

  it('the same inputs from captures that do not name their host: the libvirt logs cannot be placed (the names did it)', async () => {
    const a = await runAnalysis([withoutHost(hosts('hv-a', 'capture.txt')), withoutHost(hosts('hv-b', 'capture.txt')), hosts('hv-a', 'libvirt.log'), hosts('hv-b', 'libvirt.log')], flags());
    for (const h of ['hv-a', 'hv-b']) expect(file(a, hosts(h, 'libvirt.log')).placement).toMatchObject({ merged: false, rule: expect.stringMatching(/2 captures among the inputs .*say which host/) });
  });

  it("a capture's own host wins over \"the only capture\": its name, and the rule that gave it", async () => {
    const a = await runAnalysis([hosts('hv-a', 'capture.txt'), hosts('hv-a', 'qemu.log')], flags());
    expect(file(a, hosts('hv-a', 'capture.txt')).placement).toMatchObject({ host: 'hv-a', hostRule: `its own host name: capture header host= (${hosts('hv-a', 'capture.txt')}:1)` });
    expect(file(a, hosts('hv-a', 'qemu.log')).placement).toMatchObject({ host: 'hv-a', merged: true, hostRule: expect.stringMatching(/the only capture among the inputs without --host/) });
    expect(a.devices.map((d) => d.id)).toEqual(['0000:65:00.0']);
  });

  it("a libvirt log of another host than the only capture's is not merged, and says both hosts; --host still merges it", async () => {
    const a = await runAnalysis([hosts('hv-a', 'capture.txt'), hosts('hv-b', 'libvirt.log')], flags());
    expect(file(a, hosts('hv-b', 'libvirt.log')).placement).toMatchObject({
      merged: false,
      rule: expect.stringMatching(/^its host is hv-b \(libvirt's hostname: line .*hv-b\/libvirt\.log:1\)\), not hv-a \(.*hv-a\/capture\.txt\): another host's input, not merged/),
    });
    expect(renderTerminal(a, { color: false })).toContain(`${hosts('hv-b', 'libvirt.log')}: kept separate: its host is hv-b`);
    const b = await runAnalysis([hosts('hv-a', 'capture.txt'), hosts('hv-b', 'libvirt.log')], flags({ host: [`${hosts('hv-b', 'libvirt.log')}=hv-a`] }));
    expect(file(b, hosts('hv-b', 'libvirt.log')).placement).toMatchObject({ merged: true, host: 'hv-a', hostRule: `--host ${hosts('hv-b', 'libvirt.log')}=hv-a` });
  });

  it('--host takes a host name, checked like the names inputs give', async () => {
    await expect(runAnalysis([hosts('hv-a', 'capture.txt'), hosts('hv-b', 'libvirt.log')], flags({ host: [`${hosts('hv-b', 'libvirt.log')}=hv a`] }))).rejects.toThrow(/--host .*: not a host name/);
  });

  it("a trace.dat's UNAME host is read before merging: a libvirt log of another host is kept apart", async () => {
    const dat = 'test/fixtures/lab/trace-cmd/clean-live-migration.dat';
    const a = await runAnalysis([dat, hosts('hv-a', 'libvirt.log')], flags());
    expect(file(a, dat).host?.name).toBe('vm');
    expect(file(a, hosts('hv-a', 'libvirt.log')).placement?.rule).toMatch(/^its host is hv-a\.lab\.example .*, not vm \(test\/fixtures\/lab\/trace-cmd\/clean-live-migration\.dat\)/);
  });

  // Before inputs named their host, this log was refused: the thread ids of libvirt's
  // monitor lines (libvirtd's, never QEMU's) were taken for QEMU's and were none of the capture's.
  it("an old capture without a host and a libvirt log: the only capture takes the log, named by the log's hostname", async () => {
    const a = await runAnalysis([late('capture.txt'), hosts('hv-a', 'libvirt.log')], flags());
    expect(file(a, late('capture.txt')).host).toBeUndefined();
    expect(file(a, late('capture.txt')).placement).toMatchObject({ host: 'hv-a.lab.example', hostRule: 'the only capture among the inputs without --host', merged: true });
    expect(file(a, hosts('hv-a', 'libvirt.log')).placement).toMatchObject({ host: 'hv-a.lab.example', merged: true });
  });
});

// Issue 11, device times of a second host: the analysis maps trace times to wall-clock time
// with ONE offset (Analysis.clock, the first clock-sync). A second host's capture has its
// own clock-sync with another offset (another boot, another CLOCK_MONOTONIC): its device
// times are moved onto the analysis' clock as they are read, so that its sessions, spans,
// terminal and JSON times are its own wall-clock times. The two fixture hosts are one
// machine (their offsets are 140 ns apart), so hv-b's capture is derived with every trace
// time an hour later — a host booted an hour earlier — and the same wall-clock times.
const HOUR_NS = 3_600_000_000_000n;

/** hv-b's capture with its trace clock an hour ahead: leading times and begin_ns moved, wall_ns kept. */
function bootedEarlier(capture: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'migscope-boot-'));
  const out = join(dir, 'capture.txt');
  const text = readFileSync(capture, 'utf8')
    .split('\n')
    .map((l) => l.replace(/^(\d+) /, (_m, t: string) => `${BigInt(t) + HOUR_NS} `).replace(/ begin_ns=(\d+)/, (_m, t: string) => ` begin_ns=${BigInt(t) + HOUR_NS}`))
    .join('\n');
  writeFileSync(out, text);
  return out;
}

describe("a second host's device times map with its own clock-sync", () => {
  it('sessions, state times, terminal times and spans of hv-b are on wall-clock time by its own offset', async () => {
    const bCap = bootedEarlier(hosts('hv-b', 'capture.txt'));
    expect(syncOffset(bCap)).toBe(syncOffset(hosts('hv-b', 'capture.txt')) - HOUR_NS);
    // The truth: hv-b's capture on its own, mapped by its own (only) clock-sync.
    const alone = await runAnalysis([bCap], flags());
    const truth = alone.devices[0];
    const truthStart = truth?.sessions[0]?.startNs;
    expect(truthStart).toBeDefined();
    const wallOf = (a: Analysis, t: bigint | undefined): bigint | undefined => (t === undefined || a.clock.offsetNs === undefined ? undefined : t + a.clock.offsetNs);
    const wallTruth = wallOf(alone, truthStart);

    const a = await runAnalysis([hosts('hv-a', 'capture.txt'), hosts('hv-a', 'libvirt.log'), bCap, hosts('hv-b', 'libvirt.log')], flags());
    expect(a.clock).toMatchObject({ source: 'sync', offsetNs: syncOffset(hosts('hv-a', 'capture.txt')) });
    const b = a.devices.find((d) => d.host === 'hv-b');
    expect(b?.sessions.length).toBe(truth?.sessions.length);
    // Every session bound and state interval start of hv-b: its own wall time (the old
    // behaviour, hv-b's raw trace time + hv-a's offset, is an hour later).
    expect(b?.sessions.map((s) => [wallOf(a, s.startNs), wallOf(a, s.endNs)])).toEqual(truth?.sessions.map((s) => [wallOf(alone, s.startNs), wallOf(alone, s.endNs)]));
    expect(b?.timeline.map((iv) => wallOf(a, iv.startNs))).toEqual(truth?.timeline.map((iv) => wallOf(alone, iv.startNs)));
    expect(wallTimeIso(a.clock, b?.sessions[0]?.startNs)).toBe(wallTimeIso(alone.clock, truthStart));
    // hv-a is unmoved: the same as on its own.
    const aAlone = await runAnalysis([hosts('hv-a', 'capture.txt')], flags());
    expect(a.devices.find((d) => d.host === 'hv-a')?.sessions.map((s) => s.startNs)).toEqual(aAlone.devices[0]?.sessions.map((s) => s.startNs));

    // The input says it was moved, by how much, and why.
    expect(file(a, bCap).clockShift).toMatchObject({ shiftNs: syncOffset(bCap) - syncOffset(hosts('hv-a', 'capture.txt')), ownOffsetNs: syncOffset(bCap) });
    expect(file(a, hosts('hv-b', 'libvirt.log')).clockShift?.shiftNs).toBe(file(a, bCap).clockShift?.shiftNs);
    expect(file(a, hosts('hv-a', 'capture.txt')).clockShift).toBeUndefined();
    // JSON carries it (bigints as strings).
    const doc = toJsonValue(a) as { input: { files: { path: string; clockShift?: { shiftNs: string } }[] } };
    expect(doc.input.files.find((f) => f.path === bCap)?.clockShift?.shiftNs).toBe(String(file(a, bCap).clockShift?.shiftNs));

    // The migration of hv-b (QMP in its libvirt log) still lands on QEMU's own µs stamps.
    expect(a.migrations?.find((m) => m.host?.name === 'hv-b')?.statuses[0]?.tsNs).toBe(1796196185863454000n);
    // Device hv-b's save lies inside hv-b's migration on wall-clock time: both views agree.
    const mb = a.migrations?.find((m) => m.host?.name === 'hv-b');
    const sb = wallOf(a, b?.sessions.find((s) => s.kind === 'save')?.startNs);
    expect(sb !== undefined && mb?.startNs !== undefined && mb.endNs !== undefined && sb >= mb.startNs - 2_000_000_000n && sb <= mb.endNs).toBe(true);

    // Terminal: hv-b's session is seconds after the first record, not an hour.
    const text = renderTerminal(a, { color: false });
    expect(text).toContain(`${bCap}: ${bCap}'s own clock-sync record (${bCap}:2) gives wall = trace +`);
    const at = /^device 0000:65:00\.0@capture\.txt[\s\S]*?\n {2}session save \w+ at \+(\d+)\.\d+s/m.exec(text);
    expect(Number(at?.[1])).toBeLessThan(60);

    // Spans: the session's root span starts at hv-b's own wall time.
    const s0 = b?.sessions[0];
    if (b === undefined || s0 === undefined || wallTruth === undefined) throw new Error('no hv-b session');
    const plan = planSession({ host: 'hv-b', clock: a.clock, device: b, session: s0, findings: [] }, { wall: wallClockOf(a.clock), sessionIndex: 0, migrationId: undefined });
    expect(plan.root.start).toEqual([Number(wallTruth / 1_000_000_000n), Number(wallTruth % 1_000_000_000n)]);
  });

  // Merged with its libvirt log, the capture's records wait for its clock-sync (input-merge.ts
  // holds them): only a capture analysed on its own passes records on before it.
  it('a second capture on its own whose clock-sync comes after timed records is left on the first offset, with a problem saying so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'migscope-latesync-'));
    const out = join(dir, 'capture.txt');
    const lines = readFileSync(bootedEarlier(hosts('hv-b', 'capture.txt')), 'utf8').split('\n');
    const i = lines.findIndex((l) => / clocksync .*at=start/.test(l));
    const [sync] = lines.splice(i, 1);
    const j = lines.findIndex((l) => / openat /.test(l));
    lines.splice(j + 1, 0, sync ?? '');
    writeFileSync(out, lines.join('\n'));
    const a = await runAnalysis([hosts('hv-a', 'capture.txt'), out], flags());
    expect(file(a, out).clockShift).toBeUndefined();
    // The same capture with its clock-sync at the start is moved.
    const early = bootedEarlier(hosts('hv-b', 'capture.txt'));
    expect(file(await runAnalysis([hosts('hv-a', 'capture.txt'), early], flags()), early).clockShift).toBeDefined();
    expect(a.input.problems.map((p) => p.message)).toContainEqual(expect.stringMatching(/^this input's clock-sync record .* comes after 1 records with times: its times are left on the analysis' clock mapping/));
  });
});
