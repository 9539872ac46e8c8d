// V2-FAIL-RECOVER (spec §6.2; §5.2 [L518], §5.6 [QV2]): after a failed SET that left the
// device outside ERROR, the VMM should SET a recovery state or reset before the story of
// the device ends (close, end of trace). Requests the core must have rejected without a
// state change (predictSet().rejectCertain) owe nothing.

import type { DeviceRuleDef } from '../rule.js';
import { v2Evidence } from './v2-format.js';

export const v2FailRecover: DeviceRuleDef = {
  scope: 'device',
  id: 'V2-FAIL-RECOVER',
  title: 'No recovery after a failed SET',
  severities: ['warning'],
  blames: ['vmm'],
  specRef: 'spec §6.2 V2-FAIL-RECOVER; §5.2 [L518]; §5.6 [QV2]',
  description:
    'After a failed SET MIG_DEVICE_STATE that may have moved the device (it is left in the original state, on the path, or in ERROR), the VMM should either SET a recovery state (QEMU\'s recover state) or reset the device. If the device is closed or the trace ends first, with no successful SET or reset and no GET showing ERROR, that is a VMM warning.',
  uncertainWhen: 'Events were lost after the failure: a lost recovery SET or reset would explain it.',
  create(env) {
    // Whether a recovery is owed is the tracker's (v2-context.ts recoveryOwed).
    return {
      finish(reason, at, ctx) {
        const p = ctx.v2.recoveryOwed;
        if (p === undefined) return;
        env.report(ctx, {
          severity: 'warning',
          blame: 'vmm',
          tsNs: p.o.tsNs,
          message: `After a failed SET, the VMM neither set a recovery state nor reset the device before ${reason === 'close' ? 'closing it' : 'the trace ended'}.`,
          evidence: [v2Evidence(p.o), ...(at === undefined ? [] : [{ src: at, what: reason === 'close' ? 'device closed' : 'end of trace' }])],
          uncertain: ctx.gaps.count !== p.gapSerial,
        });
      },
    };
  },
};
