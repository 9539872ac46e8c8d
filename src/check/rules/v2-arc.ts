// V2-ARC (spec §6.2; §5.2 [L518]): the driver must have fully reached the requested state
// before a successful SET returns, so a later GET (no SET or reset in between) returns it.

import type { V2Op } from '../../decode/ops.js';
import type { DeviceRuleDef } from '../rule.js';
import { v2Evidence, v2StateText } from './v2-format.js';

export const v2Arc: DeviceRuleDef = {
  scope: 'device',
  id: 'V2-ARC',
  title: 'GET does not return the state a successful SET reached',
  severities: ['error'],
  blames: ['driver'],
  specRef: 'spec §6.2 V2-ARC; §5.2 [L518]',
  description:
    'After a successful SET MIG_DEVICE_STATE the device is in the requested state (the driver must have fully reached it before the ioctl returns). A later GET, with no SET or VFIO_DEVICE_RESET in between, returning another state is a driver error.',
  uncertainWhen: 'Events were lost between the SET and the GET: a lost SET or reset would explain the difference.',
  create(env) {
    return {
      v2Op(o: V2Op, ctx) {
        if (o.op !== 'v2-get-state' || o.result.ok !== true || o.state === undefined) return;
        const st = ctx.v2.state;
        if (st === undefined || st.how !== 'set' || st.raw === o.state) return;
        env.report(ctx, {
          severity: 'error',
          blame: 'driver',
          tsNs: o.tsNs,
          message: `A successful SET put the device in ${v2StateText(st.raw)}, but the next GET returned ${v2StateText(o.state)}.`,
          evidence: [{ src: st.src, what: st.what }, v2Evidence(o)],
          uncertain: ctx.gaps.count !== st.gapSerial,
        });
      },
    };
  },
};
