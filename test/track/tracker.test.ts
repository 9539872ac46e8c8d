import { describe, expect, it } from 'vitest';
import { createDecoder } from '../../src/decode/decoder.js';
import { createTracker } from '../../src/track/tracker.js';
import type { DeviceTimeline, MigrationSession } from '../../src/track/types.js';
import type { TraceRecord } from '../../src/record/types.js';
import { recordBuilder, REGION } from '../helpers/records.js';
import { track } from '../helpers/track.js';

function liveMigration(b: ReturnType<typeof recordBuilder>, fd = 7): TraceRecord[] {
  return [
    b.open(fd, '0000:65:00.0'),
    b.regionInfo(fd),
    ...b.rmw(fd, 1, 3),
    ...b.saveIteration(fd, 0x3000n, 0x2000),
    ...b.saveIteration(fd, 0x1000n, 0x1000),
    ...b.rmw(fd, 3, 2),
    ...b.saveIteration(fd, 0x1000n, 0x1000),
    b.pread(fd, REGION + 8n, 8, 0n),
    ...b.rmw(fd, 2, 0),
  ];
}

describe('tracker: v1 timeline and sessions', () => {
  it('rebuilds a clean live migration: RUNNING → PRE_COPY → SAVING → STOP, one completed save session', () => {
    const b = recordBuilder();
    const { devices, ended } = track(liveMigration(b));
    expect(devices).toHaveLength(1);
    const d = devices[0]!;
    expect(d.protocol).toBe('v1');
    expect(d.timeline.map((i) => `${i.state}:${i.raw}:${i.certainty}`)).toEqual([
      'RUNNING:1:known', // inferred at open, confirmed by the first read
      'PRE_COPY:3:known',
      'SAVING:2:known',
      'STOP:0:known',
    ]);
    expect(d.timeline[3]!.openAtEnd).toBe(true);
    // Intervals tile time: each ends where the next starts.
    for (let i = 1; i < d.timeline.length; i++) expect(d.timeline[i]!.startNs).toBe(d.timeline[i - 1]!.endNs);
    expect(d.sessions).toHaveLength(1);
    const s = d.sessions[0]!;
    expect(s.kind).toBe('save');
    expect(s.outcome).toBe('completed');
    expect(s.states).toEqual(['PRE_COPY', 'SAVING', 'STOP']);
    expect(s.iterations).toBe(3);
    expect(s.bytes).toBe(0x2000 + 0x1000 + 0x1000);
    expect(s.pending.map((p) => p.bytes)).toEqual([0x3000n, 0x1000n, 0x1000n, 0n]);
    // Not running = the stop-and-copy interval exactly.
    const saving = d.timeline[2]!;
    expect(s.notRunningNs).toBe(saving.endNs! - saving.startNs!);
    expect(d.timeline[2]!.bytes).toBe(0x1000);
    expect(ended).toEqual([s]);
  });

  it('marks a save that left stop-and-copy with data pending as failed', () => {
    const b = recordBuilder();
    const fd = 7;
    const { devices } = track([b.open(fd, 'd'), b.regionInfo(fd), ...b.rmw(fd, 1, 2), ...b.saveIteration(fd, 0x2000n, 0x1000), b.pread(fd, REGION + 8n, 8, 0x1000n), ...b.rmw(fd, 2, 0)]);
    expect(devices[0]!.sessions[0]!.outcome).toBe('failed');
  });

  it('records a failed write with its errno and read-back, and the cancelled-by-failure session', () => {
    const b = recordBuilder();
    const fd = 7;
    const { devices } = track([
      b.open(fd, 'd'),
      b.regionInfo(fd),
      ...b.rmw(fd, 1, 3),
      b.pread(fd, REGION, 4, 3n),
      b.pwrite(fd, REGION, 4, 2n, -22),
      b.pread(fd, REGION, 4, 3n),
      ...b.rmw(fd, 3, 1),
    ]);
    const d = devices[0]!;
    const failed = d.stateWrites.filter((w) => w.result === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ from: 'PRE_COPY', to: 'SAVING', errno: 22, readBackRaw: 3 });
    expect(d.sessions.map((s) => s.outcome)).toEqual(['failed']);
    // Between the refused write and its read-back the state is unknown (spec §2.3 rule 3:
    // previous state or 110b); the read-back shows the device kept PRE_COPY.
    expect(d.timeline.map((i) => i.state)).toEqual(['RUNNING', 'PRE_COPY', 'UNKNOWN', 'PRE_COPY', 'RUNNING']);
    // The session did not visit a new state because of the refusal.
    expect(d.sessions[0]!.states).toEqual(['PRE_COPY', 'RUNNING']);
  });

  it('a refused write whose read-back value is not seen leaves the state UNKNOWN, never the previous one assumed', () => {
    const b = recordBuilder();
    const fd = 7;
    const { devices } = track([
      b.open(fd, 'd'),
      b.regionInfo(fd),
      ...b.rmw(fd, 1, 3),
      b.pwrite(fd, REGION, 4, 2n, -5),
      b.pread(fd, REGION, 4, undefined),
    ]);
    const d = devices[0]!;
    expect(d.timeline.map((i) => `${i.state}:${i.certainty}`)).toEqual(['RUNNING:known', 'PRE_COPY:known', 'UNKNOWN:unknown']);
    expect(d.sessions[0]!.outcome).toBe('failed');
  });

  it('a refused write in 110b leaves the device in 110b (only a reset leaves it)', () => {
    const b = recordBuilder();
    const fd = 7;
    const { devices } = track([
      b.open(fd, 'd'),
      b.regionInfo(fd),
      ...b.rmw(fd, 1, 3),
      b.pwrite(fd, REGION, 4, 2n, -5),
      b.pread(fd, REGION, 4, 6n),
      b.pwrite(fd, REGION, 4, 1n, -22),
    ]);
    expect(devices[0]!.timeline.map((i) => `${i.state}:${i.certainty}`)).toEqual(['RUNNING:known', 'PRE_COPY:known', 'UNKNOWN:unknown', 'ERROR:known']);
  });

  it('an EAGAIN refusal is transient: the state stays known', () => {
    const b = recordBuilder();
    const fd = 7;
    const { devices } = track([b.open(fd, 'd'), b.regionInfo(fd), ...b.rmw(fd, 1, 3), b.pwrite(fd, REGION, 4, 2n, -11)]);
    expect(devices[0]!.timeline.map((i) => `${i.state}:${i.certainty}`)).toEqual(['RUNNING:known', 'PRE_COPY:known']);
  });

  it('follows ERROR and reset back to RUNNING (inferred until read)', () => {
    const b = recordBuilder();
    const fd = 7;
    const { devices } = track([
      b.open(fd, 'd'),
      b.regionInfo(fd),
      ...b.rmw(fd, 1, 3),
      b.pread(fd, REGION, 4, 3n),
      b.pwrite(fd, REGION, 4, 2n, -5),
      b.pread(fd, REGION, 4, 6n),
      b.ioctl(fd, 0x3b6f, 0),
    ]);
    const d = devices[0]!;
    expect(d.timeline.map((i) => `${i.state}:${i.certainty}`)).toEqual(['RUNNING:known', 'PRE_COPY:known', 'UNKNOWN:unknown', 'ERROR:known', 'RUNNING:inferred']);
    expect(d.resets).toBe(1);
    expect(d.sessions[0]!.outcome).toBe('failed');
  });

  it('a resume session: RESUMING → RUNNING, chunks counted by data_size writes', () => {
    const b = recordBuilder();
    const fd = 7;
    const { devices } = track([
      b.open(fd, 'd'),
      b.regionInfo(fd),
      ...b.rmw(fd, 1, 4),
      b.pread(fd, REGION + 16n, 8, 0x1000n),
      b.pwrite(fd, REGION + 0x1000n, 0x800, 0n),
      b.pwrite(fd, REGION + 24n, 8, 0x800n),
      ...b.rmw(fd, 4, 1),
    ]);
    const s = devices[0]!.sessions[0]!;
    expect(s).toMatchObject({ kind: 'resume', outcome: 'completed', iterations: 1, bytes: 0x800, states: ['RESUMING', 'RUNNING'] });
  });

  it('lost events make the state unknown until it is seen again, and an unseen write value stays unknown', () => {
    const b = recordBuilder();
    const fd = 7;
    const { devices } = track([b.open(fd, 'd'), b.regionInfo(fd), b.pread(fd, REGION, 4, 1n), b.lost(40), b.pread(fd, REGION, 4, 3n), b.pwrite(fd, REGION, 4, undefined, 'no-exit')]);
    expect(devices[0]!.timeline.map((i) => `${i.state}:${i.certainty}`)).toEqual(['RUNNING:known', 'UNKNOWN:unknown', 'PRE_COPY:known', 'UNKNOWN:unknown']);
  });

  it('a trace that ends mid-save leaves the session incomplete', () => {
    const b = recordBuilder();
    const fd = 7;
    const { devices } = track([b.open(fd, 'd'), b.regionInfo(fd), ...b.rmw(fd, 1, 3), ...b.saveIteration(fd, 0x1000n, 0x1000)]);
    expect(devices[0]!.sessions[0]!.outcome).toBe('incomplete');
  });
});

describe('tracker: per-device caps are counted, not silent', () => {
  it('keeps at most maxIntervalsPerDevice intervals and state writes and counts the rest', () => {
    const b = recordBuilder();
    const fd = 7;
    const recs: TraceRecord[] = [b.open(fd, 'd'), b.regionInfo(fd)];
    // 10 state changes: 1→3→1→3… (each a read-modify-write).
    for (let i = 0; i < 10; i++) recs.push(...b.rmw(fd, i % 2 === 0 ? 1 : 3, i % 2 === 0 ? 3 : 1));
    const t = createTracker({ maxIntervalsPerDevice: 4 });
    const d = createDecoder({ onOp: (o) => t.op(o) });
    for (const r of recs) d.record(r);
    d.end();
    t.end();
    const dev = t.devices()[0]!;
    expect(dev.timeline).toHaveLength(4);
    expect(dev.intervalsDropped).toBe(11 - 4);
    expect(dev.stateWrites).toHaveLength(4);
    expect(dev.stateWritesDropped).toBe(10 - 4);
    // Within the cap nothing is reported as dropped.
    const t2 = createTracker({ maxIntervalsPerDevice: 100 });
    const d2 = createDecoder({ onOp: (o) => t2.op(o) });
    for (const r of recs) d2.record(r);
    d2.end();
    t2.end();
    expect(t2.devices()[0]!.stateWritesDropped).toBeUndefined();
    expect(t2.devices()[0]!.intervalsDropped).toBe(0);
  });

  it('keeps the latest maxSessionsPerDevice finished sessions (watch), hands every one out, and counts the rest', () => {
    const b = recordBuilder();
    const fd = 7;
    const recs: TraceRecord[] = [b.open(fd, 'd'), b.regionInfo(fd)];
    // 7 save sessions, each RUNNING → PRE_COPY → RUNNING (cancelled), with a different iteration count.
    for (let i = 0; i < 7; i++) {
      recs.push(...b.rmw(fd, 1, 3));
      for (let k = 0; k <= i; k++) recs.push(...b.saveIteration(fd, 0x1000n, 0x1000));
      recs.push(...b.rmw(fd, 3, 1));
    }
    const run = (max: number | undefined): { dev: DeviceTimeline; ended: MigrationSession[] } => {
      const ended: MigrationSession[] = [];
      const t = createTracker({ onSessionEnd: (_d, s) => ended.push(s), ...(max !== undefined ? { maxSessionsPerDevice: max } : {}) });
      const d = createDecoder({ onOp: (o) => t.op(o) });
      for (const r of recs) d.record(r);
      d.end();
      t.end();
      return { dev: t.devices()[0]!, ended };
    };
    const capped = run(3);
    expect(capped.ended).toHaveLength(7);
    expect(capped.dev.sessions.map((s) => s.iterations)).toEqual([5, 6, 7]);
    expect(capped.dev.sessionsDropped).toBe(4);
    const all = run(undefined);
    expect(all.dev.sessions).toHaveLength(7);
    expect(all.dev.sessionsDropped).toBeUndefined();
  });
});
