// Failed transitions: V1-FAIL-READBACK, V1-USER-READBACK, V1-REFUSE-VALID, V1-EAGAIN,
// V1-FAIL-RECOVER, V1-GROUP-RECOVER.

import { describe, expect, it } from 'vitest';
import { check, EAGAIN, EINVAL, EIO, lines, only, trace } from './ops-builder.js';
import { saveChunk } from './scenarios.js';

describe('V1-FAIL-READBACK', () => {
  it('fires a driver error when the read-back is neither the previous state nor 110b', () => {
    const t = trace();
    const d = t.device('dev');
    const r = d.read(3);
    const w = d.write(2, { errno: EINVAL });
    const b = d.read(0);
    const f = only(check(t.ops), 'V1-FAIL-READBACK');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ blame: 'driver', severity: 'error', certainty: 'certain' });
    expect(lines(f[0])).toEqual([r, w, b]);
    expect(f[0]?.message).toMatch(/STOP \(000b\).*PRE_COPY \(011b\)/);
  });

  it('is quiet when the read-back is the previous state or 110b', () => {
    const t = trace();
    const d = t.device('a');
    d.read(3);
    d.write(2, { errno: EINVAL });
    d.read(3);
    const e = t.device('b');
    e.read(3);
    e.write(2, { errno: EIO });
    e.read(6);
    expect(only(check(t.ops), 'V1-FAIL-READBACK')).toEqual([]);
  });

  it('does not apply to EAGAIN, nor when the previous state or the read value is unknown', () => {
    const t = trace();
    const a = t.device('a');
    a.read(3);
    a.write(2, { errno: EAGAIN });
    a.read(0);
    const b = t.device('b');
    b.write(2, { errno: EINVAL }); // state before unknown
    b.read(0);
    const c = t.device('c');
    c.read(3);
    c.write(2, { errno: EINVAL });
    c.read(undefined);
    expect(only(check(t.ops), 'V1-FAIL-READBACK')).toEqual([]);
  });

  it('is uncertain when events were lost between the write and the read', () => {
    const t = trace();
    const d = t.device('dev');
    d.read(3);
    d.write(2, { errno: EINVAL });
    t.gap();
    d.read(0);
    expect(only(check(t.ops), 'V1-FAIL-READBACK')[0]?.certainty).toBe('uncertain');
  });
});

describe('V1-USER-READBACK', () => {
  it('fires a VMM warning for a second write without reading back', () => {
    const t = trace();
    const d = t.device('dev');
    d.read(3);
    const w1 = d.write(2, { errno: EINVAL });
    const w2 = d.write(1);
    const f = only(check(t.ops), 'V1-USER-READBACK');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ blame: 'vmm', severity: 'warning', certainty: 'certain' });
    expect(lines(f[0])).toEqual([w1, w2]);
  });

  it('is quiet when the VMM reads back first, and for EAGAIN retries', () => {
    const t = trace();
    const d = t.device('dev');
    d.read(3);
    d.write(2, { errno: EINVAL });
    d.read(3);
    d.write(1);
    d.read(1);
    d.write(3, { errno: EAGAIN });
    d.write(3);
    expect(only(check(t.ops), 'V1-USER-READBACK')).toEqual([]);
  });

  it('is quiet when the first write result was not seen', () => {
    const t = trace();
    const d = t.device('dev');
    d.write(2, { unknown: true });
    d.write(1);
    expect(only(check(t.ops), 'V1-USER-READBACK')).toEqual([]);
  });

  it('is uncertain when events were lost in between (the read may be among them)', () => {
    const t = trace();
    const d = t.device('dev');
    d.write(2, { errno: EINVAL });
    t.gap();
    d.write(1);
    expect(only(check(t.ops), 'V1-USER-READBACK')[0]?.certainty).toBe('uncertain');
  });
});

describe('V1-REFUSE-VALID', () => {
  it('fires a driver error when RUNNING → STOP is refused', () => {
    const t = trace();
    const d = t.device('dev');
    const r = d.read(1);
    const w = d.write(0, { errno: EINVAL });
    const f = only(check(t.ops), 'V1-REFUSE-VALID');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ blame: 'driver', severity: 'error', certainty: 'certain' });
    expect(lines(f[0])).toEqual([r, w]);
    expect(f[0]?.message).toContain('Stopping a running device must always be allowed');
  });

  it('fires a driver error for RUNNING → SAVING and a warning for PRE_COPY → SAVING', () => {
    const t = trace();
    const a = t.device('a');
    a.read(1);
    a.write(2, { errno: EINVAL });
    const b = t.device('b');
    b.read(3);
    b.write(2, { errno: EIO });
    const f = only(check(t.ops), 'V1-REFUSE-VALID');
    expect(f.map((x) => [x.device, x.severity])).toEqual([
      ['a', 'error'],
      ['b', 'warning'],
    ]);
  });

  it('is quiet for EAGAIN, successful writes, and refused writes to invalid states', () => {
    const t = trace();
    const d = t.device('dev');
    d.read(1);
    d.write(0, { errno: EAGAIN });
    d.write(0);
    d.read(0);
    d.write(5, { errno: EINVAL });
    expect(only(check(t.ops), 'V1-REFUSE-VALID')).toEqual([]);
  });

  it('is quiet when the state before the write is unknown', () => {
    const t = trace();
    const d = t.device('dev');
    d.write(0, { errno: EINVAL });
    expect(only(check(t.ops), 'V1-REFUSE-VALID')).toEqual([]);
  });

  it('is uncertain after a gap', () => {
    const t = trace();
    const d = t.device('dev');
    d.read(1);
    t.gap();
    d.write(0, { errno: EINVAL });
    expect(only(check(t.ops), 'V1-REFUSE-VALID')[0]?.certainty).toBe('uncertain');
  });
});

describe('V1-EAGAIN', () => {
  it('fires a driver warning after more than N consecutive EAGAIN writes (reads in between allowed)', () => {
    const t = trace();
    const d = t.device('dev');
    const first = d.set(1, 3, { errno: EAGAIN });
    d.set(1, 3, { errno: EAGAIN });
    d.set(1, 3, { errno: EAGAIN });
    const fourth = d.set(1, 3, { errno: EAGAIN });
    d.set(1, 3, { errno: EAGAIN });
    const f = only(check(t.ops), 'V1-EAGAIN');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ blame: 'driver', severity: 'warning', certainty: 'certain' });
    expect(lines(f[0])).toEqual([first, fourth]);
  });

  it('honours eagainLimit and counts data-path accesses separately', () => {
    const t = trace();
    const d = t.device('dev');
    d.pending(undefined, { errno: EAGAIN });
    d.pending(undefined, { errno: EAGAIN });
    d.write(3, { errno: EAGAIN });
    expect(only(check(t.ops, { eagainLimit: 1 }), 'V1-EAGAIN')).toHaveLength(1);
    expect(only(check(t.ops, { eagainLimit: 2 }), 'V1-EAGAIN')).toHaveLength(0);
  });

  it('is quiet when a success breaks the streak', () => {
    const t = trace();
    const d = t.device('dev');
    for (let i = 0; i < 3; i++) d.write(3, { errno: EAGAIN });
    d.write(3);
    for (let i = 0; i < 3; i++) d.write(2, { errno: EAGAIN });
    expect(only(check(t.ops), 'V1-EAGAIN')).toEqual([]);
  });

  it('is quiet when results are unknown', () => {
    const t = trace();
    const d = t.device('dev');
    for (let i = 0; i < 6; i++) d.write(3, { unknown: true });
    expect(only(check(t.ops), 'V1-EAGAIN')).toEqual([]);
  });

  it('is uncertain when events were lost during the streak', () => {
    const t = trace();
    const d = t.device('dev');
    d.write(3, { errno: EAGAIN });
    d.write(3, { errno: EAGAIN });
    t.gap();
    d.write(3, { errno: EAGAIN });
    d.write(3, { errno: EAGAIN });
    expect(only(check(t.ops), 'V1-EAGAIN')[0]?.certainty).toBe('uncertain');
  });
});

/** Pre-copy that fails to go to stop-and-copy; the driver keeps PRE_COPY. */
function failedStopAndCopy(d: ReturnType<ReturnType<typeof trace>['device']>): { write: number; readBack: number } {
  d.open();
  d.set(1, 3);
  d.pending(0x1000n);
  saveChunk(d, 0x1000n);
  d.pending(0n);
  d.read(3);
  const write = d.write(2, { errno: EINVAL });
  const readBack = d.read(3);
  return { write, readBack };
}

describe('V1-FAIL-RECOVER', () => {
  it('fires a VMM warning when the migration fails without a write of RUNNING', () => {
    const t = trace();
    const d = t.device('dev');
    const { write, readBack } = failedStopAndCopy(d);
    const n = d.qemu('vfio_migration_state_notifier', { state: 'failed' });
    d.qemu('vfio_save_cleanup', {});
    const f = only(check(t.ops), 'V1-FAIL-RECOVER');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ blame: 'vmm', severity: 'warning', certainty: 'certain' });
    expect(lines(f[0])).toEqual([write, readBack, n]);
    expect(f[0]?.message).toContain('PRE_COPY (011b)');
    expect(f[0]?.message).toContain('failed');
  });

  it('fires at the end of the trace when nothing else ends the migration', () => {
    const t = trace();
    failedStopAndCopy(t.device('dev'));
    const f = only(check(t.ops), 'V1-FAIL-RECOVER');
    expect(f).toHaveLength(1);
    expect(f[0]?.message).toContain('the trace ended');
  });

  it('is quiet when QEMU writes RUNNING after its notifier (the notifier is traced before the write)', () => {
    const t = trace();
    const d = t.device('dev');
    failedStopAndCopy(d);
    d.qemu('vfio_migration_state_notifier', { state: 'failed' });
    d.set(3, 1);
    d.qemu('vfio_migration_set_state', { state: 1n });
    d.qemu('vfio_save_cleanup', {});
    d.close();
    expect(only(check(t.ops), 'V1-FAIL-RECOVER')).toEqual([]);
  });

  it('is quiet when the device is in the error state (only a reset helps)', () => {
    const t = trace();
    const d = t.device('dev');
    d.set(1, 3);
    d.read(3);
    d.write(2, { errno: EIO });
    d.read(6);
    expect(only(check(t.ops), 'V1-FAIL-RECOVER')).toEqual([]);
  });

  it('is quiet when the state after the failure was never seen, or a later write is unseen', () => {
    const t = trace();
    const a = t.device('a');
    a.set(1, 3);
    a.read(3);
    a.write(2, { errno: EINVAL });
    const b = t.device('b');
    failedStopAndCopy(b);
    b.write(undefined);
    expect(only(check(t.ops), 'V1-FAIL-RECOVER')).toEqual([]);
  });

  it('is uncertain when events were lost after the failure', () => {
    const t = trace();
    const d = t.device('dev');
    failedStopAndCopy(d);
    t.gap();
    d.read(3);
    expect(only(check(t.ops), 'V1-FAIL-RECOVER')[0]?.certainty).toBe('uncertain');
  });
});

describe('V1-GROUP-RECOVER', () => {
  it('fires for the device left stopped when its sibling failed', () => {
    const t = trace();
    const a = t.device('0000:65:00.0', { pid: 42, fd: 5 });
    const b = t.device('0000:65:00.1', { pid: 42, fd: 6 });
    a.open();
    b.open();
    a.set(1, 3);
    const moved = b.set(1, 3);
    // VM stops: b goes to stop-and-copy, a refuses
    const bStop = b.set(3, 2);
    a.read(3);
    const fail = a.write(2, { errno: EINVAL });
    a.read(3);
    a.set(3, 1); // the VMM recovers a ...
    // ... but leaves b in 010b
    const f = only(check(t.ops), 'V1-GROUP-RECOVER');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ blame: 'vmm', severity: 'warning', device: '0000:65:00.1', certainty: 'certain' });
    expect(lines(f[0])).toEqual([fail, moved, bStop]);
    expect(f[0]?.message).toContain('0000:65:00.0');
    expect(f[0]?.message).toContain('SAVING (010b)');
    expect(only(check(t.ops), 'V1-FAIL-RECOVER')).toEqual([]);
  });

  // trace-cmd records and ftrace without tgid name no pid: the thread that wrote both
  // devices' device_state (QEMU's migration thread) makes them one process's.
  const pidless = (tidA: number, tidB: number) => {
    const t = trace();
    const a = t.device('?:3', { pid: undefined, fd: 3, naming: 'pid-fd', tid: tidA });
    const b = t.device('?:4', { pid: undefined, fd: 4, naming: 'pid-fd', tid: tidB });
    a.open();
    b.open();
    a.set(1, 3);
    b.set(1, 3);
    const aStop = a.set(3, 2);
    const fail = b.write(2, { errno: EIO });
    b.set(3, 1);
    a.close();
    b.close();
    return { ops: t.ops, aStop, fail };
  };

  it('without a pid, fires for devices whose device_state the same thread wrote', () => {
    const { ops, aStop, fail } = pidless(7, 7);
    const f = only(check(ops), 'V1-GROUP-RECOVER');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ device: '?:3', blame: 'vmm', severity: 'warning' });
    expect(lines(f[0])).toContain(fail);
    expect(lines(f[0])).toContain(aStop);
    expect(f[0]?.message).toContain('thread 7');
  });

  it('without a pid, is quiet for devices written by different threads (processes not shown to be one)', () => {
    expect(only(check(pidless(7, 8).ops), 'V1-GROUP-RECOVER')).toEqual([]);
  });

  it('is quiet when the VMM takes every device back to RUNNING', () => {
    const t = trace();
    const a = t.device('0000:65:00.0', { pid: 42, fd: 5 });
    const b = t.device('0000:65:00.1', { pid: 42, fd: 6 });
    a.open();
    b.open();
    a.set(1, 3);
    b.set(1, 3);
    b.set(3, 2);
    a.read(3);
    a.write(2, { errno: EINVAL });
    a.read(3);
    a.qemu('vfio_migration_state_notifier', { state: 'failed' });
    a.set(3, 1);
    b.qemu('vfio_migration_state_notifier', { state: 'failed' });
    b.set(2, 1);
    a.close();
    b.close();
    expect(only(check(t.ops), 'V1-GROUP-RECOVER')).toEqual([]);
  });

  it('is quiet for devices of another process', () => {
    const t = trace();
    const a = t.device('x', { pid: 1 });
    const b = t.device('y', { pid: 2 });
    a.open();
    b.open();
    a.set(1, 3);
    b.set(1, 3);
    b.set(3, 2);
    a.read(3);
    a.write(2, { errno: EINVAL });
    a.read(3);
    a.set(3, 1);
    expect(only(check(t.ops), 'V1-GROUP-RECOVER')).toEqual([]);
  });

  it('is quiet when the sibling state is unknown, and without a pid when different threads wrote them', () => {
    const t = trace();
    const a = t.device('x', { pid: 7 });
    const b = t.device('y', { pid: 7 });
    a.open();
    b.open();
    a.set(1, 3);
    b.set(1, 3);
    b.write(undefined);
    a.read(3);
    a.write(2, { errno: EINVAL });
    const u = trace('nopid.txt');
    const c = u.device('x', { pid: undefined, tid: 11 });
    const e = u.device('y', { pid: undefined, tid: 12 });
    c.open();
    e.open();
    c.set(1, 3);
    e.set(1, 3);
    c.read(3);
    c.write(2, { errno: EINVAL });
    expect(only(check([...t.ops, ...u.ops]), 'V1-GROUP-RECOVER')).toEqual([]);
  });

  it('is uncertain when events were lost after the failure', () => {
    const t = trace();
    const a = t.device('x', { pid: 7 });
    const b = t.device('y', { pid: 7 });
    a.open();
    b.open();
    a.set(1, 3);
    b.set(1, 3);
    a.read(3);
    a.write(2, { errno: EINVAL });
    t.gap();
    b.close();
    const f = only(check(t.ops), 'V1-GROUP-RECOVER');
    expect(f).toHaveLength(1);
    expect(f[0]?.certainty).toBe('uncertain');
    expect(f[0]?.message).toContain('closed');
  });
});
