// V1-ASYNC (spec §6.1; §2.7 [REV]: "the only self transition is invalid→running, via the
// user's reset"): device_state changes only when the VMM writes it or resets the device.

import { assertNever } from '../../protocol/assert-never.js';
import { v1IsError, V1_STATE_MASK } from '../../protocol/v1.js';
import { gapSince } from '../../track/device-view.js';
import { evidence, stateText } from '../format.js';
import { qemuSetState } from '../../decode/qemu-facts.js';
import type { DeviceRuleDef } from '../rule.js';
import type { Evidence } from '../types.js';

export const v1Async: DeviceRuleDef = {
  scope: 'device',
  id: 'V1-ASYNC',
  title: 'State changed on its own',
  severities: ['error'],
  blames: ['driver'],
  specRef: 'spec §6.1 V1-ASYNC; §2.7 [REV]',
  description:
    'A device_state read must show the state (low three bits) last written successfully or last read, when no device_state write or reset came in between: the device must not change state on its own (not even fall back to RUNNING after a failure). A difference is a driver error. The first read after a failed write or a reset is judged by V1-FAIL-READBACK and V1-ERROR-EXIT instead, and a read of 110b by V1-ERROR-ORIGIN. Needs seen values; quiet otherwise.',
  uncertainWhen: 'Events were lost since the state was last written or read: a lost write or reset would explain the change.',
  create(env) {
    let basis: { readonly raw: number; readonly ev: Evidence; readonly gapSerial: number } | undefined;
    return {
      op(o, ctx) {
        switch (o.op) {
          case 'v1-state-read': {
            if (o.result.ok !== true || o.value === undefined) return;
            const b = basis;
            basis = { raw: o.value, ev: evidence(o), gapSerial: ctx.gaps.count };
            if (b === undefined || (b.raw & V1_STATE_MASK) === (o.value & V1_STATE_MASK) || v1IsError(o.value)) return;
            env.report(ctx, {
              severity: 'error',
              blame: 'driver',
              tsNs: o.tsNs,
              message: `device_state read ${stateText(o.value)}, but it was ${stateText(b.raw)} and no device_state write or reset came in between. The device changed state on its own.`,
              evidence: [b.ev, evidence(o)],
              uncertain: gapSince(ctx, b.gapSerial),
            });
            return;
          }
          case 'v1-state-write':
            basis = o.result.ok === true && o.value !== undefined ? { raw: o.value, ev: evidence(o), gapSerial: ctx.gaps.count } : undefined;
            return;
          case 'v1-bad-access':
            if (o.write && o.fields.includes('device_state')) basis = undefined;
            return;
          case 'reset':
          case 'open':
            basis = undefined;
            return;
          case 'qemu': {
            // QEMU traces set_state after its write succeeded (§3.3): the state it names
            // is the state written.
            const s = qemuSetState(o);
            if (s !== undefined) basis = { raw: s, ev: evidence(o), gapSerial: ctx.gaps.count };
            return;
          }
          case 'v1-field':
          case 'v1-data':
          case 'region':
          case 'close':
            return;
          default:
            assertNever(o);
        }
      },
    };
  },
};
