// V1-FAIL-READBACK (spec §6.1; §2.3 rule 3 [L58], §2.7 [REV]): after a failed
// device_state write the driver reports the previous state, or 110b on an internal error.
//
// The rule reads the tracker's read-back fact (track/facts.ts): the tracker pairs each
// failed write with the first read after it that shows a value, the same pairing the
// timeline's state write records as readBackRaw, so the finding and the timeline agree.

import { V1_STATE_MASK } from '../../protocol/v1.js';
import { gapSince, stateEvidence } from '../../track/device-view.js';
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
    'When a device_state write fails, the first device_state read after it that shows a value must show the state the device was in before the write (low three bits), or 110b (error) if the driver hit an internal error. Anything else is a driver error: the device moved somewhere the VMM did not ask for. A short write (fewer bytes taken than asked) is a failed write too. Does not apply to EAGAIN (transient, V1-EAGAIN), nor when the state before the write or the value read is unknown.',
  uncertainWhen:
    'Events were lost between the failed write and the read (a lost write would explain another state), or between the last sight of the state and the failed write (the previous state may not be what was last seen).',
  create(env) {
    return {
      fact(f, ctx) {
        if (f.kind !== 'read-back' || !isHardFailure(f.write.result) || f.before === undefined) return;
        const value = f.read.value;
        if (value === undefined) return;
        const low = value & V1_STATE_MASK;
        if (low === (f.before.raw & V1_STATE_MASK) || low === ERROR_LOW) return;
        env.report(ctx, {
          severity: 'error',
          blame: 'driver',
          tsNs: f.read.tsNs,
          message: `After the failed device_state write (${resultText(f.write.result)}), device_state read ${stateText(value)}. It must read the previous state ${stateText(f.before.raw)}, or 110b (error) on an internal error.`,
          evidence: [stateEvidence(f.before, 'state before the write'), evidence(f.write), evidence(f.read)],
          uncertain: f.beforeUncertain || gapSince(ctx, f.gapSerial),
        });
      },
    };
  },
};
