// V1-ERROR-ORIGIN (spec §6.1; §2.7 [REV]: the error state is "only reached by a failed
// transition"): a 110b read needs a failed device_state write since the last known valid
// state.

import { v1IsError } from '../../protocol/v1.js';
import { gapSince, stateEvidence, type KnownState } from '../../track/device-view.js';
import { evidence, stateText } from '../format.js';
import type { DeviceRuleDef } from '../rule.js';

export const v1ErrorOrigin: DeviceRuleDef = {
  scope: 'device',
  id: 'V1-ERROR-ORIGIN',
  title: 'Error state without a failed transition',
  severities: ['error'],
  blames: ['driver'],
  specRef: 'spec §6.1 V1-ERROR-ORIGIN; §2.7 [REV]',
  description:
    'The device may only reach the error state 110b as the outcome of a failed device_state write. A read of 110b with no failed write since the last known valid state (a read, a successful write, the default after open or after reset) is a driver error. Quiet when a write since then had an unseen result or value (it may have failed, or written 110b; V1-ERROR-ENTER covers the latter), and when no valid state was ever known.',
  uncertainWhen: 'Events were lost since the last known valid state: a lost failed write would explain the error.',
  create(env) {
    // The tracker's view says what is known (lastValid, errorPossible); the rule only
    // remembers the valid state it already reported against (once per entry into 110b).
    let reportedAfter: KnownState | undefined;
    return {
      op(o, ctx) {
        if (o.op !== 'v1-state-read' || o.result.ok !== true || o.value === undefined || !v1IsError(o.value)) return;
        const s = ctx.state;
        if (s !== undefined && v1IsError(s.raw)) return; // already in the error state
        const lastValid = ctx.lastValid;
        if (lastValid === undefined || ctx.errorPossible || reportedAfter === lastValid) return;
        reportedAfter = lastValid;
        env.report(ctx, {
          severity: 'error',
          blame: 'driver',
          tsNs: o.tsNs,
          message: `device_state read ${stateText(o.value)} (error), but no device_state write failed since the device was last known in ${stateText(lastValid.raw)}. The error state may only be reached through a failed transition.`,
          evidence: [stateEvidence(lastValid, 'last known valid state'), evidence(o)],
          uncertain: gapSince(ctx, lastValid.gapSerial),
        });
      },
    };
  },
};
