// MIG-EARLY-SWITCHOVER (issue 12): the VMM switched the device to stop-copy while the
// device's own estimate of what was left, at the throughput the trace showed, predicted a
// stop-copy longer than the downtime limit. The VMM could have known: it had the
// estimate (MIG_DATA_SIZE, pending_bytes) and the limit.
//
// Reads the tracker's convergence account (MigrationSession.convergence.fits), the figure
// the reports show.

import type { DeviceRuleDef } from '../rule.js';
import { bytesText, msText } from '../format.js';

export const migEarlySwitchover: DeviceRuleDef = {
  scope: 'device',
  id: 'MIG-EARLY-SWITCHOVER',
  title: 'Switched over with more left than the downtime limit allows',
  severities: ['warning'],
  blames: ['vmm'],
  specRef: 'issue 12; spec §5.2 MIG_DATA_SIZE, §2.5 pending_bytes; QEMU migrate-set-parameters downtime-limit',
  description:
    'The device entered stop-copy while its last estimate of the stop-copy data (v2 MIG_DATA_SIZE or QEMU\'s stop-copy size query; v1 pending_bytes), divided by the throughput the trace showed (pre-copy, else stop-copy), predicted a stop-copy longer than the downtime limit (`--downtime-limit`, or the migrate-set-parameters downtime-limit the inputs showed before the session ended). Quiet when the estimate, the throughput or the limit is not known.',
  uncertainWhen: 'Events were lost during the session or the session began before the trace: the estimate or the throughput may be off.',
  create(env) {
    return {
      fact(f, ctx) {
        if (f.kind !== 'session-end') return;
        const c = f.session.convergence;
        if (c === undefined || c.fits !== 'no' || c.predictedStopCopyNs === undefined || c.downtimeLimitMs === undefined || c.stopCopyEvidence.length === 0) return;
        env.report(ctx, {
          severity: 'warning',
          blame: 'vmm',
          tsNs: f.session.endNs,
          message: `The VMM switched over to stop-copy with ${bytesText(c.stopCopyEstimateBytes ?? 0n)} still to move by the device's estimate: at ${Math.round(c.throughputBytesPerS ?? 0)} bytes/s (${c.throughputFrom ?? '?'} throughput) that is a predicted stop-copy of ${msText(c.predictedStopCopyNs)}, over the downtime limit of ${c.downtimeLimitMs} ms (${c.downtimeLimitFrom === 'flag' ? '--downtime-limit' : 'migrate-set-parameters'})${c.actualStopCopyNs !== undefined ? `; it took ${msText(c.actualStopCopyNs)}` : ''}.`,
          evidence: [...(c.estimateEvidence !== undefined ? [c.estimateEvidence] : []), ...c.stopCopyEvidence],
          uncertain: c.uncertain,
        });
      },
    };
  },
};
