// The save path: V1-SAVE-ORDER, V1-SAVE-STABLE, V1-DATA-OFFSET, V1-SAVE-DRAIN, V1-EMPTY-ITER.

import { describe, expect, it } from 'vitest';
import { check, EINVAL, lines, only, trace, type Dev } from './ops-builder.js';
import { OFF, saveChunk } from './scenarios.js';

/** A device in pre-copy (011b), entry seen. */
function precopy(d: Dev): void {
  d.open();
  d.region();
  d.set(1, 3);
}

/** Strip every value, as a syscall-only tracer (ftrace) would see it. */
function blind(ops: ReturnType<typeof trace>['ops']): ReturnType<typeof trace>['ops'] {
  return ops.map((o) => (o.op === 'v1-state-read' || o.op === 'v1-state-write' || o.op === 'v1-field' ? { ...o, value: undefined } : o));
}

describe('V1-SAVE-ORDER', () => {
  it('fires a VMM error for data_size read before data_offset', () => {
    const t = trace();
    const d = t.device('dev');
    precopy(d);
    const p = d.pending(0x1000n);
    const s = d.dataSize(0x1000n);
    d.dataOffset(OFF);
    d.data(false, OFF, 0x1000);
    const f = only(check(t.ops), 'V1-SAVE-ORDER');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ blame: 'vmm', severity: 'error', certainty: 'certain' });
    expect(lines(f[0])).toEqual([p, s]);
  });

  it('fires a VMM error for a data read before data_size, once per iteration', () => {
    const t = trace();
    const d = t.device('dev');
    precopy(d);
    d.pending(0x1000n);
    const o = d.dataOffset(OFF);
    const r = d.data(false, OFF, 8);
    d.data(false, OFF + 8n, 8);
    const f = only(check(t.ops), 'V1-SAVE-ORDER');
    expect(f).toHaveLength(1);
    expect(lines(f[0])).toEqual([o, r]);
  });

  it('fires a VMM error for a data read outside [data_offset, data_offset + data_size)', () => {
    const t = trace();
    const d = t.device('dev');
    precopy(d);
    d.pending(0x1000n);
    const o = d.dataOffset(OFF);
    const s = d.dataSize(0x1000n);
    const r = d.data(false, OFF + 0xff8n, 16);
    const f = only(check(t.ops), 'V1-SAVE-ORDER');
    expect(f).toHaveLength(1);
    expect(lines(f[0])).toEqual([o, s, r]);
    expect(f[0]?.message).toContain('[0x1ff8, 0x2008)');
  });

  it('fires a VMM warning for iterating after pending_bytes read 0', () => {
    const t = trace();
    const d = t.device('dev');
    precopy(d);
    const p = d.pending(0n);
    const o = d.dataOffset(OFF);
    const f = only(check(t.ops), 'V1-SAVE-ORDER');
    expect(f.map((x) => [x.severity, x.blame])).toEqual([['warning', 'vmm']]);
    expect(lines(f[0])).toEqual([p, o]);
  });

  it('fires a VMM warning for data_offset with no pending_bytes read since saving began', () => {
    const t = trace();
    const d = t.device('dev');
    precopy(d);
    d.dataOffset(OFF);
    expect(only(check(t.ops), 'V1-SAVE-ORDER').map((x) => x.severity)).toEqual(['warning']);
  });

  it('is quiet on the QEMU order, pre-copy and stop-and-copy', () => {
    const t = trace();
    const d = t.device('dev');
    precopy(d);
    d.pending(0x3000n);
    saveChunk(d, 0x2000n);
    d.pending(0x1000n);
    d.set(3, 2);
    d.pending(0x1000n);
    d.dataOffset(OFF);
    d.dataSize(0x1000n);
    for (let k = 0n; k < 0x1000n; k += 8n) d.data(false, OFF + k, 8);
    d.pending(0n);
    d.set(2, 0);
    expect(only(check(t.ops), 'V1-SAVE-ORDER')).toEqual([]);
  });

  it('checks the order without values (syscall-only tracer), but not the window or the pending value', () => {
    const t = trace();
    const d = t.device('dev');
    precopy(d);
    d.pending(0n);
    d.dataOffset(OFF); // would be a warning with values
    d.dataSize(0x10n);
    d.data(false, OFF + 0x100n, 8); // outside the window with values
    d.pending(0x10n);
    d.dataSize(0x10n); // before data_offset: order, no value needed
    const withValues = only(check(t.ops), 'V1-SAVE-ORDER').map((x) => x.severity);
    expect(withValues).toEqual(['warning', 'error', 'error']);
    const f = only(check(blind(t.ops)), 'V1-SAVE-ORDER');
    expect(f.map((x) => x.severity)).toEqual(['error']);
    expect(f[0]?.message).toContain('data_size before data_offset');
  });

  it('does not judge an iteration whose start the capture missed', () => {
    const t = trace();
    const d = t.device('dev');
    d.dataSize(0x10n);
    d.data(false, OFF, 8);
    expect(only(check(t.ops), 'V1-SAVE-ORDER')).toEqual([]);
  });

  it('is uncertain when events were lost inside the iteration', () => {
    const t = trace();
    const d = t.device('dev');
    precopy(d);
    d.pending(0x1000n);
    t.gap();
    d.dataSize(0x1000n);
    expect(only(check(t.ops), 'V1-SAVE-ORDER')[0]?.certainty).toBe('uncertain');
  });
});

describe('V1-SAVE-STABLE', () => {
  it('fires a driver error when data_size changes within an iteration', () => {
    const t = trace();
    const d = t.device('dev');
    precopy(d);
    d.pending(0x1000n);
    d.dataOffset(OFF);
    const a = d.dataSize(0x1000n);
    const b = d.dataSize(0x800n);
    const f = only(check(t.ops), 'V1-SAVE-STABLE');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ blame: 'driver', severity: 'error', certainty: 'certain' });
    expect(lines(f[0])).toEqual([a, b]);
  });

  it('is quiet for equal re-reads and for changes across iterations', () => {
    const t = trace();
    const d = t.device('dev');
    precopy(d);
    d.pending(0x1000n);
    d.dataOffset(OFF);
    d.dataOffset(OFF);
    d.dataSize(0x800n);
    d.dataSize(0x800n);
    d.pending(0x800n);
    d.dataOffset(OFF + 0x800n);
    d.dataSize(0x400n);
    expect(only(check(t.ops), 'V1-SAVE-STABLE')).toEqual([]);
  });

  it('is quiet when a re-read value is unknown', () => {
    const t = trace();
    const d = t.device('dev');
    d.pending(0x1000n);
    d.dataOffset(OFF);
    d.dataOffset(undefined);
    expect(only(check(t.ops), 'V1-SAVE-STABLE')).toEqual([]);
  });

  it('is uncertain when events were lost between the reads', () => {
    const t = trace();
    const d = t.device('dev');
    d.pending(0x1000n);
    d.dataOffset(OFF);
    t.gap();
    d.dataOffset(OFF + 8n);
    expect(only(check(t.ops), 'V1-SAVE-STABLE')[0]?.certainty).toBe('uncertain');
  });
});

describe('V1-DATA-OFFSET', () => {
  it('fires a driver error for data_offset inside the header', () => {
    const t = trace();
    const d = t.device('dev');
    precopy(d);
    d.pending(0x10n);
    const o = d.dataOffset(0n);
    const f = only(check(t.ops), 'V1-DATA-OFFSET');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ blame: 'driver', severity: 'error', certainty: 'certain' });
    expect(lines(f[0])).toEqual([o]);
  });

  it('fires when the buffer ends past the region', () => {
    const t = trace();
    const d = t.device('dev');
    precopy(d); // region size 0x100000
    d.pending(0x10000n);
    const o = d.dataOffset(0xff000n);
    const s = d.dataSize(0x2000n);
    const f = only(check(t.ops), 'V1-DATA-OFFSET');
    expect(f).toHaveLength(1);
    expect(lines(f[0])).toEqual([o, s]);
  });

  it('says it once for a driver that repeats the same bad value', () => {
    const t = trace();
    const d = t.device('dev');
    for (let i = 0; i < 3; i++) {
      d.pending(0x10n);
      d.dataOffset(8n);
    }
    expect(only(check(t.ops), 'V1-DATA-OFFSET')).toHaveLength(1);
  });

  it('is quiet for a buffer inside the region, and without the region size', () => {
    const t = trace();
    const d = t.device('dev');
    precopy(d);
    d.pending(0x2000n);
    saveChunk(d, 0x2000n);
    const e = t.device('noregion');
    e.pending(0x10000n);
    e.dataOffset(0xff000n);
    e.dataSize(0x2000n);
    expect(only(check(t.ops), 'V1-DATA-OFFSET')).toEqual([]);
  });

  it('is quiet when values are unknown', () => {
    const t = trace();
    const d = t.device('dev');
    precopy(d);
    d.dataOffset(undefined);
    d.dataSize(undefined);
    expect(only(check(t.ops), 'V1-DATA-OFFSET')).toEqual([]);
  });

  it('is uncertain when events were lost between data_offset and data_size', () => {
    const t = trace();
    const d = t.device('dev');
    precopy(d);
    d.dataOffset(0xff000n);
    t.gap();
    d.dataSize(0x2000n);
    expect(only(check(t.ops), 'V1-DATA-OFFSET')[0]?.certainty).toBe('uncertain');
  });
});

describe('V1-SAVE-DRAIN', () => {
  it('fires a VMM error when 010b is left for 000b with data pending', () => {
    const t = trace();
    const d = t.device('dev');
    precopy(d);
    const enter = d.set(3, 2);
    const p = d.pending(0x2000n);
    saveChunk(d, 0x1000n);
    const leave = d.set(2, 0);
    const f = only(check(t.ops), 'V1-SAVE-DRAIN');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ blame: 'vmm', severity: 'error', certainty: 'certain' });
    expect(lines(f[0])).toEqual([enter, p, leave]);
    expect(f[0]?.message).toContain('0x2000');
  });

  it('fires when pending_bytes was never read in 010b', () => {
    const t = trace();
    const d = t.device('dev');
    d.open();
    d.set(1, 2); // save/suspend flow, no iteration at all
    d.set(2, 0);
    const f = only(check(t.ops), 'V1-SAVE-DRAIN');
    expect(f).toHaveLength(1);
    expect(f[0]?.message).toContain('without the VMM ever reading pending_bytes');
  });

  it('is quiet when drained to 0, and for a recovery to RUNNING after a failure', () => {
    const t = trace();
    const d = t.device('a');
    precopy(d);
    d.set(3, 2);
    d.pending(0x1000n);
    saveChunk(d, 0x1000n);
    d.pending(0n);
    d.set(2, 0);
    const e = t.device('b');
    precopy(e);
    e.set(3, 2);
    e.pending(0x1000n);
    e.read(2);
    e.write(0, { errno: EINVAL });
    e.read(2);
    e.set(2, 1); // recovery, V1-FAIL-RECOVER's business
    const g = t.device('c');
    precopy(g);
    g.set(3, 2);
    g.pending(0x1000n);
    g.qemu('vfio_migration_state_notifier', { state: 'cancelling' });
    g.set(2, 1);
    expect(only(check(t.ops), 'V1-SAVE-DRAIN')).toEqual([]);
  });

  it('is quiet when the last pending value is unknown, or the entry into 010b was not seen', () => {
    const t = trace();
    const d = t.device('a');
    precopy(d);
    d.set(3, 2);
    d.pending(undefined);
    d.set(2, 0);
    const e = t.device('b');
    e.read(2); // capture started in stop-and-copy
    e.write(0);
    expect(only(check(t.ops), 'V1-SAVE-DRAIN')).toEqual([]);
  });

  it('notices the exit through QEMU set_state when the written value is unseen', () => {
    const t = trace();
    const d = t.device('dev');
    precopy(d);
    d.set(3, 2);
    d.pending(0x1000n);
    d.write(undefined);
    d.qemu('vfio_migration_set_state', { state: 0n });
    expect(only(check(t.ops), 'V1-SAVE-DRAIN')).toHaveLength(1);
  });

  it('is uncertain when events were lost in 010b', () => {
    const t = trace();
    const d = t.device('dev');
    precopy(d);
    d.set(3, 2);
    d.pending(0x1000n);
    t.gap();
    d.set(2, 0);
    expect(only(check(t.ops), 'V1-SAVE-DRAIN')[0]?.certainty).toBe('uncertain');
  });
});

describe('V1-EMPTY-ITER', () => {
  it('fires a driver warning for data_size 0 while pending_bytes > 0', () => {
    const t = trace();
    const d = t.device('dev');
    precopy(d);
    const p = d.pending(0x1000n);
    d.dataOffset(OFF);
    const s = d.dataSize(0n);
    const f = only(check(t.ops), 'V1-EMPTY-ITER');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ blame: 'driver', severity: 'warning', certainty: 'certain' });
    expect(lines(f[0])).toEqual([p, s]);
  });

  it('is quiet when data_size is non-zero, or pending was 0', () => {
    const t = trace();
    const d = t.device('dev');
    precopy(d);
    d.pending(0x1000n);
    saveChunk(d, 0x1000n);
    d.pending(0n);
    d.dataOffset(OFF);
    d.dataSize(0n);
    expect(only(check(t.ops), 'V1-EMPTY-ITER')).toEqual([]);
  });

  it('is quiet when values are unknown', () => {
    const t = trace();
    const d = t.device('dev');
    d.pending(undefined);
    d.dataSize(0n);
    d.pending(0x10n);
    d.dataSize(undefined);
    expect(only(check(t.ops), 'V1-EMPTY-ITER')).toEqual([]);
  });

  it('is uncertain when events were lost in between', () => {
    const t = trace();
    const d = t.device('dev');
    d.pending(0x1000n);
    t.gap();
    d.dataSize(0n);
    expect(only(check(t.ops), 'V1-EMPTY-ITER')[0]?.certainty).toBe('uncertain');
  });
});
