// V1-ERROR-EXIT (spec §6.1; §2.3 rule 4 [L58], §2.6/§2.7 [REV]): only VFIO_DEVICE_RESET
// leaves the error state (110b), and a reset returns the device to RUNNING (001b).

import { assertNever } from '../../protocol/assert-never.js';
import { v1IsError, V1_STATE_MASK } from '../../protocol/v1.js';
import { gapSince, stateEvidence, writtenSince } from '../../track/device-view.js';
import { evidence, stateText } from '../format.js';
import type { DeviceRuleDef } from '../rule.js';

export const v1ErrorExit: DeviceRuleDef = {
  scope: 'device',
  id: 'V1-ERROR-EXIT',
  title: 'Leaving the error state only by reset',
  severities: ['error', 'warning'],
  blames: ['driver', 'vmm'],
  specRef: 'spec §6.1 V1-ERROR-EXIT; §2.3 rule 4 [L58]; §2.6, §2.7 [REV]',
  description:
    'Once device_state has read 110b (error), only VFIO_DEVICE_RESET (0x3b6f) on the device fd may leave it. A device_state write while in the error state is a VMM warning (reported once per stay in the error state); if such a write succeeds, that is a driver error (writes out of the error state must fail). After a successful reset, device_state must read 001b (RUNNING, the default state); anything else is a driver error.',
  uncertainWhen:
    'Events were lost between the 110b read and the write (a lost reset would explain the write), or between the reset and the read-back (a lost write would explain another state).',
  create(env) {
    // In 110b and "just reset" are the tracker's view (ctx.state: a refused write leaves
    // 110b as it is, a reset is known how === 'reset' until a write). The rule remembers
    // only that it warned in the current stay in 110b.
    let warnedThisStay = false;
    return {
      op(o, ctx) {
        const s = ctx.state;
        const inError = s !== undefined && v1IsError(s.raw) ? s : undefined;
        if (inError === undefined) warnedThisStay = false;
        switch (o.op) {
          case 'v1-state-read': {
            if (o.result.ok !== true || o.value === undefined) return;
            if (s !== undefined && s.how === 'reset' && !writtenSince(ctx, s) && (o.value & V1_STATE_MASK) !== 1) {
              env.report(ctx, {
                severity: 'error',
                blame: 'driver',
                tsNs: o.tsNs,
                message: `After a successful VFIO_DEVICE_RESET, device_state read ${stateText(o.value)}; a reset must return the device to RUNNING (001b).`,
                evidence: [stateEvidence(s), evidence(o)],
                uncertain: gapSince(ctx, s.gapSerial),
              });
            }
            return;
          }
          case 'v1-state-write':
            if (inError === undefined) return;
            if (!warnedThisStay) {
              warnedThisStay = true;
              env.report(ctx, {
                severity: 'warning',
                blame: 'vmm',
                tsNs: o.tsNs,
                message: `The VMM wrote device_state${o.value === undefined ? '' : ` = ${stateText(o.value)}`} while the device was in the error state (110b). Only VFIO_DEVICE_RESET leaves the error state.`,
                evidence: [stateEvidence(inError), evidence(o)],
                uncertain: gapSince(ctx, inError.gapSerial),
              });
            }
            if (o.result.ok === true) {
              env.report(ctx, {
                severity: 'error',
                blame: 'driver',
                tsNs: o.tsNs,
                message: `The driver accepted a device_state write${o.value === undefined ? '' : ` of ${stateText(o.value)}`} while in the error state (110b); writes out of the error state must fail, only VFIO_DEVICE_RESET leaves it.`,
                evidence: [stateEvidence(inError), evidence(o)],
                uncertain: gapSince(ctx, inError.gapSerial),
              });
            }
            return;
          case 'reset':
          case 'v1-field':
          case 'v1-bad-access':
          case 'v1-data':
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
