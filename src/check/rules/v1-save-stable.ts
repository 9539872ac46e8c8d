// V1-SAVE-STABLE (spec §6.1; §2.5 step c [L58]): repeated reads of data_offset and
// data_size in the same iteration return the same buffer.

import { gapSince, type FieldRead } from '../../track/device-view.js';
import { evidence, hex } from '../format.js';
import type { DeviceRuleDef } from '../rule.js';

export const v1SaveStable: DeviceRuleDef = {
  scope: 'device',
  id: 'V1-SAVE-STABLE',
  title: 'data_offset / data_size changed within an iteration',
  severities: ['error'],
  blames: ['driver'],
  specRef: 'spec §6.1 V1-SAVE-STABLE; §2.5 step c [L58]',
  description:
    'Within one save iteration (no pending_bytes read in between), repeated reads of data_offset or of data_size must return the same values: they describe the same buffer. A re-read with a different value is a driver error. The iteration also ends at a device_state write, a data_size write or a reset. Needs the values read.',
  uncertainWhen: 'Events were lost between the two reads: a lost pending_bytes read would have started a new iteration.',
  create(env) {
    // The round's first data_offset / data_size reads are the tracker's (device-view.ts
    // SaveRound); the rule remembers which first read it already reported against.
    const reported = new WeakSet<FieldRead>();
    return {
      op(o, ctx) {
        if (o.op !== 'v1-field' || o.write || (o.field !== 'data_offset' && o.field !== 'data_size')) return;
        if (o.result.ok !== true || o.value === undefined) return;
        const f = o.field === 'data_offset' ? ctx.round.dataOffset : ctx.round.dataSize;
        if (f === undefined || f.value === undefined || f.value === o.value || reported.has(f)) return;
        reported.add(f);
        env.report(ctx, {
          severity: 'error',
          blame: 'driver',
          tsNs: o.tsNs,
          message: `${o.field} read ${hex(f.value)} and then ${hex(o.value)} within the same save iteration (no pending_bytes read in between). Repeated reads of data_offset and data_size in one iteration must return the same buffer.`,
          evidence: [evidence(f.op), evidence(o)],
          uncertain: gapSince(ctx, f.gapSerial),
        });
      },
    };
  },
};
