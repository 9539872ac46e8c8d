// V1-SAVING-TO-RESUMING (spec §6.1; §2.6, §2.7 [REV: Alex 2020-01-08]): going straight
// from saving (01Xb) to resuming (100b) is allowed but of "questionable value".

import { V1_RESUMING, V1_STATE_MASK, v1IsSaving } from '../../protocol/v1.js';
import { stateEvidence } from '../../track/device-view.js';
import { evidence, resultText, stateText } from '../format.js';
import type { DeviceRuleDef } from '../rule.js';

export const v1SavingToResuming: DeviceRuleDef = {
  scope: 'device',
  id: 'V1-SAVING-TO-RESUMING',
  title: 'Direct saving → resuming transition',
  severities: ['warning'],
  blames: ['vmm'],
  specRef: 'spec §6.1 V1-SAVING-TO-RESUMING; §2.6, §2.7 [REV: Alex 2020-01-08]',
  description:
    'A device_state write of RESUMING (100b) while the device is saving (010b or 011b) asks for a direct saving → resuming transition. It is not forbidden, but the review called it of "questionable value": a VMM warning, whatever the driver answered. Needs the state before the write and the written value.',
  uncertainWhen: 'Events were lost since the saving state was last seen: the device may have left it.',
  create(env) {
    return {
      op(o, ctx) {
        if (o.op !== 'v1-state-write' || o.value === undefined || (o.value & V1_STATE_MASK) !== V1_RESUMING) return;
        const from = ctx.state;
        if (from === undefined || !v1IsSaving(from.raw)) return;
        env.report(ctx, {
          severity: 'warning',
          blame: 'vmm',
          tsNs: o.tsNs,
          message: `The VMM asked for ${stateText(from.raw)} → ${stateText(o.value)} directly (write ${resultText(o.result)}). Going from saving straight to resuming is allowed but of questionable value; normally a device resumes from RUNNING or STOP.`,
          evidence: [stateEvidence(from, 'state before the write'), evidence(o)],
          uncertain: ctx.stateUncertain,
        });
      },
    };
  },
};
