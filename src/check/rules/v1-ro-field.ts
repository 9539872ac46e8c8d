// V1-RO-FIELD (spec §6.1; §2.1 [L58]): pending_bytes (+8) and data_offset (+16) are read
// only. Writing one is the VMM's error; a driver that accepts the write gets a warning.

import { evidence } from '../format.js';
import type { DeviceRuleDef } from '../rule.js';

export const v1RoField: DeviceRuleDef = {
  scope: 'device',
  id: 'V1-RO-FIELD',
  title: 'Write to a read-only header field',
  severities: ['error', 'warning'],
  blames: ['vmm', 'driver'],
  specRef: 'spec §6.1 V1-RO-FIELD; §2.1 [L58]',
  description:
    'pending_bytes (+8) and data_offset (+16) are read-only. A pwrite to either is a VMM error; if the driver accepts it (the write succeeds), that is a driver warning.',
  uncertainWhen: 'Never: the finding rests on one access.',
  create(env) {
    return {
      op(o, ctx) {
        if (o.op !== 'v1-field' || !o.write) return;
        if (o.field !== 'pending_bytes' && o.field !== 'data_offset') return;
        env.report(ctx, {
          severity: 'error',
          blame: 'vmm',
          tsNs: o.tsNs,
          message: `The VMM wrote ${o.field}, a read-only field of the migration header; only device_state and data_size (when resuming) may be written.`,
          evidence: [evidence(o)],
          uncertain: false,
        });
        if (o.result.ok === true) {
          env.report(ctx, {
            severity: 'warning',
            blame: 'driver',
            tsNs: o.tsNs,
            message: `The driver accepted a write to the read-only field ${o.field}; it should refuse it.`,
            evidence: [evidence(o)],
            uncertain: false,
          });
        }
      },
    };
  },
};
