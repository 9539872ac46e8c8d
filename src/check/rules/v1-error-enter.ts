// V1-ERROR-ENTER (spec §6.1; §2.6, §2.7 [R]): only the driver enters the error state
// (110b), as the outcome of a failed transition; writes into it must fail.

import { v1IsError } from '../../protocol/v1.js';
import { evidence, stateText } from '../format.js';
import type { DeviceRuleDef } from '../rule.js';

export const v1ErrorEnter: DeviceRuleDef = {
  scope: 'device',
  id: 'V1-ERROR-ENTER',
  title: 'Write of the error state',
  severities: ['error'],
  blames: ['vmm', 'driver'],
  specRef: 'spec §6.1 V1-ERROR-ENTER; §2.6, §2.7 [REV]',
  description:
    'The error state 110b is entered only by the driver, when a transition fails. A device_state write of 110b is a VMM error; if it succeeds, that is a driver error (writes into the error state must fail). Needs the written value: quiet when the tracer did not see it.',
  uncertainWhen: 'Never: the finding rests on one write and its result.',
  create(env) {
    return {
      op(o, ctx) {
        if (o.op !== 'v1-state-write' || o.value === undefined || !v1IsError(o.value)) return;
        env.report(ctx, {
          severity: 'error',
          blame: 'vmm',
          tsNs: o.tsNs,
          message: `The VMM wrote device_state = ${stateText(o.value)}. The error state is entered only by the driver after a failed transition; a VMM must never request it.`,
          evidence: [evidence(o)],
          uncertain: false,
        });
        if (o.result.ok === true) {
          env.report(ctx, {
            severity: 'error',
            blame: 'driver',
            tsNs: o.tsNs,
            message: `The driver accepted a write of the error state ${stateText(o.value)}; writes into the error state must fail.`,
            evidence: [evidence(o)],
            uncertain: false,
          });
        }
      },
    };
  },
};
