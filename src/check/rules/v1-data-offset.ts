// V1-DATA-OFFSET (spec §6.1; §2.1, §2.3 rule 8 [L58]): data_offset points past the
// 32-byte header, and the buffer [data_offset, data_offset + data_size) lies inside the
// region. The page-alignment half of the rule (data_offset inside a SPARSE_MMAP area) is
// not checked: RegionOp does not carry the sparse areas.

import type { V1FieldOp } from '../../decode/ops.js';
import { V1_HEADER_SIZE } from '../../protocol/v1.js';
import { gapSince, type DeviceContext } from '../../track/device-view.js';
import { evidence, hex } from '../format.js';
import type { DeviceRuleDef } from '../rule.js';
import type { Evidence } from '../types.js';

export const v1DataOffset: DeviceRuleDef = {
  scope: 'device',
  id: 'V1-DATA-OFFSET',
  title: 'data_offset and the buffer inside the region',
  severities: ['error'],
  blames: ['driver'],
  specRef: 'spec §6.1 V1-DATA-OFFSET; §2.1, §2.3 rule 8 [L58]',
  description:
    'data_offset must be at least 32 (never 0: the header comes first and the data section follows it), and the buffer it describes, [data_offset, data_offset + data_size), must end inside the migration region. A violation is a driver error. The region-size checks need the region size from the region info; the rule needs the values read. (The page alignment required when data_offset lies in an mmap-able sparse area is not checked: the sparse areas are not part of the decoded region.)',
  uncertainWhen: 'For the buffer-end check, events were lost between the data_offset and data_size reads: they may belong to different iterations.',
  create(env) {
    let lastReported = '';
    const report = (key: string, o: V1FieldOp, message: string, ev: readonly Evidence[], uncertain: boolean, ctx: DeviceContext): void => {
      // A driver that gets it wrong usually does so every iteration: say it once per value.
      if (key === lastReported) return;
      lastReported = key;
      env.report(ctx, { severity: 'error', blame: 'driver', tsNs: o.tsNs, message, evidence: ev, uncertain });
    };
    return {
      op(o, ctx) {
        if (o.op !== 'v1-field') return;
        if (o.write || o.result.ok !== true || o.value === undefined) return;
        const size = ctx.region?.size;
        if (o.field === 'data_offset') {
          if (o.value < BigInt(V1_HEADER_SIZE)) {
            report(`low:${o.value}`, o, `data_offset read ${hex(o.value)}; it must be at least ${V1_HEADER_SIZE} (${hex(V1_HEADER_SIZE)}): the data section follows the 32-byte header, so data_offset is never inside it.`, [evidence(o)], false, ctx);
          } else if (size !== undefined && o.value >= size) {
            report(`out:${o.value}`, o, `data_offset read ${hex(o.value)}, at or past the end of the ${hex(size)}-byte migration region.`, [evidence(o)], false, ctx);
          }
          return;
        }
        // The round's data_offset is the tracker's (device-view.ts SaveRound).
        const offset = ctx.round.dataOffset;
        if (o.field === 'data_size' && offset !== undefined && offset.value !== undefined && size !== undefined && offset.value + o.value > size) {
          report(
            `end:${offset.value}:${o.value}`,
            o,
            `The buffer [${hex(offset.value)}, ${hex(offset.value + o.value)}) (data_offset ${hex(offset.value)} + data_size ${hex(o.value)}) ends past the ${hex(size)}-byte migration region.`,
            [evidence(offset.op), evidence(o)],
            gapSince(ctx, offset.gapSerial),
            ctx,
          );
        }
      },
    };
  },
};
