// V1-EMPTY-ITER (spec §6.1, derived from QEMU v1 [QV1] §3.4): pending_bytes said there
// is data, yet the iteration's data_size is 0. QEMU stops iterating on data_size 0, which
// can leave data behind (V1-SAVE-DRAIN).

import { gapSince, type FieldRead } from '../../track/device-view.js';
import { evidence, hex } from '../format.js';
import type { DeviceRuleDef } from '../rule.js';

export const v1EmptyIter: DeviceRuleDef = {
  scope: 'device',
  id: 'V1-EMPTY-ITER',
  title: 'Empty buffer while data is pending',
  severities: ['warning'],
  blames: ['driver'],
  specRef: 'spec §6.1 V1-EMPTY-ITER; §3.4 [QV1]',
  description:
    'When pending_bytes reads > 0, the data_size read in the same iteration should be > 0 too. A data_size of 0 while data is pending is a driver warning: QEMU stops iterating when data_size is 0, which can end stop-and-copy with data still pending (V1-SAVE-DRAIN). Needs both values.',
  uncertainWhen: 'Events were lost between the pending_bytes read and the data_size read: a lost pending_bytes read may have started a new, empty iteration.',
  create(env) {
    // The round's pending_bytes read is the tracker's (device-view.ts SaveRound); the rule
    // remembers which rounds it already reported.
    const reported = new WeakSet<FieldRead>();
    return {
      op(o, ctx) {
        if (o.op !== 'v1-field' || o.field !== 'data_size' || o.write || o.result.ok !== true || o.value !== 0n) return;
        const p = ctx.round.pending;
        if (p === undefined || p.value === undefined || p.value <= 0n || reported.has(p)) return;
        reported.add(p);
        env.report(ctx, {
          severity: 'warning',
          blame: 'driver',
          tsNs: o.tsNs,
          message: `pending_bytes read ${hex(p.value)}, but data_size in the same iteration read 0. With data pending the driver should offer a non-empty buffer; QEMU stops iterating on data_size 0.`,
          evidence: [evidence(p.op), evidence(o)],
          uncertain: gapSince(ctx, p.gapSerial),
        });
      },
    };
  },
};
