// V2-RESUME-ABORT (spec §6.2; §5.3 [L518]): after a failed request out of RESUMING (the
// driver rejected the data), the VMM should reset the device before using it again: "to
// abort a RESUMING session the device must be reset".

import type { V2Op } from '../../decode/ops.js';
import type { DeviceRuleDef } from '../rule.js';
import { v2Evidence } from './v2-format.js';
import type { V2FailedSet } from '../../track/v2-context.js';
import { V2_RESUMING } from '../../track/v2-model.js';

export const v2ResumeAbort: DeviceRuleDef = {
  scope: 'device',
  id: 'V2-RESUME-ABORT',
  title: 'Failed resume not aborted by reset',
  severities: ['warning'],
  blames: ['vmm'],
  specRef: 'spec §6.2 V2-RESUME-ABORT; §5.3 [L518]',
  description: 'When a SET out of RESUMING fails (the driver rejected the loaded data), the VMM must reset the device (VFIO_DEVICE_RESET) to abort the resuming session. Using the device first (another SET, a data write, a device access) is a VMM warning.',
  uncertainWhen: 'Events were lost between the failure and the use: a lost reset would explain it.',
  create(env) {
    // The failed SET is the tracker's (v2-context.ts failedSet, forgotten at a reset); the
    // rule remembers which failure it already reported a use after.
    const reported = new WeakSet<V2FailedSet>();
    return {
      v2Op(o: V2Op, ctx) {
        const use = o.op === 'v2-set-state' || (o.op === 'v2-data' && o.write) || o.op === 'v2-device-access';
        const f = ctx.v2.failedSet;
        if (!use || f === undefined || !f.hard || f.before?.raw !== V2_RESUMING || f.o.requested === V2_RESUMING || reported.has(f)) return;
        reported.add(f);
        env.report(ctx, { severity: 'warning', blame: 'vmm', tsNs: o.tsNs, message: 'The VMM used the device after a failed request out of RESUMING without resetting it first; a failed resume must be aborted with VFIO_DEVICE_RESET.', evidence: [v2Evidence(f.o), v2Evidence(o)], uncertain: ctx.gaps.count !== f.gapSerial });
      },
    };
  },
};
