// MIG-PRECOPY-STALL (issue 12; spec field-2026.md "vGPU non-convergence"): over the last N
// pre-copy iterations the device's remaining bytes did not shrink, or grew. Pre-copy can
// then never converge: the VMM must switch over with the whole remainder (long downtime)
// or give up. The driver's fault: it keeps dirtying (or re-reporting) state faster than it
// hands it over.
//
// Reads the tracker's convergence account of the session (MigrationSession.convergence,
// track/convergence.ts), whose verdict the reports show: the finding and the verdict agree.

import type { DeviceRuleDef } from '../rule.js';

export const migPrecopyStall: DeviceRuleDef = {
  scope: 'device',
  id: 'MIG-PRECOPY-STALL',
  title: 'Pre-copy did not converge',
  severities: ['warning'],
  blames: ['driver'],
  specRef: 'issue 12; spec §2.5 pending_bytes, §5.4 PRECOPY_INFO; field-2026.md (vGPU non-convergence)',
  description:
    'Over the last N pre-copy iterations (default 3, `--stall-iterations`) the remaining bytes the device reported (v1 pending_bytes, v2 PRECOPY_INFO initial + dirty, or QEMU\'s vfio_save_iterate / vfio_state_pending sizes) shrank by less than 1 %, or grew. Pre-copy cannot converge: the switchover must move the whole remainder while the VM is stopped. Needs N + 1 samples in pre-copy; with fewer the verdict is unknown and the rule is quiet.',
  uncertainWhen: 'Events were lost during the session, the session began before the trace, or samples were dropped past the cap: the missing samples may have shown a shrink.',
  create(env) {
    return {
      fact(f, ctx) {
        if (f.kind !== 'session-end') return;
        const c = f.session.convergence;
        if (c === undefined || (c.verdict !== 'stalled' && c.verdict !== 'growing')) return;
        env.report(ctx, {
          severity: 'warning',
          blame: 'driver',
          tsNs: f.session.endNs,
          message: `Pre-copy did not converge: ${c.verdictReason}${c.dirtyRateBytesPerS !== undefined ? `; the device dirtied about ${Math.round(c.dirtyRateBytesPerS)} bytes/s` : ''}. The switchover then has to move the remainder while the VM is stopped.`,
          evidence: c.verdictEvidence,
          uncertain: c.uncertain,
        });
      },
    };
  },
};
