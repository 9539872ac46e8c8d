// V1-REFUSE-VALID (spec §6.1; §2.4 flow 1 [L58], §2.6/§2.7 [REV]): the five valid states
// are fully interconnected; drivers must not refuse a transition between them. Refusing
// RUNNING→STOP (stop must always be possible) or RUNNING→SAVING (offline save; a driver
// that cannot is "unsupportable") is an error, other arcs a warning. EAGAIN is transient
// and not a refusal (V1-EAGAIN).

import { v1IsValid, V1_STATE_MASK } from '../../protocol/v1.js';
import { stateEvidence } from '../../track/device-view.js';
import { evidence, isHardFailure, resultText, stateText } from '../format.js';
import type { DeviceRuleDef } from '../rule.js';

export const v1RefuseValid: DeviceRuleDef = {
  scope: 'device',
  id: 'V1-REFUSE-VALID',
  title: 'Driver refused a valid transition',
  severities: ['error', 'warning'],
  blames: ['driver'],
  specRef: 'spec §6.1 V1-REFUSE-VALID; §2.4 flow 1 [L58]; §2.6, §2.7 [REV]',
  description:
    'The five valid states 000b, 001b, 010b, 011b and 100b are fully interconnected: a driver must not refuse a transition between two of them. A failed device_state write from one valid state to another, with an errno other than EAGAIN, is a driver error for 001b→000b (stopping must always be allowed) and 001b→010b (an offline save; a driver that cannot do it should not expose the migration region), and a driver warning for any other arc. Needs the state before the write and the written value; quiet otherwise.',
  uncertainWhen: 'Events were lost since the state before the write was last seen: the device may have been in another state.',
  create(env) {
    return {
      op(o, ctx) {
        if (o.op !== 'v1-state-write' || o.value === undefined || !isHardFailure(o.result)) return;
        const from = ctx.state;
        if (from === undefined || !v1IsValid(from.raw) || !v1IsValid(o.value)) return;
        const a = from.raw & V1_STATE_MASK;
        const b = o.value & V1_STATE_MASK;
        const hard = a === 1 && (b === 0 || b === 2);
        const why =
          a === 1 && b === 0
            ? ' Stopping a running device must always be allowed.'
            : a === 1 && b === 2
              ? ' Saving a running device offline (stop-and-copy) is legitimate; a driver that cannot do it should not expose the migration region.'
              : ' The valid states are fully interconnected.';
        env.report(ctx, {
          severity: hard ? 'error' : 'warning',
          blame: 'driver',
          tsNs: o.tsNs,
          message: `The driver refused the transition ${stateText(from.raw)} → ${stateText(o.value)} (write ${resultText(o.result)}).${why}`,
          evidence: [stateEvidence(from, 'state before the write'), evidence(o)],
          uncertain: ctx.stateUncertain,
        });
      },
    };
  },
};
