// V1-RESERVED-FIELD (spec §6.1; §2.3 rule 7 [L58]): the reserved u32 at +4 reads as 0
// and ignores writes.

import { evidence, hex } from '../format.js';
import type { DeviceRuleDef } from '../rule.js';

export const v1ReservedField: DeviceRuleDef = {
  scope: 'device',
  id: 'V1-RESERVED-FIELD',
  title: 'The reserved header field (+4)',
  severities: ['error', 'warning'],
  blames: ['driver', 'vmm'],
  specRef: 'spec §6.1 V1-RESERVED-FIELD; §2.3 rule 7 [L58]',
  description:
    'The reserved field at offset +4 of the header must read as 0: a read that returns anything else is a driver error. Writes to it are ignored by definition, so a VMM writing it gets a warning (the write has no effect).',
  uncertainWhen: 'Never: the finding rests on one access.',
  create(env) {
    return {
      op(o, ctx) {
        if (o.op !== 'v1-field' || o.field !== 'reserved') return;
        if (o.write) {
          env.report(ctx, {
            severity: 'warning',
            blame: 'vmm',
            tsNs: o.tsNs,
            message: `The VMM wrote the reserved field at +4${o.value === undefined ? '' : ` (${hex(o.value)})`}; writes to it are ignored and have no effect.`,
            evidence: [evidence(o)],
            uncertain: false,
          });
          return;
        }
        if (o.result.ok === true && o.value !== undefined && o.value !== 0n) {
          env.report(ctx, {
            severity: 'error',
            blame: 'driver',
            tsNs: o.tsNs,
            message: `The reserved field at +4 read as ${hex(o.value)}; it must read as 0.`,
            evidence: [evidence(o)],
            uncertain: false,
          });
        }
      },
    };
  },
};
