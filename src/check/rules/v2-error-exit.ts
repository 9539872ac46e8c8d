// V2-ERROR-EXIT (spec §6.2; §5.3, §5.5 step 1 [L518, LHEAD]): while in ERROR, a SET is a
// VMM warning and its success a driver error (the core helper rejects it); only
// VFIO_DEVICE_RESET recovers, and a GET after a reset must return RUNNING.

import type { V2Op } from '../../decode/ops.js';
import type { DeviceRuleDef } from '../rule.js';
import { evidence } from '../format.js';
import { v2Evidence, v2StateText } from './v2-format.js';
import { V2_ERROR, V2_RUNNING } from '../../track/v2-model.js';
import type { Evidence } from '../types.js';

export const v2ErrorExit: DeviceRuleDef = {
  scope: 'device',
  id: 'V2-ERROR-EXIT',
  title: 'Leaving ERROR only by reset',
  severities: ['error', 'warning'],
  blames: ['driver', 'vmm'],
  specRef: 'spec §6.2 V2-ERROR-EXIT; §5.3 [L518]; §5.5 step 1 [LHEAD]',
  description:
    'Once a v2 device is known to be in ERROR (a GET, or QEMU\'s record of the state), only VFIO_DEVICE_RESET leaves it. A SET MIG_DEVICE_STATE in ERROR is a VMM warning (once per stay); its success is a driver error, since vfio_mig_get_next_state() rejects ERROR as the current state with EINVAL and a kernel warning. After a successful reset the device is RUNNING: a GET returning anything else (before any SET) is a driver error.',
  uncertainWhen: 'Events were lost between the ERROR observation and the SET (a lost reset would explain it), or between the reset and the GET.',
  create(env) {
    let warned: object | undefined;
    let afterReset: { readonly ev: Evidence; readonly gapSerial: number } | undefined;
    return {
      op(o, ctx) {
        if (o.op === 'reset') afterReset = o.result.ok === true ? { ev: evidence(o), gapSerial: ctx.gaps.count } : undefined;
      },
      v2Op(o: V2Op, ctx) {
        if (o.op === 'v2-get-state' && o.result.ok === true && o.state !== undefined && afterReset !== undefined) {
          const r = afterReset;
          afterReset = undefined;
          if (o.state !== V2_RUNNING) {
            env.report(ctx, { severity: 'error', blame: 'driver', tsNs: o.tsNs, message: `After a successful VFIO_DEVICE_RESET, GET returned ${v2StateText(o.state)}; a reset returns the device to RUNNING.`, evidence: [r.ev, v2Evidence(o)], uncertain: ctx.gaps.count !== r.gapSerial });
          }
          return;
        }
        if (o.op !== 'v2-set-state') return;
        afterReset = undefined;
        const st = ctx.v2.state;
        if (st === undefined || st.raw !== V2_ERROR) return;
        const ev = [{ src: st.src, what: st.what }, v2Evidence(o)];
        const uncertain = ctx.gaps.count !== st.gapSerial;
        if (warned !== st) {
          warned = st;
          env.report(ctx, { severity: 'warning', blame: 'vmm', tsNs: o.tsNs, message: `The VMM requested ${v2StateText(o.requested)} while the device was in ERROR; only VFIO_DEVICE_RESET leaves ERROR.`, evidence: ev, uncertain });
        }
        if (o.result.ok === true) {
          env.report(ctx, { severity: 'error', blame: 'driver', tsNs: o.tsNs, message: `The kernel accepted a SET of ${v2StateText(o.requested)} while the device was in ERROR; it must fail with EINVAL (only a reset leaves ERROR).`, evidence: ev, uncertain });
        }
      },
    };
  },
};
