// The convergence rules (issue 12): MIG-PRECOPY-STALL, MIG-EARLY-SWITCHOVER,
// MIG-STOPCOPY-SIZE-UNKNOWN, MIG-ESTIMATE-WRONG. Each fires on a trace that breaks it and
// stays quiet on a clean one, for the protocols whose evidence it reads.

import { describe, expect, it } from 'vitest';
import type { ProtocolOp } from '../../src/decode/ops.js';
import { createOpsChecker } from '../../src/check/ops-checker.js';
import type { CheckerOptions } from '../../src/check/checker.js';
import type { TrackerOptions } from '../../src/track/tracker.js';
import type { Finding } from '../../src/check/types.js';
import type { MigrationSession } from '../../src/track/types.js';
import { lines, only, trace } from './ops-builder.js';
import { cleanSource, OFF, saveChunk } from './scenarios.js';
import { cleanSave, F, S, v2Trace, type V2Trace } from './v2-ops-builder.js';
import { MIG_RULES } from '../../src/check/rules/index.js';

function run(ops: readonly ProtocolOp[], trackerOpts: Omit<TrackerOptions, 'observer'> = {}, checkerOpts: Omit<CheckerOptions, 'onFinding'> = {}): { findings: Finding[]; saves: MigrationSession[] } {
  const findings: Finding[] = [];
  const c = createOpsChecker({ ...checkerOpts, onFinding: (f) => findings.push(f) }, trackerOpts);
  for (const o of ops) c.op(o);
  c.end();
  const saves = c.tracker.devices().flatMap((d) => d.sessions.filter((s) => s.kind === 'save'));
  return { findings, saves };
}

const limit = (ms: number): Pick<TrackerOptions, 'downtimeLimit'> => ({ downtimeLimit: () => ({ ms, from: 'flag' }) });

/** A v1 save whose pre-copy pending_bytes follow `pending` (one chunk of 0x1000 per iteration), then drains. */
function v1Save(pending: readonly bigint[]): { ops: ProtocolOp[]; pendingLines: number[] } {
  const t = trace();
  const d = t.device('0000:65:00.0');
  d.open();
  d.region();
  d.set(1, 3);
  const pendingLines: number[] = [];
  for (const p of pending) {
    pendingLines.push(d.pending(p));
    saveChunk(d, 0x1000n);
  }
  d.set(3, 2);
  d.pending(0x1000n);
  saveChunk(d, 0x1000n);
  d.pending(0n);
  d.set(2, 0);
  d.close();
  return { ops: t.ops, pendingLines };
}

/** A v2 save: PRE_COPY with these PRECOPY_INFO replies (a 0x1000 read after each), then STOP_COPY moving `stopCopy` bytes. */
function v2Save(t: V2Trace, o: { precopy: readonly bigint[]; estimate?: bigint; stopCopy?: readonly number[]; qemu?: (d: ReturnType<V2Trace['device']>) => void }): number[] {
  const d = t.device('0000:65:00.0');
  d.open();
  d.flags(F.ALL);
  d.set(S.PRE_COPY, { session: 1 });
  const at: number[] = [];
  for (const p of o.precopy) {
    at.push(d.precopy(1, p, 0n));
    d.read(1, 0x1000);
  }
  o.qemu?.(d);
  if (o.estimate !== undefined) at.push(d.dataSize(o.estimate));
  at.push(d.set(S.STOP_COPY));
  for (const n of o.stopCopy ?? [0x1000]) d.read(1, n);
  d.read(1, 0);
  at.push(d.set(S.STOP));
  d.closeData(1);
  d.close();
  return at;
}

describe('the convergence rules are in the catalogue', () => {
  it('with their ids, severity and blame', () => {
    expect(MIG_RULES.map((r) => [r.id, r.severities, r.blames])).toEqual([
      ['MIG-PRECOPY-STALL', ['warning'], ['driver']],
      ['MIG-EARLY-SWITCHOVER', ['warning'], ['vmm']],
      ['MIG-STOPCOPY-SIZE-UNKNOWN', ['warning'], ['driver']],
      ['MIG-ESTIMATE-WRONG', ['warning'], ['driver']],
    ]);
  });
});

describe('MIG-PRECOPY-STALL', () => {
  it('fires (driver) when v1 pending_bytes did not shrink over the last 3 iterations, citing the window', () => {
    const { ops, pendingLines } = v1Save([0x8000n, 0x8000n, 0x8000n, 0x8000n]);
    const { findings, saves } = run(ops);
    const f = only(findings, 'MIG-PRECOPY-STALL');
    expect(f).toHaveLength(1);
    expect(f[0]?.blame).toBe('driver');
    expect(f[0]?.certainty).toBe('certain');
    expect(lines(f[0])).toEqual([pendingLines[0], pendingLines[3]]);
    expect(saves[0]?.convergence?.verdict).toBe('stalled');
  });

  it('fires when the v2 PRECOPY_INFO remainder grows, and says growing', () => {
    const t = v2Trace();
    v2Save(t, { precopy: [0x4000n, 0x5000n, 0x6000n, 0x7000n] });
    const { findings, saves } = run(t.ops);
    expect(only(findings, 'MIG-PRECOPY-STALL')).toHaveLength(1);
    expect(saves[0]?.convergence?.verdict).toBe('growing');
    expect(saves[0]?.convergence?.curveFrom).toBe('precopy-info');
  });

  it('is quiet on a converging save (v1 clean source, v2 shrinking curve)', () => {
    const t = trace();
    cleanSource(t.device('0000:65:00.0'));
    const v1 = run(t.ops);
    expect(only(v1.findings, 'MIG-PRECOPY-STALL')).toEqual([]);
    expect(v1.saves[0]?.convergence?.verdict).toBe('converging');
    const t2 = v2Trace();
    v2Save(t2, { precopy: [0x8000n, 0x6000n, 0x4000n, 0x2000n] });
    const v2 = run(t2.ops);
    expect(only(v2.findings, 'MIG-PRECOPY-STALL')).toEqual([]);
    expect(v2.saves[0]?.convergence?.verdict).toBe('converging');
  });

  it('N is configurable: 4 flat samples are too few to judge with N = 5 (unknown, quiet)', () => {
    const { ops } = v1Save([0x8000n, 0x8000n, 0x8000n, 0x8000n]);
    const { findings, saves } = run(ops, { convergence: { stallIterations: 5 } });
    expect(only(findings, 'MIG-PRECOPY-STALL')).toEqual([]);
    expect(saves[0]?.convergence?.verdict).toBe('unknown');
  });

  it('is uncertain when events were lost during the session', () => {
    const t = trace();
    const d = t.device('0000:65:00.0');
    d.open();
    d.region();
    d.set(1, 3);
    for (let i = 0; i < 4; i++) {
      d.pending(0x8000n);
      saveChunk(d, 0x1000n);
      if (i === 1) t.gap();
    }
    d.set(3, 2);
    d.pending(0n);
    d.set(2, 0);
    d.close();
    const f = only(run(t.ops).findings, 'MIG-PRECOPY-STALL');
    expect(f.map((x) => x.certainty)).toEqual(['uncertain']);
  });
});

describe('MIG-EARLY-SWITCHOVER', () => {
  // Pre-copy moves 4 × 0x1000 bytes in about 10 µs (≈ 1.6 GB/s): 1 MiB left predicts ≈ 0.6 ms.
  it('fires (vmm) when the estimate at switchover predicts a stop-copy over the limit', () => {
    const t = v2Trace();
    const at = v2Save(t, { precopy: [0x8000n, 0x6000n, 0x4000n, 0x2000n], estimate: 0x100000n, stopCopy: [0x80000, 0x80000] });
    const { findings, saves } = run(t.ops, limit(0.1));
    const f = only(findings, 'MIG-EARLY-SWITCHOVER');
    expect(f).toHaveLength(1);
    expect(f[0]?.blame).toBe('vmm');
    // the estimate, the stop-copy entry and its exit
    expect(lines(f[0])).toEqual(at.slice(-3));
    expect(saves[0]?.convergence?.fits).toBe('no');
    expect(saves[0]?.convergence?.throughputFrom).toBe('pre-copy');
  });

  it('is quiet when the prediction fits, and when no limit is known (fits unknown)', () => {
    const t = v2Trace();
    v2Save(t, { precopy: [0x8000n, 0x6000n, 0x4000n, 0x2000n], estimate: 0x100000n, stopCopy: [0x80000, 0x80000] });
    const roomy = run(t.ops, limit(1000));
    expect(only(roomy.findings, 'MIG-EARLY-SWITCHOVER')).toEqual([]);
    expect(roomy.saves[0]?.convergence?.fits).toBe('yes');
    const none = run(t.ops);
    expect(only(none.findings, 'MIG-EARLY-SWITCHOVER')).toEqual([]);
    expect(none.saves[0]?.convergence?.fits).toBe('unknown');
  });

  it('v1: the first pending_bytes in stop-and-copy is the estimate', () => {
    const t = trace();
    const d = t.device('0000:65:00.0');
    d.open();
    d.region();
    d.set(1, 3);
    d.pending(0x3000n);
    saveChunk(d, 0x2000n);
    d.pending(0x1000n);
    d.set(3, 2);
    d.pending(0x10000000n); // 256 MiB left at switchover
    d.dataOffset(OFF);
    d.dataSize(0x10000000n);
    d.data(false, OFF, 0x10000000);
    d.pending(0n);
    d.set(2, 0);
    d.close();
    expect(only(run(t.ops, limit(50)).findings, 'MIG-EARLY-SWITCHOVER')).toHaveLength(1);
    const clean = trace();
    cleanSource(clean.device('0000:65:00.0'));
    expect(only(run(clean.ops, limit(50)).findings, 'MIG-EARLY-SWITCHOVER')).toEqual([]);
  });
});

describe('MIG-STOPCOPY-SIZE-UNKNOWN', () => {
  it("fires (driver) on QEMU's failed size query (ret < 0) and on the 100 GiB sentinel", () => {
    const t = v2Trace();
    let q = 0;
    v2Save(t, { precopy: [0x4000n, 0x2000n], qemu: (d) => (q = d.qemu('vfio_query_stop_copy_size', { size: 107374182400n, ret: -95n })) });
    const f = only(run(t.ops).findings, 'MIG-STOPCOPY-SIZE-UNKNOWN');
    expect(f).toHaveLength(1);
    expect(f[0]?.blame).toBe('driver');
    expect(lines(f[0])).toEqual([q]);
    const t2 = v2Trace();
    v2Save(t2, { precopy: [0x4000n, 0x2000n], qemu: (d) => d.qemu('vfio_state_pending', { stopcopySize: 107374182400n, precopyInitSize: 0x2000n, precopyDirtySize: 0n, exact: 1n, final: 0n }) });
    expect(only(run(t2.ops).findings, 'MIG-STOPCOPY-SIZE-UNKNOWN')).toHaveLength(1);
  });

  it('fires when the driver refuses MIG_DATA_SIZE itself (the syscall view of the same failure)', () => {
    const t = v2Trace();
    const d = t.device('0000:65:00.0');
    d.open();
    d.set(S.PRE_COPY, { session: 1 });
    d.precopy(1, 0x4000n, 0n);
    const failed = t.ops.push({ op: 'v2-data-size', device: d.ref, tsNs: 99_000n, tid: 1, comm: 'qemu', src: { file: t.file, line: 99 }, call: { argsz: 16, flags: 0x10009 }, stopCopyLength: undefined, result: { ok: false, ret: -95, errno: 95 } });
    expect(failed).toBeGreaterThan(0);
    d.set(S.STOP_COPY);
    d.read(1, 0);
    d.set(S.STOP);
    const f = only(run(t.ops).findings, 'MIG-STOPCOPY-SIZE-UNKNOWN');
    expect(lines(f[0])).toEqual([99]);
  });

  /** A MIG_DATA_SIZE GET the driver refused with EIO (the syscall view), on the builder's next line. */
  const failedSize = (t: V2Trace, d: ReturnType<V2Trace['device']>): number => {
    const line = d.dataSize(0n);
    const o = t.ops[t.ops.length - 1];
    if (o?.op !== 'v2-data-size') throw new Error('expected the v2-data-size op just pushed');
    t.ops[t.ops.length - 1] = { ...o, stopCopyLength: undefined, result: { ok: false, ret: -5, errno: 5 } };
    return line;
  };
  const SENTINEL = 107374182400n;

  it("counts a query once when both its failed ioctl and QEMU's sentinel after it are in the inputs (a capture merged with QEMU's log)", () => {
    const t = v2Trace();
    const d = t.device('0000:65:00.0');
    d.open();
    d.flags(F.ALL);
    d.set(S.PRE_COPY, { session: 1 });
    const failed: number[] = [];
    for (const left of [0x2000n, 0n]) {
      failed.push(failedSize(t, d));
      d.precopy(1, left, 0n);
      d.qemu('vfio_state_pending_exact', { precopy: SENTINEL + left, postcopy: 0n, stopcopySize: SENTINEL, precopyInitialSize: left, precopyDirtySize: 0n });
      if (left > 0n) d.read(1, 0x2000);
    }
    d.set(S.STOP_COPY);
    d.read(1, 0x1000);
    d.read(1, 0);
    d.set(S.STOP);
    const { findings, saves } = run(t.ops);
    expect(saves[0]?.convergence?.stopCopySizeUnknown.map((e) => e.src.line)).toEqual(failed);
    const f = only(findings, 'MIG-STOPCOPY-SIZE-UNKNOWN');
    expect(f[0]?.message).toMatch(/\(2 times:/);
  });

  it("counts QEMU's own report of a query once when it shows in two events (11.1: vfio_query_stop_copy_size, then vfio_state_pending)", () => {
    const t = v2Trace();
    const queries: number[] = [];
    v2Save(t, {
      precopy: [0x4000n, 0x2000n],
      qemu: (d) => {
        for (let i = 0; i < 2; i++) {
          queries.push(d.qemu('vfio_query_stop_copy_size', { size: SENTINEL, ret: -5n }));
          d.qemu('vfio_state_pending', { stopcopySize: SENTINEL, precopyInitSize: 0x2000n, precopyDirtySize: 0n, exact: 1n, final: 0n });
        }
      },
    });
    const { findings, saves } = run(t.ops);
    expect(saves[0]?.convergence?.stopCopySizeUnknown.map((e) => e.src.line)).toEqual(queries);
    expect(only(findings, 'MIG-STOPCOPY-SIZE-UNKNOWN')[0]?.message).toMatch(/\(2 times:/);
  });

  it('is quiet when the size query answered', () => {
    const t = v2Trace();
    v2Save(t, { precopy: [0x4000n, 0x2000n], qemu: (d) => d.qemu('vfio_query_stop_copy_size', { size: 0x3000n, ret: 0n }) });
    const { findings, saves } = run(t.ops);
    expect(only(findings, 'MIG-STOPCOPY-SIZE-UNKNOWN')).toEqual([]);
    expect(saves[0]?.convergence?.stopCopyEstimateBytes).toBe(0x3000n);
    expect(saves[0]?.convergence?.estimateFrom).toBe('qemu-stop-copy-size');
  });
});

describe('MIG-ESTIMATE-WRONG', () => {
  it('fires (driver) when stop-copy moved more than twice the MIG_DATA_SIZE estimate', () => {
    const t = v2Trace();
    v2Save(t, { precopy: [0x4000n, 0x2000n], estimate: 0x1000n, stopCopy: [0x2000, 0x2000] });
    const f = only(run(t.ops).findings, 'MIG-ESTIMATE-WRONG');
    expect(f).toHaveLength(1);
    expect(f[0]?.blame).toBe('driver');
    expect(f[0]?.message).toMatch(/16\.0 KiB \(16384 B\).*4\.0 KiB \(4096 B\)/);
  });

  it('the factor is configurable, and a clean save is quiet', () => {
    const t = v2Trace();
    v2Save(t, { precopy: [0x4000n, 0x2000n], estimate: 0x1000n, stopCopy: [0x2000, 0x2000] });
    expect(only(run(t.ops, {}, { estimateFactor: 8 }).findings, 'MIG-ESTIMATE-WRONG')).toEqual([]);
    const c = v2Trace();
    cleanSave(c);
    const clean = run(c.ops);
    expect(only(clean.findings, 'MIG-ESTIMATE-WRONG')).toEqual([]);
    expect(clean.saves[0]?.convergence?.stopCopyActualBytes).toBe(0x3000);
    // Its only MIG_DATA_SIZE came before pre-copy began: no estimate at switchover, not a stale one.
    expect(clean.saves[0]?.convergence?.stopCopyEstimateBytes).toBeUndefined();
  });

  it('is quiet when the data moved is not shown (exits unseen)', () => {
    const t = v2Trace();
    v2Save(t, { precopy: [0x4000n, 0x2000n], estimate: 0x1000n, stopCopy: [] });
    const { findings, saves } = run(t.ops);
    expect(only(findings, 'MIG-ESTIMATE-WRONG')).toEqual([]);
    expect(saves[0]?.convergence?.stopCopyActualBytes).toBeUndefined();
  });
});
