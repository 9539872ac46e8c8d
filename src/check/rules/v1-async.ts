// V1-ASYNC (spec §6.1; §2.7 [REV]: "the only self transition is invalid→running, via the
// user's reset"): device_state changes only when the VMM writes it or resets the device.

import { v1IsError, V1_STATE_MASK } from '../../protocol/v1.js';
import { gapSince, stateEvidence, writtenSince } from '../../track/device-view.js';
import { evidence, stateText } from '../format.js';
import type { DeviceRuleDef } from '../rule.js';

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
    // The basis is the tracker's view: the state last shown by a read, a successful write
    // of a seen value or QEMU's set_state event (traced after its write succeeded, §3.3),
    // with no device_state write of any result since. A reset or the open only promise
    // RUNNING (V1-ERROR-EXIT judges the read after a reset); a failed write leaves the
    // state unknown until its read-back (V1-FAIL-READBACK).
    return {
      op(o, ctx) {
        if (o.op !== 'v1-state-read' || o.result.ok !== true || o.value === undefined) return;
        const b = ctx.state;
        if (b === undefined || b.how === 'reset' || b.how === 'open' || writtenSince(ctx, b)) return;
        if ((b.raw & V1_STATE_MASK) === (o.value & V1_STATE_MASK) || v1IsError(o.value)) return;
        env.report(ctx, {
          severity: 'error',
          blame: 'driver',
          tsNs: o.tsNs,
          message: `device_state read ${stateText(o.value)}, but it was ${stateText(b.raw)} and no device_state write or reset came in between. The device changed state on its own.`,
          evidence: [stateEvidence(b), evidence(o)],
          uncertain: gapSince(ctx, b.gapSerial),
        });
      },
    };
  },
};
