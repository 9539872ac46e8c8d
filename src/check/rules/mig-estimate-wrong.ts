// MIG-ESTIMATE-WRONG (issue 12): stop-copy moved more than a factor (default 2,
// `--estimate-factor`) times the device's own last estimate of it. A VMM that trusts the
// estimate switches over expecting a downtime it cannot have. The driver's fault.
//
// Reads the tracker's convergence account (stopCopyEstimateBytes, stopCopyActualBytes).

import type { DeviceRuleDef } from '../rule.js';
import { bytesText } from '../format.js';

export const migEstimateWrong: DeviceRuleDef = {
  scope: 'device',
  id: 'MIG-ESTIMATE-WRONG',
  title: 'Stop-copy moved far more than the device estimated',
  severities: ['warning'],
  blames: ['driver'],
  specRef: 'issue 12; spec §5.2 MIG_DATA_SIZE, §2.5 pending_bytes',
  description:
    'The data read from the device in stop-copy exceeds its last estimate before (v2 MIG_DATA_SIZE or QEMU\'s stop-copy size query; v1 the first pending_bytes read in stop-and-copy, else the last in pre-copy) by more than a factor (default 2, `--estimate-factor`). Needs the data bytes (syscall exits) and an estimate; quiet otherwise.',
  uncertainWhen: 'Events were lost during the session: a later estimate may be missing.',
  create(env) {
    return {
      fact(f, ctx) {
        if (f.kind !== 'session-end') return;
        const c = f.session.convergence;
        if (c === undefined || c.stopCopyEstimateBytes === undefined || c.stopCopyActualBytes === undefined) return;
        const est = Number(c.stopCopyEstimateBytes);
        if (c.stopCopyActualBytes <= est * env.options.estimateFactor) return;
        env.report(ctx, {
          severity: 'warning',
          blame: 'driver',
          tsNs: f.session.endNs,
          message: `Stop-copy moved ${bytesText(c.stopCopyActualBytes)}, more than ${env.options.estimateFactor} times the device's own estimate of ${bytesText(c.stopCopyEstimateBytes)} (${c.estimateFrom ?? 'estimate'}). A VMM that trusts the estimate plans a downtime it cannot have.`,
          evidence: [...(c.estimateEvidence !== undefined ? [c.estimateEvidence] : []), ...c.stopCopyEvidence],
          uncertain: c.uncertain,
        });
      },
    };
  },
};
