// V1-RESERVED-STATE (spec §6.1; §2.2, §2.7 [R: Connie/Alex 2020-01-07/08]): 101b and 111b
// are reserved, unreachable states; writes that try to enter them must fail.

import { v1IsReserved } from '../../protocol/v1.js';
import { evidence, stateText } from '../format.js';
import type { DeviceRuleDef } from '../rule.js';

export const v1ReservedState: DeviceRuleDef = {
  scope: 'device',
  id: 'V1-RESERVED-STATE',
  title: 'Write of a reserved device_state',
  severities: ['error'],
  blames: ['vmm', 'driver'],
  specRef: 'spec §6.1 V1-RESERVED-STATE; §2.2, §2.7 [REV: Connie/Alex 2020-01-07/08]',
  description:
    'The device_state combinations 101b and 111b are reserved: no transition leads into or out of them. A device_state write whose low three bits are 101b or 111b is a VMM error, and a driver that lets such a write succeed commits a driver error (writes entering a reserved state must fail). Needs the written value: quiet when the tracer did not see it.',
  uncertainWhen: 'Never: the finding rests on one write and its result.',
  create(env) {
    return {
      op(o, ctx) {
        if (o.op !== 'v1-state-write' || o.value === undefined || !v1IsReserved(o.value)) return;
        env.report(ctx, {
          severity: 'error',
          blame: 'vmm',
          tsNs: o.tsNs,
          message: `The VMM wrote device_state = ${stateText(o.value)}, a reserved combination. Only 000b, 001b, 010b, 011b and 100b may be requested.`,
          evidence: [evidence(o)],
          uncertain: false,
        });
        if (o.result.ok === true) {
          env.report(ctx, {
            severity: 'error',
            blame: 'driver',
            tsNs: o.tsNs,
            message: `The driver accepted device_state = ${stateText(o.value)}, a reserved state; writes that enter a reserved state must fail.`,
            evidence: [evidence(o)],
            uncertain: false,
          });
        }
      },
    };
  },
};
