// V1-FAIL-READBACK (spec §6.1; §2.3 rule 3 [L58], §2.7 [REV]): after a failed
// device_state write the driver reports the previous state, or 110b on an internal error.

import { assertNever } from '../../protocol/assert-never.js';
import type { V1StateWriteOp } from '../../decode/ops.js';
import { V1_STATE_MASK } from '../../protocol/v1.js';
import { gapSince, stateEvidence, type KnownState } from '../../track/device-view.js';
import { evidence, isHardFailure, resultText, stateText } from '../format.js';
import type { DeviceRuleDef } from '../rule.js';

const ERROR_LOW = 6;

export const v1FailReadback: DeviceRuleDef = {
  scope: 'device',
  id: 'V1-FAIL-READBACK',
  title: 'State read back after a failed transition',
  severities: ['error'],
  blames: ['driver'],
  specRef: 'spec §6.1 V1-FAIL-READBACK; §2.3 rule 3 [L58]; §2.7 [REV]',
  description:
    'When a device_state write fails, the first device_state read after it must show the state the device was in before the write (low three bits), or 110b (error) if the driver hit an internal error. Anything else is a driver error: the device moved somewhere the VMM did not ask for. Does not apply to EAGAIN (transient, V1-EAGAIN), nor when the state before the write or the value read is unknown.',
  uncertainWhen:
    'Events were lost between the failed write and the read (a lost write would explain another state), or between the last sight of the state and the failed write (the previous state may not be what was last seen).',
  create(env) {
    let pending: { readonly write: V1StateWriteOp; readonly prev: KnownState; readonly gapSerial: number; readonly prevUncertain: boolean } | undefined;
    return {
      op(o, ctx) {
        switch (o.op) {
          case 'v1-state-write':
            pending =
              isHardFailure(o.result) && ctx.state !== undefined
                ? { write: o, prev: ctx.state, gapSerial: ctx.gaps.count, prevUncertain: ctx.stateUncertain }
                : undefined;
            return;
          case 'v1-state-read': {
            // A read that failed, or whose value was not seen, shows nothing: the first read
            // that shows a value is the read-back (the tracker pairs it the same way).
            const p = pending;
            if (p === undefined || o.result.ok !== true || o.value === undefined) return;
            pending = undefined;
            const low = o.value & V1_STATE_MASK;
            if (low === (p.prev.raw & V1_STATE_MASK) || low === ERROR_LOW) return;
            env.report(ctx, {
              severity: 'error',
              blame: 'driver',
              tsNs: o.tsNs,
              message: `After the failed device_state write (${resultText(p.write.result)}), device_state read ${stateText(o.value)}. It must read the previous state ${stateText(p.prev.raw)}, or 110b (error) on an internal error.`,
              evidence: [stateEvidence(p.prev, 'state before the write'), evidence(p.write), evidence(o)],
              uncertain: p.prevUncertain || gapSince(ctx, p.gapSerial),
            });
            return;
          }
          case 'reset':
          case 'v1-bad-access':
            pending = undefined;
            return;
          case 'v1-field':
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
