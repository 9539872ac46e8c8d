// V2-FAIL-STATE (spec §6.2; §5.2 [L518]): after a failed SET, the device is in the
// original state, a state on the §5.5 path for (current, requested), or ERROR. The first
// GET after the failure (no SET or reset in between) must return one of those. The path
// depends on the flags: with inferred flags every flag set the states seen allow is
// tried, and only a state on none of their paths fires.

import type { V2Op } from '../../decode/ops.js';
import type { DeviceRuleDef } from '../rule.js';
import { v2Evidence, v2StateText } from './v2-format.js';
import { v2Name } from '../../track/v2-model.js';

export const v2FailState: DeviceRuleDef = {
  scope: 'device',
  id: 'V2-FAIL-STATE',
  title: 'After a failed SET, the device is somewhere it cannot be',
  severities: ['error'],
  blames: ['driver'],
  specRef: 'spec §6.2 V2-FAIL-STATE; §5.2 [L518]; §5.5 [LHEAD]',
  description:
    'When a SET MIG_DEVICE_STATE fails, the device must be left in the original state, in a state on the path the kernel walks for (current, requested) (spec §5.5), or in ERROR. The first GET after the failure returning any other state is a driver error. Needs the state before the SET; with flags inferred rather than read from MIGRATION GET, a state on the path for any flag set consistent with the trace is accepted.',
  uncertainWhen: 'Events were lost between the state before the SET and the GET.',
  create(env) {
    // The failed SET and where it may have left the device are the tracker's
    // (v2-context.ts failedSet); the rule judges the first GET after it.
    return {
      v2Op(o: V2Op, ctx) {
        if (o.op !== 'v2-get-state' || o.result.ok !== true || o.state === undefined) return;
        const f = ctx.v2.failedSet;
        if (f === undefined || f.getSeen || f.before === undefined || f.mayBeIn.includes(o.state)) return;
        env.report(ctx, {
          severity: 'error',
          blame: 'driver',
          tsNs: o.tsNs,
          message: `After a failed SET from ${v2StateText(f.before.raw)}, GET returned ${v2StateText(o.state)}; the device may only be in ${f.mayBeIn.map((r) => v2Name(r)).join(', ')}.`,
          evidence: [{ src: f.before.src, what: f.before.what }, v2Evidence(f.o), v2Evidence(o)],
          uncertain: ctx.gaps.count !== f.before.gapSerial,
        });
      },
    };
  },
};
