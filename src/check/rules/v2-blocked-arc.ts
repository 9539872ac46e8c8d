// V2-BLOCKED-ARC (spec §6.2; §5.5 "Kernel bug" [LHEAD], fix patch 2026): STOP_COPY →
// PRE_COPY or PRE_COPY_P2P is blocked. Requesting it is a VMM error; success is a driver
// error (it must fail with EINVAL). On PRE_COPY-capable devices, kernels since 6.2 without
// the 2026 fix spin forever in vfio_mig_get_next_state() instead, holding the state mutex:
// an ioctl that never returns.
//
// The hang is only decidable when the trace shows the ioctl's entry without its exit
// (ftrace / trace-cmd syscall events; bpftrace's migscope.bt prints at exit, so a hung
// call leaves no record at all) and the trace goes on for at least T seconds after the
// entry (RuleOptions.v2HangNs, `v2HangSeconds`). Global: the trace's last timestamp is
// over all devices.

import type { AnyDeviceOp, V2Op } from '../../decode/ops.js';
import { MIG_FLAG_PRE_COPY } from '../../protocol/v2.js';
import { V2_PRE_COPY, V2_PRE_COPY_P2P, V2_STOP_COPY } from '../../track/v2-model.js';
import type { DeviceContext } from '../../track/device-view.js';
import type { GlobalRuleDef } from '../rule.js';
import { v2Evidence, v2StateText } from './v2-format.js';

/**
 * Entries without exit kept at once (over every device), against a flood of them (each
 * lost-events window completes a thread's open ioctl without exit). Those past it are
 * counted through env.notJudged (Analysis.notJudged), never judged silently as fine.
 */
export const MAX_PENDING = 1000;

interface Pending {
  readonly o: AnyDeviceOp;
  readonly ctx: DeviceContext;
  readonly gapSerial: number;
}

export const v2BlockedArc: GlobalRuleDef = {
  scope: 'global',
  id: 'V2-BLOCKED-ARC',
  title: 'STOP_COPY → PRE_COPY requested, or a state ioctl that never returned',
  severities: ['error'],
  blames: ['vmm', 'driver'],
  specRef: 'spec §6.2 V2-BLOCKED-ARC; §5.3, §5.5 [LHEAD]; fix "terminate the skip loop on ERROR" (2026)',
  description:
    'A SET from STOP_COPY to PRE_COPY or PRE_COPY_P2P is a VMM error: the arc is blocked and must fail with EINVAL (success is a driver error). On PRE_COPY-capable devices, kernels since 6.2 without the 2026 fix instead loop forever inside the ioctl. A VFIO_DEVICE_FEATURE ioctl whose entry the trace shows but whose exit it does not, with the trace going on for at least T seconds (default 10, configurable), is reported as a kernel (driver-side) error. Only ftrace/trace-cmd syscall traces can show that; bpftrace captures print a syscall at its exit, so a hung ioctl leaves no record.',
  uncertainWhen: 'Events were lost after the entry: the exit may have been among them.',
  notJudgedWhat: `VFIO_DEVICE_FEATURE ioctls without an exit, past the ${MAX_PENDING} kept at once, not judged for a hang`,
  create(env) {
    let lastTs: bigint | undefined;
    const pending: Pending[] = [];
    const seen = (o: AnyDeviceOp): void => {
      if (o.tsNs !== undefined && (lastTs === undefined || o.tsNs > lastTs)) lastTs = o.tsNs;
    };
    /** Report an ioctl entered at least the limit before `horizonNs` without an exit by then. */
    const judge = (p: Pending, horizonNs: bigint | undefined, when: string): void => {
      const t = p.o.tsNs;
      if (t === undefined || horizonNs === undefined || horizonNs - t < env.options.v2HangNs) return;
      const secs = Number(horizonNs - t) / 1e9;
      env.report(p.ctx, {
        severity: 'error',
        blame: 'driver',
        tsNs: t,
        message: `A VFIO_DEVICE_FEATURE ioctl entered here had not returned ${secs.toFixed(1)} s later, ${when} (limit ${Number(env.options.v2HangNs) / 1e9} s). The kernel's skip loop for a blocked STOP_COPY → PRE_COPY request (§5.5) hangs exactly like this; so would a driver stuck in an arc.`,
        evidence: [v2Evidence(p.o, 'entry without exit')],
        uncertain: p.ctx.gaps.count !== p.gapSerial,
      });
    };
    return {
      op(o, _ctx) {
        seen(o);
      },
      v2Op(o: V2Op, ctx) {
        seen(o);
        if ((o.op === 'v2-set-state' || o.op === 'v2-feature') && o.result.ok === undefined && o.tsNs !== undefined) {
          if (pending.length < MAX_PENDING) pending.push({ o, ctx, gapSerial: ctx.gaps.count });
          else env.notJudged();
        }
        if (o.op !== 'v2-set-state') return;
        const st = ctx.v2.state;
        if (st === undefined || st.raw !== V2_STOP_COPY || (o.requested !== V2_PRE_COPY && o.requested !== V2_PRE_COPY_P2P)) return;
        const ev = [{ src: st.src, what: `${st.what} (device in STOP_COPY)` }, v2Evidence(o)];
        const uncertain = ctx.gaps.count !== st.gapSerial;
        const preCopy = ((ctx.v2.learnedFlags?.value ?? ctx.v2.shownFlags) & MIG_FLAG_PRE_COPY) !== 0;
        env.report(ctx, {
          severity: 'error',
          blame: 'vmm',
          tsNs: o.tsNs,
          message: `The VMM requested STOP_COPY → ${v2StateText(o.requested)}, a blocked arc that must fail with EINVAL${preCopy ? '; on kernels since 6.2 without the 2026 fix it makes the ioctl loop forever holding the device\'s state mutex' : ''}.`,
          evidence: ev,
          uncertain,
        });
        if (o.result.ok === true) {
          env.report(ctx, { severity: 'error', blame: 'driver', tsNs: o.tsNs, message: `The kernel accepted STOP_COPY → ${v2StateText(o.requested)}; the arc is blocked and must fail with EINVAL.`, evidence: ev, uncertain });
        }
      },
      processEvicted(f) {
        // A gone process's ioctls without an exit: the leader's exit is the last the trace
        // shows of it (another thread may still be inside the ioctl: a thread stuck in the
        // kernel outlives its leader), so each is judged as end() judges one at the trace's
        // end, with the exit as the horizon; what became of those not past the limit by then
        // the trace cannot show (no verdict). Then they leave the list.
        const mine = pending.filter((p) => p.ctx.device.pid === f.pid);
        if (mine.length === 0) return;
        for (const p of mine) judge(p, f.tsNs, 'when its process exited');
        pending.splice(0, pending.length, ...pending.filter((p) => !mine.includes(p)));
      },
      liveEntries: () => pending.length,
      end() {
        if (lastTs === undefined) return;
        for (const p of pending) judge(p, lastTs, 'when the trace ends');
      },
    };
  },
};
