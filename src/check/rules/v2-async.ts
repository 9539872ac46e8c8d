// V2-ASYNC (spec §6.2; §5.2 "the driver must not change state asynchronously" [L518]): a
// GET that differs from the previous GET with no SET or reset in between. (A difference
// from a successful SET is V2-ARC; after a reset, V2-ERROR-EXIT.)

import type { V2Op } from '../../decode/ops.js';
import type { DeviceRuleDef } from '../rule.js';
import { v2Evidence, v2StateText } from './v2-format.js';

export const v2Async: DeviceRuleDef = {
  scope: 'device',
  id: 'V2-ASYNC',
  title: 'Device state changed by itself',
  severities: ['error'],
  blames: ['driver'],
  specRef: 'spec §6.2 V2-ASYNC; §5.2 [L518]',
  description:
    'Only SET MIG_DEVICE_STATE and VFIO_DEVICE_RESET change a v2 device\'s state. A GET that returns a different state from the previous GET (or from QEMU\'s own record of the state), with no SET or reset in between, is a driver error.',
  uncertainWhen: 'Events were lost between the two observations: a lost SET or reset would explain the change.',
  create(env) {
    return {
      v2Op(o: V2Op, ctx) {
        if (o.op !== 'v2-get-state' || o.result.ok !== true || o.state === undefined) return;
        const st = ctx.v2.state;
        if (st === undefined || (st.how !== 'get' && st.how !== 'qemu') || st.raw === o.state) return;
        env.report(ctx, {
          severity: 'error',
          blame: 'driver',
          tsNs: o.tsNs,
          message: `The device state changed from ${v2StateText(st.raw)} to ${v2StateText(o.state)} with no SET or reset in between.`,
          evidence: [{ src: st.src, what: st.what }, v2Evidence(o)],
          uncertain: ctx.gaps.count !== st.gapSerial,
        });
      },
    };
  },
};
