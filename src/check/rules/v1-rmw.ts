// V1-RMW (spec §6.1; §2.2, §2.3 rule 6 [L58]; §2.7 [REV: "ignored but preserved"]):
// reserved bits 3–31 of device_state are preserved by read-modify-write.

import { v1ReservedBits } from '../../protocol/v1.js';
import { gapSince, stateEvidence } from '../../track/device-view.js';
import { evidence, hex, stateText } from '../format.js';
import type { DeviceRuleDef } from '../rule.js';

export const v1Rmw: DeviceRuleDef = {
  scope: 'device',
  id: 'V1-RMW',
  title: 'Reserved device_state bits not preserved',
  severities: ['warning'],
  blames: ['vmm'],
  specRef: 'spec §6.1 V1-RMW; §2.2, §2.3 rule 6 [L58]; §2.7 [REV]',
  description:
    'Bits 3–31 of device_state are reserved for future use: "ignored but preserved". The VMM should read-modify-write device_state so that a written value carries the same bits 3–31 as the most recent read. A write that changes them is a VMM warning. QEMU\'s save_setup (mask 7) clears them, which shows up only when a driver reports reserved bits. Needs the written value and a read with a seen value (since the last reset); quiet otherwise.',
  uncertainWhen: 'Events were lost since the most recent read: a lost read could have shown the bits that were written.',
  create(env) {
    return {
      op(o, ctx) {
        if (o.op !== 'v1-state-write' || o.value === undefined) return;
        const r = ctx.lastRead;
        if (r === undefined) return;
        const had = v1ReservedBits(r.raw);
        const wrote = v1ReservedBits(o.value);
        if (had === wrote) return;
        env.report(ctx, {
          severity: 'warning',
          blame: 'vmm',
          tsNs: o.tsNs,
          message: `The VMM wrote device_state = ${stateText(o.value)} with reserved bits 3–31 = ${hex(wrote >>> 0)}, but the most recent read (${stateText(r.raw)}) had ${hex(had >>> 0)}. Bits 3–31 should be preserved by read-modify-write.`,
          evidence: [stateEvidence(r, 'most recent read'), evidence(o)],
          uncertain: gapSince(ctx, r.gapSerial),
        });
      },
    };
  },
};
