// The tracker's process-evicted fact (track/facts.ts ProcessEvicted, host mode): after a
// process-exit op, with evictGoneProcesses, the tracker forgets the gone process's closed
// devices and tells its observer once, after every fact of those devices; without the
// option (analyze) it keeps them all.

import { describe, expect, it } from 'vitest';
import type { ProtocolOp } from '../../src/decode/ops.js';
import type { DeviceContext } from '../../src/track/device-view.js';
import type { ProcessEvicted, TrackerFact } from '../../src/track/facts.js';
import { createTracker } from '../../src/track/tracker.js';
import { trace, type Trace } from '../check/ops-builder.js';

function exit(t: Trace, pid: number): void {
  const line = t.ops.length + 1000;
  t.ops.push({ op: 'process-exit', pid, why: 'exit', tsNs: BigInt(line) * 1000n, src: { file: t.file, line } });
}

/** A device's life: open, a save that ends in STOP, close. */
function saveAndClose(d: ReturnType<Trace['device']>): void {
  d.open();
  d.region();
  d.set(1, 3);
  d.pending(0n);
  d.set(3, 2);
  d.set(2, 0);
  d.close();
}

function run(ops: readonly ProtocolOp[], evict: boolean) {
  const events: string[] = [];
  const evicted: ProcessEvicted[] = [];
  const gone: string[] = [];
  const tracker = createTracker({
    evictGoneProcesses: evict,
    onProcessGone: (pid, ids) => {
      gone.push(`${pid}: ${ids.join(',')}`);
      events.push(`gone ${pid}`);
    },
    observer: {
      op: () => undefined,
      fact: (f: TrackerFact, v: DeviceContext) => events.push(`${f.kind} ${v.device.id}`),
      processEvicted: (f) => {
        evicted.push(f);
        events.push(`evicted ${f.pid}`);
      },
    },
  });
  const live: ReturnType<typeof tracker.liveEntries>[] = [];
  for (const o of ops) {
    tracker.op(o);
    live.push(tracker.liveEntries());
  }
  return { tracker, events, evicted, gone, live };
}

describe('tracker: a gone process is evicted (evictGoneProcesses)', () => {
  const t = trace();
  const a = t.device('0000:01:00.0', { pid: 10, fd: 5 });
  const b = t.device('0000:01:00.1', { pid: 10, fd: 6 });
  const other = t.device('0000:01:00.1', { pid: 20, fd: 7 });
  saveAndClose(a);
  b.open();
  other.open(); // pid 20 opens a device of the name pid 10 has too (its own one: ...@pid20)
  b.region();
  b.close();
  exit(t, 10);
  const afterFirstExit = t.ops.length;
  other.close();
  exit(t, 20);

  it('tells the observer once per process, after its devices were finished and onProcessGone ran', () => {
    const r = run(t.ops, true);
    expect(r.evicted.map((f) => f.pid)).toEqual([10, 20]);
    expect(r.evicted[0]?.devices.map((d) => d.device.id).sort()).toEqual(['0000:01:00.0', '0000:01:00.1']);
    const i = r.events.indexOf('evicted 10');
    expect(r.events.slice(0, i)).toContain('device-finished 0000:01:00.0');
    expect(r.events.slice(0, i)).toContain('session-end 0000:01:00.0');
    expect(r.events.slice(0, i)).toContain('device-finished 0000:01:00.1');
    expect(r.events[i - 1]).toBe('gone 10');
  });

  it('says which of its names another live process still has open (a pairing may still come), and none once that one is gone too', () => {
    const r = run(t.ops, true);
    expect([...(r.evicted[0]?.namesInUse ?? [])]).toEqual(['0000:01:00.1']);
    expect([...(r.evicted[1]?.namesInUse ?? [])]).toEqual([]);
  });

  it('holds only the live processes’ devices after each exit, and counts the evicted ones', () => {
    const r = run(t.ops, true);
    expect(r.live[afterFirstExit - 1]).toEqual({ devices: 1, names: 1 });
    expect(r.live.at(-1)).toEqual({ devices: 0, names: 0 });
    expect(r.tracker.evictedDevices()).toBe(3);
    r.tracker.end();
    expect(r.tracker.devices()).toEqual([]);
  });

  it('keeps every device without the option (analyze lists them all)', () => {
    const r = run(t.ops, false);
    expect(r.evicted).toEqual([]);
    expect(r.live.at(-1)).toEqual({ devices: 3, names: 2 });
    expect(r.tracker.evictedDevices()).toBe(0);
    r.tracker.end();
    expect(r.tracker.devices().map((d) => d.id).sort()).toEqual(['0000:01:00.0', '0000:01:00.1', '0000:01:00.1@pid20']);
  });

  it('keeps a device of the process whose close was not seen (its sessions may still be open), and evicts nothing when none is closed', () => {
    const u = trace();
    const d = u.device('0000:02:00.0', { pid: 30 });
    d.open();
    d.region();
    d.set(1, 3);
    exit(u, 30);
    const r = run(u.ops, true);
    expect(r.evicted).toEqual([]);
    expect(r.live.at(-1)).toEqual({ devices: 1, names: 1 });
    r.tracker.end();
    expect(r.tracker.devices().map((x) => x.id)).toEqual(['0000:02:00.0']);
  });

  it('starts a fresh device when an op comes later with the DeviceRef of an evicted one (a reused pid)', () => {
    const u = trace();
    const d = u.device('0000:03:00.0', { pid: 40 });
    saveAndClose(d);
    exit(u, 40);
    d.open();
    d.close();
    const r = run(u.ops, true);
    expect(r.evicted.map((f) => f.pid)).toEqual([40]);
    expect(r.live.at(-1)).toEqual({ devices: 1, names: 1 });
    r.tracker.end();
    const [dev] = r.tracker.devices();
    // Only the second life's open and close: the first life's save went with its process.
    expect(dev?.sessions).toEqual([]);
  });
});
