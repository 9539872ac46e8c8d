// The v2 tracker: states by their enum names with the raw value, the arcs of a SET listed
// on the state write, flags learned or inferred, data sessions with bytes, iterations,
// pre-copy info and not-running time, QEMU's events filling an ftrace-only trace, and
// dispatch between the v1 and v2 machines.

import { describe, expect, it } from 'vitest';
import { createTracker } from '../../src/track/tracker.js';
import type { ProtocolOp } from '../../src/decode/ops.js';
import type { DeviceTimeline, MigrationSession } from '../../src/track/types.js';
import { cleanResume, cleanSave, F, S, v2Trace } from '../check/v2-ops-builder.js';
import { trace } from '../check/ops-builder.js';

function track(ops: readonly ProtocolOp[]): { devices: DeviceTimeline[]; ended: MigrationSession[] } {
  const ended: MigrationSession[] = [];
  const t = createTracker({ onSessionEnd: (_d, s) => ended.push(s) });
  for (const o of ops) t.op(o);
  t.end();
  return { devices: t.devices(), ended };
}

describe('v2 tracker: a clean save with PRE_COPY and P2P', () => {
  const t = v2Trace();
  cleanSave(t);
  const { devices, ended } = track(t.ops);
  const d = devices[0]!;

  it('is a v2 device with the flags from MIGRATION GET', () => {
    expect(d.protocol).toBe('v2');
    expect([d.v2Flags, d.v2FlagsSource]).toEqual([7, 'feature']);
  });

  it('has one interval per state, named from the enum with the raw value', () => {
    expect(d.timeline.map((i) => [i.state, i.raw, i.certainty])).toEqual([
      ['RUNNING', 2, 'inferred'],
      ['PRE_COPY', 6, 'known'],
      ['PRE_COPY_P2P', 7, 'known'],
      ['STOP_COPY', 3, 'known'],
      ['STOP', 1, 'known'],
    ]);
    expect(d.timeline.at(-1)?.openAtEnd).toBe(true);
  });

  it('lists the arcs of each SET on its state write', () => {
    expect(d.stateWrites.map((w) => [w.from, w.to, w.result, w.path, w.pathFlags])).toEqual([
      ['RUNNING', 'PRE_COPY', 'ok', ['PRE_COPY'], 'feature'],
      ['PRE_COPY', 'PRE_COPY_P2P', 'ok', ['PRE_COPY_P2P'], 'feature'],
      ['PRE_COPY_P2P', 'STOP_COPY', 'ok', ['STOP_COPY'], 'feature'],
      ['STOP_COPY', 'STOP', 'ok', ['STOP'], 'feature'],
    ]);
    expect(d.stateWrites[0]?.dataFd).toBe(101);
  });

  it('has one completed save session with bytes, read batches, pre-copy info and not-running time', () => {
    expect(d.sessions).toHaveLength(1);
    const s = d.sessions[0]!;
    expect([s.kind, s.outcome, s.states, s.bytes, s.iterations, s.dataFd]).toEqual(['save', 'completed', ['PRE_COPY', 'PRE_COPY_P2P', 'STOP_COPY', 'STOP'], 0x7000, 4, 101]);
    expect(s.precopy?.map((p) => [p.initialBytes, p.dirtyBytes])).toEqual([
      [0x4000n, 0n],
      [0x2000n, 0x100n],
    ]);
    expect(s.pending.map((p) => p.bytes)).toEqual([0x4000n, 0x2100n]);
    // STOP_COPY from line 11 to the STOP at line 15: 4 µs not running.
    expect(s.notRunningNs).toBe(4000n);
    expect(ended).toEqual([s]);
  });

  it('cites the record its reason rests on: the read() that returned 0 in STOP_COPY', () => {
    const s = d.sessions[0]!;
    expect(s.reason).toContain('read() returned 0');
    const eof = t.ops.find((o) => o.op === 'v2-data' && !o.write && o.result.ok === true && o.result.ret === 0);
    expect(eof).toBeDefined();
    expect(s.reasonSrc).toEqual(eof!.src);
  });
});

describe('v2 tracker: sessions', () => {
  it('a resume runs RESUMING … STOP/RUNNING and completes when the driver accepts the data', () => {
    const t = v2Trace();
    cleanResume(t);
    const d = track(t.ops).devices[0]!;
    const s = d.sessions[0]!;
    expect([s.kind, s.outcome, s.states, s.bytes, s.iterations]).toEqual(['resume', 'completed', ['RESUMING', 'STOP', 'RUNNING_P2P'], 0x7000, 4]);
    // From RUNNING after open, with P2P: RUNNING › RUNNING_P2P › STOP › RESUMING (spec §5.5 table d).
    expect(d.stateWrites.map((w) => w.path)).toEqual([['RUNNING_P2P', 'STOP', 'RESUMING'], ['STOP', 'RUNNING_P2P'], ['RUNNING']]);
  });

  it('a stop-copy save without pre-copy walks RUNNING › STOP › STOP_COPY with flags STOP_COPY only', () => {
    const t = v2Trace();
    const d = t.device('dev');
    d.open();
    d.flags(F.STOP_COPY);
    d.set(S.STOP_COPY, { session: 1 });
    d.read(1, 0x1000);
    d.read(1, 0);
    d.set(S.STOP);
    const tl = track(t.ops).devices[0]!;
    expect(tl.stateWrites[0]?.path).toEqual(['STOP', 'STOP_COPY']);
    expect(tl.sessions.map((s) => [s.states, s.outcome])).toEqual([[['STOP_COPY', 'STOP'], 'completed']]);
  });

  it('a save that leaves STOP_COPY before the end of the stream failed; one whose reads were not traced is unknown', () => {
    for (const [reads, outcome] of [
      [true, 'failed'],
      [false, 'unknown'],
    ] as const) {
      const t = v2Trace();
      const d = t.device('dev');
      d.open();
      d.flags(F.STOP_COPY);
      d.set(S.STOP_COPY, { session: 1 });
      if (reads) d.read(1, 0x1000);
      d.set(S.STOP);
      expect(track(t.ops).devices[0]!.sessions[0]?.outcome).toBe(outcome);
    }
  });

  it('a pre-copy taken back to RUNNING is cancelled; a reset fails the session', () => {
    const t = v2Trace();
    const d = t.device('dev');
    d.open();
    d.flags(F.ALL);
    d.set(S.PRE_COPY, { session: 1 });
    d.set(S.RUNNING);
    d.set(S.RESUMING, { session: 2 });
    d.reset();
    const tl = track(t.ops).devices[0]!;
    expect(tl.sessions.map((s) => [s.kind, s.outcome])).toEqual([
      ['save', 'cancelled'],
      ['resume', 'failed'],
    ]);
    expect(tl.resets).toBe(1);
    expect(tl.stateWrites[2]?.path).toEqual(['RUNNING_P2P', 'STOP', 'RESUMING']);
  });

  it('the trace ending mid-session leaves it incomplete', () => {
    const t = v2Trace();
    const d = t.device('dev');
    d.open();
    d.set(S.STOP_COPY, { session: 1 });
    expect(track(t.ops).devices[0]!.sessions[0]?.outcome).toBe('incomplete');
  });
});

describe('v2 tracker: failures, flags, ERROR', () => {
  it('a failed SET makes the state unknown until a GET shows it; the GET is the read-back', () => {
    const t = v2Trace();
    const d = t.device('dev');
    d.open();
    d.flags(F.STOP_COPY);
    d.set(S.STOP_COPY, { res: { errno: 5 } });
    d.get(S.ERROR);
    d.reset();
    const tl = track(t.ops).devices[0]!;
    expect(tl.timeline.map((i) => i.state)).toEqual(['RUNNING', 'UNKNOWN', 'ERROR', 'RUNNING']);
    expect(tl.stateWrites[0]).toMatchObject({ result: 'failed', errno: 5, readBackRaw: 0 });
  });

  it('a request the core must reject (learned flags) leaves the state as it was', () => {
    const t = v2Trace();
    const d = t.device('dev');
    d.open();
    d.flags(F.STOP_COPY);
    d.set(S.RUNNING_P2P, { res: { errno: 22 } });
    expect(track(t.ops).devices[0]!.timeline.map((i) => i.state)).toEqual(['RUNNING']);
  });

  it('infers the flags from the states seen when MIGRATION GET is not traced, and says so', () => {
    const t = v2Trace();
    const d = t.device('dev');
    d.open();
    d.set(S.RUNNING_P2P);
    const tl = track(t.ops).devices[0]!;
    expect([tl.v2Flags, tl.v2FlagsSource]).toEqual([F.STOP_COPY | F.P2P, 'inferred']);
    expect(tl.stateWrites[0]?.pathFlags).toBe('inferred');
  });
});

describe('v2 tracker: QEMU events fill a trace without argument words', () => {
  it('QEMU 8.0: set_state after an unseen FEATURE call is that SET', () => {
    const t = v2Trace();
    const d = t.device('dev');
    d.open();
    d.unseen();
    d.qemu('vfio_migration_set_state', { state: 'STOP_COPY' });
    d.unseen();
    d.qemu('vfio_migration_set_state', { state: 'STOP' });
    const tl = track(t.ops).devices[0]!;
    expect(tl.timeline.map((i) => [i.state, i.certainty])).toEqual([
      ['RUNNING', 'inferred'],
      ['STOP_COPY', 'inferred'],
      ['STOP', 'inferred'],
    ]);
    expect(tl.stateWrites.map((w) => [w.to, w.valueSource, w.path])).toEqual([
      ['STOP_COPY', 'qemu', ['STOP', 'STOP_COPY']],
      ['STOP', 'qemu', ['STOP']],
    ]);
    expect(tl.sessions.map((s) => [s.kind, s.outcome])).toEqual([['save', 'unknown']]);
  });

  it('QEMU ~9.x: the announced request names the SET, set_device_state confirms; a failure uses the recover state', () => {
    const t = v2Trace();
    const d = t.device('dev');
    d.open();
    d.qemu('vfio_migration_set_state', { newState: 'PRE_COPY', recoverState: 'RUNNING' });
    d.unseen({ errno: 5 });
    d.unseen();
    d.qemu('vfio_migration_set_device_state', { state: 'RUNNING' });
    const tl = track(t.ops).devices[0]!;
    expect(tl.stateWrites.map((w) => [w.to, w.result])).toEqual([
      ['PRE_COPY', 'failed'],
      ['RUNNING', 'ok'],
    ]);
    expect(tl.timeline.map((i) => i.state)).toEqual(['RUNNING', 'UNKNOWN', 'RUNNING']);
  });

  it('an unexplained successful FEATURE call makes the state unknown (never guessed)', () => {
    const t = v2Trace();
    const d = t.device('dev');
    d.open();
    d.set(S.STOP);
    d.unseen();
    d.get(undefined, { res: { errno: 25 } });
    expect(track(t.ops).devices[0]!.timeline.map((i) => i.state)).toEqual(['RUNNING', 'STOP', 'UNKNOWN']);
  });
});

describe('tracker dispatch: v1 and v2 devices in one process', () => {
  it('tracks each device with its own protocol', () => {
    const ops: ProtocolOp[] = [];
    const t1 = trace('mixed.trace', ops);
    const v1 = t1.device('v1dev', { fd: 5 });
    v1.open();
    v1.region();
    const t2 = v2Trace('mixed.trace', ops);
    const v2 = t2.device('v2dev', { fd: 6 });
    v2.open();
    v2.flags(F.STOP_COPY);
    v1.set(1, 2);
    v2.set(S.STOP_COPY, { session: 1 });
    const devs = track(ops).devices;
    const byId = new Map(devs.map((d) => [d.id, d]));
    expect(byId.get('v1dev')?.protocol).toBe('v1');
    expect(byId.get('v1dev')?.timeline.map((i) => i.state)).toEqual(['RUNNING', 'SAVING']);
    expect(byId.get('v2dev')?.protocol).toBe('v2');
    expect(byId.get('v2dev')?.timeline.map((i) => [i.state, i.raw])).toEqual([
      ['RUNNING', 2],
      ['STOP_COPY', 3],
    ]);
  });
});
