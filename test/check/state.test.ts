// Rules about device_state values: V1-RESERVED-STATE, V1-ERROR-ENTER, V1-ERROR-EXIT,
// V1-ERROR-ORIGIN, V1-RMW, V1-ASYNC, V1-SAVING-TO-RESUMING, V1-STATE-SCOPE.

import { describe, expect, it } from 'vitest';
import { check, EINVAL, EIO, lines, only, trace } from './ops-builder.js';
import { OFF } from './scenarios.js';

describe('V1-RESERVED-STATE', () => {
  it('fires a VMM error for a write of 101b, and a driver error when it succeeds', () => {
    const t = trace();
    const d = t.device('dev');
    d.read(1);
    const l = d.write(5);
    const f = only(check(t.ops), 'V1-RESERVED-STATE');
    expect(f.map((x) => [x.blame, x.severity])).toEqual([
      ['vmm', 'error'],
      ['driver', 'error'],
    ]);
    expect(lines(f[0])).toEqual([l]);
    expect(f[0]?.message).toContain('INVALID_101 (101b)');
  });

  it('blames only the VMM when the driver refuses 111b', () => {
    const t = trace();
    t.device('dev').write(7, { errno: EINVAL });
    expect(only(check(t.ops), 'V1-RESERVED-STATE').map((x) => x.blame)).toEqual(['vmm']);
  });

  it('is quiet on valid states, also with reserved bits 3–31 set', () => {
    const t = trace();
    const d = t.device('dev');
    for (const v of [0, 1, 2, 3, 4, 0x9]) d.write(v);
    expect(only(check(t.ops), 'V1-RESERVED-STATE')).toEqual([]);
  });

  it('is quiet when the written value was not seen', () => {
    const t = trace();
    t.device('dev').write(undefined);
    expect(only(check(t.ops), 'V1-RESERVED-STATE')).toEqual([]);
  });
});

describe('V1-ERROR-ENTER', () => {
  it('fires a VMM error for a write of 110b and a driver error when accepted', () => {
    const t = trace();
    const l = t.device('dev').write(6);
    const f = only(check(t.ops), 'V1-ERROR-ENTER');
    expect(f.map((x) => [x.blame, x.severity])).toEqual([
      ['vmm', 'error'],
      ['driver', 'error'],
    ]);
    expect(lines(f[1])).toEqual([l]);
  });

  it('blames only the VMM when the driver refuses it', () => {
    const t = trace();
    t.device('dev').write(6, { errno: EINVAL });
    expect(only(check(t.ops), 'V1-ERROR-ENTER').map((x) => x.blame)).toEqual(['vmm']);
  });

  it('is quiet on other values and on unseen values', () => {
    const t = trace();
    const d = t.device('dev');
    d.write(2);
    d.write(undefined);
    expect(only(check(t.ops), 'V1-ERROR-ENTER')).toEqual([]);
  });
});

/** 011b → 010b fails with EIO, the driver reports 110b (legitimately). */
function intoError(d: ReturnType<ReturnType<typeof trace>['device']>): number {
  d.open();
  d.set(1, 3);
  d.read(3);
  d.write(2, { errno: EIO });
  return d.read(6);
}

describe('V1-ERROR-EXIT', () => {
  it('fires a VMM warning for a write in the error state and a driver error when it succeeds', () => {
    const t = trace();
    const d = t.device('dev');
    const errLine = intoError(d);
    const l = d.write(1);
    const f = only(check(t.ops), 'V1-ERROR-EXIT');
    expect(f.map((x) => [x.blame, x.severity])).toEqual([
      ['vmm', 'warning'],
      ['driver', 'error'],
    ]);
    expect(lines(f[0])).toEqual([errLine, l]);
    expect(lines(f[1])).toEqual([errLine, l]);
  });

  it('fires a driver error when the read after a successful reset is not RUNNING', () => {
    const t = trace();
    const d = t.device('dev');
    intoError(d);
    const r = d.reset();
    const l = d.read(0);
    const f = only(check(t.ops), 'V1-ERROR-EXIT');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ blame: 'driver', severity: 'error' });
    expect(lines(f[0])).toEqual([r, l]);
    expect(f[0]?.message).toContain('STOP (000b)');
  });

  it('is quiet when the VMM resets and the device reads RUNNING', () => {
    const t = trace();
    const d = t.device('dev');
    intoError(d);
    d.reset();
    d.read(1);
    d.set(1, 3);
    expect(only(check(t.ops), 'V1-ERROR-EXIT')).toEqual([]);
  });

  it('is quiet when the post-reset read value is unknown', () => {
    const t = trace();
    const d = t.device('dev');
    intoError(d);
    d.reset();
    d.read(undefined);
    expect(only(check(t.ops), 'V1-ERROR-EXIT')).toEqual([]);
  });

  it('is uncertain when events were lost between the error read and the write', () => {
    const t = trace();
    const d = t.device('dev');
    intoError(d);
    t.gap();
    d.write(1, { errno: EINVAL });
    const f = only(check(t.ops), 'V1-ERROR-EXIT');
    expect(f.map((x) => [x.blame, x.certainty])).toEqual([['vmm', 'uncertain']]);
  });
});

describe('V1-ERROR-ORIGIN', () => {
  it('fires a driver error for 110b after a successful write', () => {
    const t = trace();
    const d = t.device('dev');
    d.read(1);
    const w = d.write(3);
    const l = d.read(6);
    const f = only(check(t.ops), 'V1-ERROR-ORIGIN');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ blame: 'driver', severity: 'error', certainty: 'certain' });
    expect(lines(f[0])).toEqual([w, l]);
  });

  it('is quiet when a failed write came first', () => {
    const t = trace();
    intoError(t.device('dev'));
    expect(only(check(t.ops), 'V1-ERROR-ORIGIN')).toEqual([]);
  });

  it('is quiet when a write since the last valid state had an unseen result', () => {
    const t = trace();
    const d = t.device('dev');
    d.read(3);
    d.write(2, { unknown: true });
    d.read(6);
    expect(only(check(t.ops), 'V1-ERROR-ORIGIN')).toEqual([]);
  });

  it('is uncertain when events were lost since the last valid state', () => {
    const t = trace();
    const d = t.device('dev');
    d.read(3);
    t.gap();
    d.read(6);
    expect(only(check(t.ops), 'V1-ERROR-ORIGIN')[0]?.certainty).toBe('uncertain');
  });
});

describe('V1-RMW', () => {
  it('fires a VMM warning when a write drops reserved bits the last read had', () => {
    const t = trace();
    const d = t.device('dev');
    const r = d.read(0x9); // RUNNING with bit 3 set
    const w = d.write(0x3); // save_setup with mask 7 clears it
    const f = only(check(t.ops), 'V1-RMW');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ blame: 'vmm', severity: 'warning', certainty: 'certain' });
    expect(lines(f[0])).toEqual([r, w]);
    expect(f[0]?.message).toContain('0x8');
  });

  it('is quiet when the bits are preserved', () => {
    const t = trace();
    const d = t.device('dev');
    d.read(0x9);
    d.write(0xb);
    d.read(0xb);
    d.write(0xa);
    expect(only(check(t.ops), 'V1-RMW')).toEqual([]);
  });

  it('is quiet with no read seen, or an unseen written value', () => {
    const t = trace();
    const d = t.device('dev');
    d.write(0x9);
    d.read(0x9);
    d.write(undefined);
    expect(only(check(t.ops), 'V1-RMW')).toEqual([]);
  });

  it('is uncertain when events were lost since the read', () => {
    const t = trace();
    const d = t.device('dev');
    d.read(0x9);
    t.gap();
    d.write(0x3);
    expect(only(check(t.ops), 'V1-RMW')[0]?.certainty).toBe('uncertain');
  });
});

describe('V1-ASYNC', () => {
  it('fires a driver error when the device changes state on its own', () => {
    const t = trace();
    const d = t.device('dev');
    d.read(1);
    const w = d.write(3);
    const r = d.read(1);
    const f = only(check(t.ops), 'V1-ASYNC');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ blame: 'driver', severity: 'error', certainty: 'certain' });
    expect(lines(f[0])).toEqual([w, r]);
    expect(f[0]?.message).toContain('PRE_COPY (011b)');
  });

  it('fires when a device falls back to RUNNING after reading the error state', () => {
    const t = trace();
    const d = t.device('dev');
    intoError(d);
    d.read(1);
    expect(only(check(t.ops), 'V1-ASYNC')).toHaveLength(1);
  });

  it('is quiet when reads match the writes, and after a reset', () => {
    const t = trace();
    const d = t.device('dev');
    d.set(1, 3);
    d.read(3);
    d.reset();
    d.read(1);
    expect(only(check(t.ops), 'V1-ASYNC')).toEqual([]);
  });

  it('is quiet on the read-back after a failed write (V1-FAIL-READBACK judges it)', () => {
    const t = trace();
    const d = t.device('dev');
    d.read(3);
    d.write(2, { errno: EINVAL });
    d.read(0);
    expect(only(check(t.ops), 'V1-ASYNC')).toEqual([]);
  });

  it('is quiet when the written value was not seen', () => {
    const t = trace();
    const d = t.device('dev');
    d.read(1);
    d.write(undefined);
    d.read(3);
    expect(only(check(t.ops), 'V1-ASYNC')).toEqual([]);
  });

  it('uses QEMU set_state events as the written value', () => {
    const t = trace();
    const d = t.device('dev');
    d.write(undefined);
    d.qemu('vfio_migration_set_state', { state: 3n });
    d.read(2);
    expect(only(check(t.ops), 'V1-ASYNC')).toHaveLength(1);
  });

  it('is uncertain right after a gap (a lost write explains the change)', () => {
    const t = trace();
    const d = t.device('dev');
    d.set(1, 3);
    t.gap();
    d.read(2);
    expect(only(check(t.ops), 'V1-ASYNC')[0]?.certainty).toBe('uncertain');
  });
});

describe('V1-SAVING-TO-RESUMING', () => {
  it('fires a VMM warning for 011b → 100b', () => {
    const t = trace();
    const d = t.device('dev');
    const r = d.read(3);
    const w = d.write(4);
    const f = only(check(t.ops), 'V1-SAVING-TO-RESUMING');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ blame: 'vmm', severity: 'warning', certainty: 'certain' });
    expect(lines(f[0])).toEqual([r, w]);
  });

  it('is quiet for 001b → 100b and 000b → 100b', () => {
    const t = trace();
    const d = t.device('dev');
    d.set(1, 4);
    d.set(4, 0);
    d.set(0, 4);
    expect(only(check(t.ops), 'V1-SAVING-TO-RESUMING')).toEqual([]);
  });

  it('is quiet when the state before is unknown', () => {
    const t = trace();
    const d = t.device('dev');
    d.write(undefined);
    d.write(4);
    expect(only(check(t.ops), 'V1-SAVING-TO-RESUMING')).toEqual([]);
  });

  it('is uncertain after a gap', () => {
    const t = trace();
    const d = t.device('dev');
    d.read(2);
    t.gap();
    d.write(4);
    expect(only(check(t.ops), 'V1-SAVING-TO-RESUMING')[0]?.certainty).toBe('uncertain');
  });
});

describe('V1-STATE-SCOPE', () => {
  it('fires a VMM warning for a data read while RUNNING, once per stay', () => {
    const t = trace();
    const d = t.device('dev');
    const o = d.open();
    const l = d.data(false, OFF, 8);
    d.data(false, OFF + 8n, 8);
    d.dataOffset(OFF);
    const f = only(check(t.ops), 'V1-STATE-SCOPE');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ blame: 'vmm', severity: 'warning' });
    expect(lines(f[0])).toEqual([o, l]);
  });

  it('fires for a data_size write while saving', () => {
    const t = trace();
    const d = t.device('dev');
    d.set(1, 2);
    d.dataSizeWrite(8n);
    const f = only(check(t.ops), 'V1-STATE-SCOPE');
    expect(f).toHaveLength(1);
    expect(f[0]?.message).toContain('only while resuming');
  });

  it('is quiet while saving and resuming', () => {
    const t = trace();
    const d = t.device('dev');
    d.set(1, 3);
    d.pending(8n);
    d.dataOffset(OFF);
    d.dataSize(8n);
    d.data(false, OFF, 8);
    d.set(3, 4);
    d.dataOffset(OFF);
    d.data(true, OFF, 8);
    d.dataSizeWrite(8n);
    expect(only(check(t.ops), 'V1-STATE-SCOPE')).toEqual([]);
  });

  it('is quiet when the state is unknown', () => {
    const t = trace();
    const d = t.device('dev');
    d.write(undefined);
    d.data(false, OFF, 8);
    expect(only(check(t.ops), 'V1-STATE-SCOPE')).toEqual([]);
  });

  it('is uncertain after a gap', () => {
    const t = trace();
    const d = t.device('dev');
    d.set(3, 0);
    t.gap();
    d.data(false, OFF, 8);
    expect(only(check(t.ops), 'V1-STATE-SCOPE')[0]?.certainty).toBe('uncertain');
  });
});
