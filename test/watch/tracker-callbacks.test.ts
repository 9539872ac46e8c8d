// What watch mode takes from the tracker live: onPending (the pending-bytes gauge), onProtocol
// (the state gauge's protocol label) and the device snapshot handed to onSessionEnd (the
// session's state spans and state-duration histogram).

import { describe, expect, it } from 'vitest';
import { createDecoder } from '../../src/decode/decoder.js';
import { createTracker } from '../../src/track/tracker.js';
import type { DeviceTimeline, MigrationSession } from '../../src/track/types.js';
import type { ProtocolOp } from '../../src/decode/ops.js';
import type { TraceRecord } from '../../src/record/types.js';
import { recordBuilder, REGION } from '../helpers/records.js';
import { cleanResume, cleanSave, v2Trace } from '../check/v2-ops-builder.js';

interface Seen {
  readonly pending: string[];
  readonly protocols: string[];
  readonly states: string[];
  readonly ended: { device: DeviceTimeline; session: MigrationSession }[];
}

function watchLike(): { seen: Seen; tracker: ReturnType<typeof createTracker> } {
  const seen: Seen = { pending: [], protocols: [], states: [], ended: [] };
  const tracker = createTracker({
    onPending: (id, protocol, bytes, ts) => seen.pending.push(`${id} ${protocol} ${bytes} ${ts === undefined ? 'no-ts' : 'ts'}`),
    onProtocol: (id, protocol) => seen.protocols.push(`${id} ${protocol}`),
    onStateChange: (id, raw, _state, protocol) => seen.states.push(`${id} ${protocol} ${String(raw)}`),
    onSessionEnd: (device, session) => seen.ended.push({ device, session }),
  });
  return { seen, tracker };
}

function v1(records: readonly TraceRecord[]): Seen {
  const { seen, tracker } = watchLike();
  const d = createDecoder({ onOp: (o) => tracker.op(o) });
  for (const r of records) d.record(r);
  d.end();
  tracker.end();
  return seen;
}

function v2(ops: readonly ProtocolOp[]): Seen {
  const { seen, tracker } = watchLike();
  for (const o of ops) tracker.op(o);
  tracker.end();
  return seen;
}

describe('tracker callbacks for watch mode: protocol v1', () => {
  const b = recordBuilder();
  const fd = 7;
  const seen = v1([
    b.open(fd, '0000:65:00.0'),
    b.regionInfo(fd),
    ...b.rmw(fd, 1, 3),
    ...b.saveIteration(fd, 0x3000n, 0x2000),
    ...b.rmw(fd, 3, 2),
    ...b.saveIteration(fd, 0x1000n, 0x1000),
    b.pread(fd, REGION + 8n, 8, 0n),
    ...b.rmw(fd, 2, 0),
  ]);

  it('reports every pending_bytes read of the save, with its time', () => {
    expect(seen.pending).toEqual(['0000:65:00.0 v1 12288 ts', '0000:65:00.0 v1 4096 ts', '0000:65:00.0 v1 0 ts']);
  });

  it('says once that the device is v1, after RUNNING was reported with the protocol still unknown', () => {
    expect(seen.protocols).toEqual(['0000:65:00.0 v1']);
    expect(seen.states[0]).toBe('0000:65:00.0 unknown 1');
    expect(seen.states.slice(1)).toEqual(['0000:65:00.0 v1 3', '0000:65:00.0 v1 2', '0000:65:00.0 v1 0']);
  });

  it('hands the session over with every state interval it went through, and the state it ended in (zero-length at its end)', () => {
    expect(seen.ended).toHaveLength(1);
    const e = seen.ended[0];
    expect(e?.device.timeline.map((i) => i.state)).toEqual(['PRE_COPY', 'SAVING', 'STOP']);
    // the state entered at the end, as `analyze --export` has it: starts (and here ends) at the session's end
    expect(e?.device.timeline.at(-1)?.startNs).toBe(e?.session.endNs);
    expect(e?.device.timeline.at(-1)?.endNs).toBe(e?.session.endNs);
  });

  it('says nothing of pending bytes or protocol for a device that shows neither', () => {
    const quiet = v1([b.open(9, '0000:99:00.0')]);
    expect(quiet.pending).toEqual([]);
    expect(quiet.protocols).toEqual([]);
  });
});

describe('tracker callbacks for watch mode: protocol v2', () => {
  const t = v2Trace();
  cleanSave(t);
  cleanResume(t);
  const seen = v2(t.ops);

  it('reports each PRECOPY_INFO reply as initial + dirty bytes', () => {
    expect(seen.pending).toEqual(['src0 v2 16384 ts', 'src0 v2 8448 ts']);
  });

  it('says once per device that it is v2', () => {
    expect(seen.protocols).toEqual(['src0 v2', 'dst0 v2']);
  });

  it('hands each session over with the interval it ends from (STOP_COPY, RESUMING), closed at its end, and the state it ends in', () => {
    const [save, resume] = seen.ended;
    // Intervals from the one the session started from (ending at its start, outside it).
    const inside = (e: (typeof seen.ended)[number] | undefined): string[] =>
      (e?.device.timeline ?? []).filter((i) => i.startNs !== undefined && e?.session.startNs !== undefined && i.startNs >= e.session.startNs).map((i) => i.state);
    expect(inside(save)).toEqual(['PRE_COPY', 'PRE_COPY_P2P', 'STOP_COPY', 'STOP']);
    expect(save?.device.timeline.at(-2)?.endNs).toBe(save?.session.endNs);
    expect(save?.device.timeline.at(-1)?.startNs).toBe(save?.session.endNs);
    // the resume's SET asks for RUNNING_P2P through STOP: the timeline has one interval per SET, the state it reached
    expect(inside(resume)).toEqual(['RESUMING', 'RUNNING_P2P']);
    expect(resume?.device.timeline.at(-2)?.endNs).toBe(resume?.session.endNs);
    expect(resume?.device.timeline.at(-1)?.startNs).toBe(resume?.session.endNs);
  });
});

describe('tracker callbacks for watch mode: a process that is gone (host mode)', () => {
  const exit = (pid: number, line: number): TraceRecord => ({ kind: 'process-exit', pid, why: 'exit', tsNs: 5_000_000_000n, tid: pid, comm: undefined, cpu: undefined, src: { file: 't.trace', line } });
  const close = (b: ReturnType<typeof recordBuilder>, fd: number): TraceRecord => {
    const { cmd: _cmd, ...rest } = b.ioctl(fd, 0);
    return { ...rest, kind: 'fd-close', fd, ret: 0 };
  };

  function run(records: readonly TraceRecord[]): string[] {
    const events: string[] = [];
    const tracker = createTracker({
      onSessionEnd: (device, s) => events.push(`ended ${device.id} ${s.outcome}`),
      onProcessGone: (pid, ids) => events.push(`gone ${pid}: ${ids.join(' ')}`),
    });
    const d = createDecoder({ onOp: (o) => tracker.op(o) });
    for (const r of records) d.record(r);
    d.end();
    tracker.end();
    return events;
  }

  it('names every device the process used, open (closed by its exit, after its session ended) or closed before, and no other process’s', () => {
    const a = recordBuilder('t.trace', 100);
    const c = recordBuilder('t.trace', 200);
    const events = run([
      a.open(7, '0000:65:00.0'),
      a.regionInfo(7),
      ...a.rmw(7, 1, 3), // pre-copy, still open at the exit
      a.open(8, '0000:67:00.0'),
      a.regionInfo(8),
      close(a, 8), // closed while the process lived on
      c.open(7, '0000:66:00.0'),
      c.regionInfo(7),
      ...c.rmw(7, 1, 3),
      exit(100, 90),
    ]);
    // pid 200's save goes on through pid 100's exit: it ends only with the trace.
    expect(events).toEqual(['ended 0000:65:00.0 incomplete', 'gone 100: 0000:65:00.0 0000:67:00.0', 'ended 0000:66:00.0 incomplete']);
  });

  it('leaves out a device another process took up after this one closed it (the same name is that process’s now)', () => {
    const a = recordBuilder('t.trace', 100);
    const c = recordBuilder('t.trace', 200);
    const events = run([a.open(7, '0000:65:00.0'), a.regionInfo(7), a.open(8, '0000:68:00.0'), a.regionInfo(8), close(a, 8), c.open(9, '0000:68:00.0'), c.regionInfo(9), exit(100, 90), exit(200, 91)]);
    expect(events).toEqual(['gone 100: 0000:65:00.0', 'gone 200: 0000:68:00.0']);
  });

  it('says nothing while no process exits', () => {
    const a = recordBuilder('t.trace', 100);
    expect(run([a.open(7, '0000:65:00.0'), a.regionInfo(7), close(a, 7)])).toEqual([]);
  });
});
