// Verdicts and outcomes read from the same facts (issue 16 "Fidelity defects"): each case
// failed before the checker read the tracker's model. Every case asserts the finding (or
// its absence) AND the session outcome of the same trace, since they must agree.

import { describe, expect, it } from 'vitest';
import { createOpsChecker } from '../../src/check/index.js';
import type { Finding } from '../../src/check/types.js';
import type { ProtocolOp } from '../../src/decode/ops.js';
import type { MigrationSession } from '../../src/track/types.js';
import { EAGAIN, EIO, lines, only, trace, type Dev } from './ops-builder.js';
import { saveChunk } from './scenarios.js';

function run(ops: readonly ProtocolOp[]): { findings: Finding[]; sessions: MigrationSession[] } {
  const findings: Finding[] = [];
  const c = createOpsChecker({ onFinding: (f) => findings.push(f) });
  for (const o of ops) c.op(o);
  c.end();
  return { findings, sessions: c.tracker.devices().flatMap((d) => d.sessions) };
}

function precopy(d: Dev): void {
  d.open();
  d.region();
  d.set(1, 3);
}

describe('V1-SAVE-DRAIN and the save outcome agree', () => {
  it('a read showing the driver left 010b on its own is V1-ASYNC (driver), not also V1-SAVE-DRAIN (vmm)', () => {
    const t = trace();
    const d = t.device('dev');
    precopy(d);
    d.set(3, 2);
    d.pending(0x2000n);
    const moved = d.read(0); // nobody wrote 000b
    const { findings, sessions } = run(t.ops);
    expect(only(findings, 'V1-SAVE-DRAIN')).toEqual([]);
    expect(only(findings, 'V1-ASYNC').map((f) => f.blame)).toEqual(['driver']);
    expect(sessions[0]?.outcome).toBe('failed');
    expect(sessions[0]?.reason).toContain('moved on its own');
    expect(sessions[0]?.reasonSrc?.line).toBe(moved);
  });

  it('pending known only from QEMU\'s vfio_update_pending (values invisible to the tracer): drained → completed, no finding', () => {
    const t = trace();
    const d = t.device('0000:65:00.0');
    d.open();
    d.region();
    d.write(undefined);
    d.qemu('vfio_migration_set_state', { state: 3n });
    d.write(undefined);
    d.qemu('vfio_migration_set_state', { state: 2n });
    d.pending(undefined);
    d.qemu('vfio_update_pending', { pending: 0x1000n });
    d.pending(undefined);
    d.qemu('vfio_update_pending', { pending: 0n });
    d.write(undefined);
    d.qemu('vfio_migration_set_state', { state: 0n });
    const { findings, sessions } = run(t.ops);
    expect(findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(sessions.map((s) => s.outcome)).toEqual(['completed']);
    expect(sessions[0]?.drain?.status).toBe('drained');
  });

  it('pending known only from QEMU\'s event and not drained → failed, with the finding citing the event', () => {
    const t = trace();
    const d = t.device('0000:65:00.0');
    d.open();
    d.region();
    d.write(undefined);
    const enter = d.qemu('vfio_migration_set_state', { state: 2n });
    d.pending(undefined);
    const ev = d.qemu('vfio_update_pending', { pending: 0x3000n });
    d.write(undefined);
    const leave = d.qemu('vfio_migration_set_state', { state: 0n });
    const { findings, sessions } = run(t.ops);
    const f = only(findings, 'V1-SAVE-DRAIN');
    expect(f.map((x) => x.blame)).toEqual(['vmm']);
    expect(lines(f[0])).toEqual([enter, ev, leave]);
    expect(sessions.map((s) => s.outcome)).toEqual(['failed']);
    expect(sessions[0]?.reason).toContain('0x3000');
  });
});

describe('session outcomes carry their reason', () => {
  it('a save with a refused transition after which the VMM gives up is failed, not incomplete', () => {
    const t = trace();
    const d = t.device('dev');
    precopy(d);
    d.pending(0x1000n);
    saveChunk(d, 0x1000n);
    d.read(3);
    const refused = d.write(2, { errno: EIO });
    d.read(3);
    // … and nothing more: the trace ends.
    const { sessions } = run(t.ops);
    expect(sessions.map((s) => s.outcome)).toEqual(['failed']);
    expect(sessions[0]?.reason).toMatch(/refused PRE_COPY → SAVING \(010b\).*EIO/);
    expect(sessions[0]?.reasonSrc?.line).toBe(refused);
  });

  it('an EAGAIN is not a failed transition: the save that ends at the trace\'s end is incomplete', () => {
    const t = trace();
    const d = t.device('dev');
    precopy(d);
    d.write(2, { errno: EAGAIN });
    const { sessions } = run(t.ops);
    expect(sessions.map((s) => `${s.outcome}: ${s.reason}`)).toEqual(['incomplete: the trace ended mid-session']);
  });

  it('a refused start of a save (save_setup failed) is a failed session of its own', () => {
    const t = trace();
    const d = t.device('dev');
    d.open();
    d.region();
    d.read(1);
    const refused = d.write(3, { errno: EIO });
    const { sessions } = run(t.ops);
    expect(sessions.map((s) => [s.kind, s.outcome, s.reasonSrc?.line])).toEqual([['save', 'failed', refused]]);
  });
});
