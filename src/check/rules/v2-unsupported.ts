// V2-UNSUPPORTED (spec §6.2; §5.2, §5.5 step 2 [L518, LHEAD]): a SET of a state the
// device's advertised flags do not enable must fail with EINVAL. Needs the MIGRATION GET
// reply: inferred flags are only a lower bound, so they never make this fire.

import type { V2Op } from '../../decode/ops.js';
import { v2Supported } from '../../protocol/v2-arcs.js';
import { V2_STATES } from '../../protocol/v2.js';
import type { DeviceRuleDef } from '../rule.js';
import { migFlagsText, v2Evidence, v2StateText } from './v2-format.js';

export const v2Unsupported: DeviceRuleDef = {
  scope: 'device',
  id: 'V2-UNSUPPORTED',
  title: 'SET of a state the device does not support',
  severities: ['error'],
  blames: ['vmm', 'driver'],
  specRef: 'spec §6.2 V2-UNSUPPORTED; §5.2, §5.3 [L518]; §5.5 [LHEAD]',
  description:
    'A SET of a state that the flags of the MIGRATION GET reply do not enable (RUNNING_P2P without P2P, PRE_COPY without PRE_COPY, PRE_COPY_P2P without both) is a VMM error; the kernel must refuse it with EINVAL, so success is a driver error. Needs the MIGRATION GET reply in the trace.',
  uncertainWhen: 'Never: the flags and the request are both in the trace.',
  create(env) {
    return {
      v2Op(o: V2Op, ctx) {
        if (o.op !== 'v2-set-state') return;
        const flags = ctx.v2.learnedFlags;
        const name = V2_STATES[o.requested];
        if (flags === undefined || name === undefined || name === 'ERROR' || v2Supported(name, flags.value)) return;
        const ev = [{ src: flags.src, what: `MIGRATION GET → ${migFlagsText(flags.value)}` }, v2Evidence(o)];
        env.report(ctx, { severity: 'error', blame: 'vmm', tsNs: o.tsNs, message: `The VMM requested ${v2StateText(o.requested)}, which the device's flags ${migFlagsText(flags.value)} do not enable.`, evidence: ev, uncertain: false });
        if (o.result.ok === true) {
          env.report(ctx, { severity: 'error', blame: 'driver', tsNs: o.tsNs, message: `The kernel accepted a SET of ${v2StateText(o.requested)}, which the device's flags ${migFlagsText(flags.value)} do not enable; it must fail with EINVAL.`, evidence: ev, uncertain: false });
        }
      },
    };
  },
};
