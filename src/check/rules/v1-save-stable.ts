// V1-SAVE-STABLE (spec §6.1; §2.5 step c [L58]): repeated reads of data_offset and
// data_size in the same iteration return the same buffer.

import { assertNever } from '../../protocol/assert-never.js';
import type { V1FieldOp } from '../../decode/ops.js';
import { gapSince } from '../../track/device-view.js';
import { evidence, hex } from '../format.js';
import type { DeviceRuleDef } from '../rule.js';

interface First {
  readonly op: V1FieldOp;
  readonly value: bigint;
  readonly gapSerial: number;
  reported: boolean;
}

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
    let first: { data_offset?: First; data_size?: First } = {};
    return {
      op(o, ctx) {
        switch (o.op) {
          case 'v1-field': {
            if (o.write || o.field === 'pending_bytes') {
              if (o.field === 'pending_bytes' || o.field === 'data_size') first = {};
              return;
            }
            if (o.field !== 'data_offset' && o.field !== 'data_size') return;
            if (o.result.ok !== true || o.value === undefined) return;
            const f = first[o.field];
            if (f === undefined) {
              first[o.field] = { op: o, value: o.value, gapSerial: ctx.gaps.count, reported: false };
              return;
            }
            if (f.value === o.value || f.reported) return;
            f.reported = true;
            env.report(ctx, {
              severity: 'error',
              blame: 'driver',
              tsNs: o.tsNs,
              message: `${o.field} read ${hex(f.value)} and then ${hex(o.value)} within the same save iteration (no pending_bytes read in between). Repeated reads of data_offset and data_size in one iteration must return the same buffer.`,
              evidence: [evidence(f.op), evidence(o)],
              uncertain: gapSince(ctx, f.gapSerial),
            });
            return;
          }
          case 'v1-state-write':
          case 'reset':
            first = {};
            return;
          case 'v1-state-read':
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
