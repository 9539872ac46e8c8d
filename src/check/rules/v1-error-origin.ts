// V1-ERROR-ORIGIN (spec §6.1; §2.7 [REV]: the error state is "only reached by a failed
// transition"): a 110b read needs a failed device_state write since the last known valid
// state.

import { assertNever } from '../../protocol/assert-never.js';
import { v1IsError, v1IsValid } from '../../protocol/v1.js';
import { gapSince, stateEvidence, type KnownState } from '../../track/device-view.js';
import { evidence, isHardFailure, stateText } from '../format.js';
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
    let lastValid: KnownState | undefined;
    // True when something since lastValid could have led to 110b legitimately (or unseen).
    let explained = true;
    return {
      op(o, ctx) {
        const s = ctx.state;
        if (s !== undefined && s !== lastValid && v1IsValid(s.raw)) {
          lastValid = s;
          explained = false;
        }
        switch (o.op) {
          case 'v1-state-write':
            // A hard failure (not EAGAIN: spec §6.1 V1-EAGAIN, no failed transition) may lead to
            // 110b; so may a write whose result or value was not seen, or a write of 110b.
            if (isHardFailure(o.result) || o.result.ok === undefined || o.value === undefined || (o.result.ok === true && v1IsError(o.value))) explained = true;
            return;
          case 'v1-bad-access':
            if (o.write && o.fields.includes('device_state') && o.result.ok !== false) explained = true;
            return;
          case 'v1-state-read':
            if (o.result.ok !== true || o.value === undefined || !v1IsError(o.value)) return;
            if (s !== undefined && v1IsError(s.raw)) return; // already in the error state
            if (lastValid === undefined || explained) return;
            env.report(ctx, {
              severity: 'error',
              blame: 'driver',
              tsNs: o.tsNs,
              message: `device_state read ${stateText(o.value)} (error), but no device_state write failed since the device was last known in ${stateText(lastValid.raw)}. The error state may only be reached through a failed transition.`,
              evidence: [stateEvidence(lastValid, 'last known valid state'), evidence(o)],
              uncertain: gapSince(ctx, lastValid.gapSerial),
            });
            explained = true; // once per entry into the error state
            return;
          case 'v1-field':
          case 'v1-data':
          case 'reset':
          case 'region':
          case 'open':
          case 'close':
          case 'qemu':
            return;
          default:
            assertNever(o);
        }
      },
    };
  },
};
