// V2-STATE-RANGE (spec §6.2; §5.5 step 2 [LHEAD]): a SET of ERROR (0) or of a value ≥ 8
// must fail with EINVAL. Issuing one is a VMM error; success is a driver error.

import type { V2Op } from '../../decode/ops.js';
import { V2_STATES } from '../../protocol/v2.js';
import type { DeviceRuleDef } from '../rule.js';
import { v2Evidence, v2StateText } from './v2-format.js';

export const v2StateRange: DeviceRuleDef = {
  scope: 'device',
  id: 'V2-STATE-RANGE',
  title: 'SET of ERROR or of an out-of-range state',
  severities: ['error'],
  blames: ['vmm', 'driver'],
  specRef: 'spec §6.2 V2-STATE-RANGE; §5.3, §5.5 [LHEAD]',
  description:
    'VFIO_DEVICE_FEATURE SET MIG_DEVICE_STATE with device_state 0 (ERROR, which cannot be requested) or ≥ 8 (no such state) is a VMM error. vfio_mig_get_next_state() rejects it with EINVAL, so success is a driver error.',
  uncertainWhen: 'Never: the finding rests on one ioctl record.',
  create(env) {
    return {
      v2Op(o: V2Op, ctx) {
        if (o.op !== 'v2-set-state') return;
        const r = o.requested;
        if (r !== 0 && r < V2_STATES.length) return;
        const what = r === 0 ? 'ERROR (0), which cannot be requested' : `${v2StateText(r)}, which is out of range`;
        env.report(ctx, { severity: 'error', blame: 'vmm', tsNs: o.tsNs, message: `The VMM requested device_state ${what}.`, evidence: [v2Evidence(o)], uncertain: false });
        if (o.result.ok === true) {
          env.report(ctx, { severity: 'error', blame: 'driver', tsNs: o.tsNs, message: `The kernel accepted a SET of ${what}; it must fail with EINVAL.`, evidence: [v2Evidence(o)], uncertain: false });
        }
      },
    };
  },
};
