// V1-REGION-ID, V1-WIDTH, V1-RO-FIELD, V1-RESERVED-FIELD: single-access rules. Lost
// events cannot explain a single access, so these stay certain after a gap.

import { describe, expect, it } from 'vitest';
import { check, EINVAL, lines, only, trace } from './ops-builder.js';

describe('V1-REGION-ID', () => {
  it('fires (driver error) on a migration region no larger than the header', () => {
    const t = trace();
    const d = t.device('dev');
    const l = d.region({ size: 0x20n });
    const f = only(check(t.ops), 'V1-REGION-ID');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ blame: 'driver', severity: 'error', certainty: 'certain', device: 'dev' });
    expect(f[0]?.message).toContain('0x20');
    expect(lines(f[0])).toEqual([l]);
  });

  it('fires when the reply used as the migration region has another TYPE cap', () => {
    const t = trace();
    t.device('dev').region({ capType: 3, capSubtype: 2 });
    expect(only(check(t.ops), 'V1-REGION-ID')).toHaveLength(1);
  });

  it('is quiet on a type 3 / subtype 1 region larger than 32 bytes', () => {
    const t = trace();
    t.device('dev').region({ size: 0x21n });
    expect(only(check(t.ops), 'V1-REGION-ID')).toEqual([]);
  });

  it('is quiet when the size is unknown or the region was named by the user', () => {
    const t = trace();
    t.device('a').region({ size: undefined });
    t.device('b').region({ size: 0x10n, source: 'flag' });
    expect(only(check(t.ops), 'V1-REGION-ID')).toEqual([]);
  });

  it('stays certain after a gap (one reply shows it)', () => {
    const t = trace();
    t.gap();
    t.device('dev').region({ size: 0x8n });
    expect(only(check(t.ops), 'V1-REGION-ID')[0]?.certainty).toBe('certain');
  });
});

describe('V1-WIDTH', () => {
  it('fires a VMM error for a 2-byte device_state write, and a driver warning when it fully succeeds', () => {
    const t = trace();
    const d = t.device('dev');
    d.open();
    const l = d.bad(true, 0, 2, ['device_state']);
    const f = only(check(t.ops), 'V1-WIDTH');
    expect(f.map((x) => [x.blame, x.severity])).toEqual([
      ['vmm', 'error'],
      ['driver', 'warning'],
    ]);
    expect(lines(f[0])).toEqual([l]);
    expect(lines(f[1])).toEqual([l]);
    expect(f[0]?.message).toMatch(/2-byte pwrite at header offset \+0/);
  });

  it('blames only the VMM when the driver refuses the access', () => {
    const t = trace();
    t.device('dev').bad(false, 12, 4, ['pending_bytes'], { errno: EINVAL });
    const f = only(check(t.ops), 'V1-WIDTH');
    expect(f.map((x) => x.blame)).toEqual(['vmm']);
  });

  it('is quiet on correctly sized field accesses', () => {
    const t = trace();
    const d = t.device('dev');
    d.read(1);
    d.pending(0n);
    expect(only(check(t.ops), 'V1-WIDTH')).toEqual([]);
  });

  it('does not blame the driver when the result is unknown or partial', () => {
    const t = trace();
    const d = t.device('dev');
    d.bad(true, 0, 2, ['device_state'], { unknown: true });
    d.bad(true, 0, 8, ['device_state', 'reserved'], { ret: 4 });
    expect(only(check(t.ops), 'V1-WIDTH').map((x) => x.blame)).toEqual(['vmm', 'vmm']);
  });

  it('stays certain after a gap', () => {
    const t = trace();
    t.gap();
    t.device('dev').bad(true, 0, 2, ['device_state']);
    expect(only(check(t.ops), 'V1-WIDTH').every((f) => f.certainty === 'certain')).toBe(true);
  });
});

describe('V1-RO-FIELD', () => {
  it('fires a VMM error for a pending_bytes write and a driver warning when it is accepted', () => {
    const t = trace();
    const l = t.device('dev').field('pending_bytes', true, 5n);
    const f = only(check(t.ops), 'V1-RO-FIELD');
    expect(f.map((x) => [x.blame, x.severity])).toEqual([
      ['vmm', 'error'],
      ['driver', 'warning'],
    ]);
    expect(lines(f[0])).toEqual([l]);
  });

  it('blames only the VMM for a refused data_offset write', () => {
    const t = trace();
    t.device('dev').field('data_offset', true, 0x1000n, { errno: EINVAL });
    expect(only(check(t.ops), 'V1-RO-FIELD').map((x) => x.blame)).toEqual(['vmm']);
  });

  it('is quiet on reads of the same fields and on data_size writes', () => {
    const t = trace();
    const d = t.device('dev');
    d.pending(5n);
    d.dataOffset(0x1000n);
    d.dataSizeWrite(0x10n);
    expect(only(check(t.ops), 'V1-RO-FIELD')).toEqual([]);
  });

  it('fires without the value (the write itself is the violation)', () => {
    const t = trace();
    t.device('dev').field('pending_bytes', true, undefined, { unknown: true });
    expect(only(check(t.ops), 'V1-RO-FIELD').map((x) => x.blame)).toEqual(['vmm']);
  });
});

describe('V1-RESERVED-FIELD', () => {
  it('fires a driver error when +4 reads non-zero', () => {
    const t = trace();
    const l = t.device('dev').field('reserved', false, 0x7n);
    const f = only(check(t.ops), 'V1-RESERVED-FIELD');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ blame: 'driver', severity: 'error' });
    expect(lines(f[0])).toEqual([l]);
  });

  it('fires a VMM warning for a write to +4', () => {
    const t = trace();
    t.device('dev').field('reserved', true, 0n);
    expect(only(check(t.ops), 'V1-RESERVED-FIELD')[0]).toMatchObject({ blame: 'vmm', severity: 'warning' });
  });

  it('is quiet when +4 reads 0, and when the value read is unknown', () => {
    const t = trace();
    const d = t.device('dev');
    d.field('reserved', false, 0n);
    d.field('reserved', false, undefined);
    expect(only(check(t.ops), 'V1-RESERVED-FIELD')).toEqual([]);
  });
});
