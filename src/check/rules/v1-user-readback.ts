// V1-USER-READBACK (spec §6.1; §2.3 rule 3 [L58]): after a failed device_state write the
// VMM should read device_state to learn where the device is before writing it again.

import { gapSince } from '../../track/device-view.js';
import { evidence, resultText } from '../format.js';
import type { DeviceRuleDef } from '../rule.js';

export const v1UserReadback: DeviceRuleDef = {
  scope: 'device',
  id: 'V1-USER-READBACK',
  title: 'No read-back after a failed transition',
  severities: ['warning'],
  blames: ['vmm'],
  specRef: 'spec §6.1 V1-USER-READBACK; §2.3 rule 3 [L58]',
  description:
    'After a device_state write fails, the VMM should read device_state before it writes device_state again: the driver reports there whether the device stayed in its previous state or went to the error state. A second write without that read is a VMM warning. EAGAIN failures are exempt: they are transient and a retry is the expected answer (V1-EAGAIN).',
  uncertainWhen: 'Events were lost between the failed write and the next write: the read may have been among them.',
  create(env) {
    // Whether a failed write still waits for its read is the tracker's (view.unreadFailure).
    return {
      op(o, ctx) {
        const failed = ctx.unreadFailure;
        if (o.op !== 'v1-state-write' || failed === undefined) return;
        env.report(ctx, {
          severity: 'warning',
          blame: 'vmm',
          tsNs: o.tsNs,
          message: `The device_state write ${resultText(failed.write.result)}, and the VMM wrote device_state again without reading it first. After a failed transition the VMM should read device_state to learn whether the device kept its previous state or entered the error state.`,
          evidence: [evidence(failed.write), evidence(o)],
          uncertain: gapSince(ctx, failed.gapSerial),
        });
      },
    };
  },
};
