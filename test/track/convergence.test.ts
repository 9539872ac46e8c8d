// The convergence account of a save (track/convergence.ts) and each device's share of the
// downtime (track/downtime-shares.ts), from op sequences through the tracker.

import { describe, expect, it } from 'vitest';
import { createTracker } from '../../src/track/tracker.js';
import { withDowntimeShares } from '../../src/track/downtime-shares.js';
import type { ProtocolOp } from '../../src/decode/ops.js';
import type { DeviceTimeline } from '../../src/track/types.js';
import { F, S, v2Trace, type V2Trace } from '../check/v2-ops-builder.js';

function devices(ops: readonly ProtocolOp[]): DeviceTimeline[] {
  const t = createTracker();
  for (const o of ops) t.op(o);
  t.end();
  return t.devices();
}

/** A v2 save whose PRE_COPY reads `moved` bytes between PRECOPY_INFO replies `remaining`, and whose STOP_COPY lasts `stopUs`. */
function save(t: V2Trace, id: string, remaining: readonly bigint[], moved: number, stopUs: number): void {
  const d = t.device(id, { fd: id.length });
  d.open();
  d.flags(F.ALL);
  d.set(S.PRE_COPY, { session: 1 });
  for (const r of remaining) {
    d.precopy(1, r, 0n);
    d.read(1, moved);
  }
  d.set(S.STOP_COPY);
  d.read(1, 0x1000);
  t.wait(stopUs);
  d.read(1, 0);
  d.set(S.STOP);
  d.close();
}

describe('convergence account', () => {
  it('derives the dirty rate from what moved against what the curve lost', () => {
    const t = v2Trace();
    // 0x3000 moved per iteration while the remainder only falls by 0x1000: 0x2000 dirtied per iteration.
    save(t, 'a', [0x8000n, 0x7000n, 0x6000n], 0x3000, 0);
    const c = devices(t.ops)[0]?.sessions[0]?.convergence;
    expect(c?.verdict).toBe('converging');
    expect(c?.iterations.map((p) => p.remainingBytes)).toEqual([0x8000n, 0x7000n, 0x6000n]);
    const shrink = c?.shrinkRateBytesPerS ?? 0;
    const dirty = c?.dirtyRateBytesPerS ?? 0;
    expect(shrink).toBeGreaterThan(0);
    expect(dirty / shrink).toBeCloseTo(2, 6);
  });

  it('says unknown with one sample, and gives no dirty rate when no data moved', () => {
    const t = v2Trace();
    save(t, 'a', [0x8000n], 0x1000, 0);
    expect(devices(t.ops)[0]?.sessions[0]?.convergence?.verdict).toBe('unknown');
    const t2 = v2Trace();
    const d = t2.device('b');
    d.open();
    d.set(S.PRE_COPY, { session: 1 });
    d.precopy(1, 0x8000n, 0n);
    d.precopy(1, 0x4000n, 0n);
    d.set(S.STOP_COPY);
    d.set(S.STOP);
    d.close();
    const c = devices(t2.ops)[0]?.sessions[0]?.convergence;
    expect(c?.shrinkRateBytesPerS).toBeGreaterThan(0);
    expect(c?.dirtyRateBytesPerS).toBeUndefined();
    expect(c?.stopCopyActualBytes).toBeUndefined();
    expect(c?.throughputBytesPerS).toBeUndefined();
    expect(c?.predictedStopCopyNs).toBeUndefined();
  });

  it("QEMU's size events make the curve when the syscall view has none", () => {
    const t = v2Trace();
    const d = t.device('c');
    d.open();
    d.set(S.PRE_COPY, { session: 1 });
    for (const r of [0x6000n, 0x6000n, 0x6000n, 0x6000n]) d.qemu('vfio_save_iterate', { precopyInitialSize: r, precopyDirtySize: 0n });
    d.set(S.STOP_COPY);
    d.set(S.STOP);
    d.close();
    const c = devices(t.ops)[0]?.sessions[0]?.convergence;
    expect(c?.curveFrom).toBe('qemu');
    expect(c?.verdict).toBe('stalled');
  });
});

describe('downtime shares', () => {
  it('names the device with the longest overlapping stop-copy, and the longest other one', () => {
    const t = v2Trace();
    // Two devices whose stop-copies overlap in time: b's lasts 500 µs longer.
    const a = t.device('a', { fd: 5 });
    const b = t.device('b', { fd: 6 });
    for (const d of [a, b]) {
      d.open();
      d.set(S.PRE_COPY, { session: 1 });
      d.set(S.STOP_COPY);
    }
    a.read(1, 0);
    a.set(S.STOP);
    t.wait(500);
    b.read(1, 0);
    b.set(S.STOP);
    const shared = withDowntimeShares(devices(t.ops), [], { clockOf: () => 'mono', traceOffsetNs: undefined });
    const da = shared.find((d) => d.id === 'a')?.sessions[0]?.convergence?.downtime;
    const db = shared.find((d) => d.id === 'b')?.sessions[0]?.convergence?.downtime;
    expect(da?.dominantDevice).toBe('b');
    expect(db?.dominantDevice).toBe('b');
    expect(da?.otherDevicesNs).toBe(db?.deviceStopCopyNs);
    expect(db?.otherDevicesNs).toBe(da?.deviceStopCopyNs);
  });
});
