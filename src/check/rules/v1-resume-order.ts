// V1-RESUME-ORDER (spec §6.1; §2.5 resume sequence [L58]): while resuming, each chunk goes
// data_offset read → data writes inside the window → data_size write (the bytes written).
//
// Works without values where it can: data writes and data_size writes happen only when
// resuming, so with the state unknown they are still checked, once a chunk boundary (a
// data_size write) has been seen; a capture that starts mid-chunk is not judged.

import type { DeviceOp } from '../../decode/ops.js';
import { V1_RESUMING, V1_STATE_MASK } from '../../protocol/v1.js';
import { gapSince, type DeviceContext } from '../../track/device-view.js';
import { evidence, hex } from '../format.js';
import type { DeviceRuleDef } from '../rule.js';
import type { Evidence } from '../types.js';

export const v1ResumeOrder: DeviceRuleDef = {
  scope: 'device',
  id: 'V1-RESUME-ORDER',
  title: 'Resume chunk order',
  severities: ['error', 'warning'],
  blames: ['vmm'],
  specRef: 'spec §6.1 V1-RESUME-ORDER; §2.5 [L58]',
  description:
    'While resuming (100b) each chunk must go: read data_offset → write the chunk\'s data inside the region from data_offset on → write data_size with the number of bytes just written. A data write, or a data_size write, with no data_offset read for the chunk (since resuming began or since the previous data_size write) is a VMM error, as is a data write outside [data_offset, end of region). A data_size value that differs from the bytes written since the last data_offset read is a VMM warning (not judged when no data write was seen: the data section may be mmapped, which a syscall trace cannot see). Each problem is reported once per chunk.',
  uncertainWhen: 'Events were lost since the chunk began (the data_offset read) or since the last chunk boundary: the missing read or writes may have been among them.',
  create(env) {
    // The sequence is the tracker's (ctx.resume, as it was before this op); the rule only
    // remembers what it already reported: per chunk (by its data_offset read) and per
    // boundary (by the data_size write, or the entry, that opened it).
    const reportedChunk = new WeakSet<object>();
    const reportedBoundary = new WeakSet<object>();

    const error = (ctx: DeviceContext, o: DeviceOp, message: string, ev: readonly Evidence[], uncertain: boolean): void =>
      env.report(ctx, { severity: 'error', blame: 'vmm', tsNs: o.tsNs, message, evidence: ev, uncertain });

    return {
      op(o, ctx) {
        const s = ctx.state;
        if (s !== undefined && (s.raw & V1_STATE_MASK) !== V1_RESUMING) return;
        const r = ctx.resume;
        // Judged once the entry into resuming or a chunk boundary was seen: a capture that
        // starts mid-chunk is not.
        const since = r.boundary ?? r.entry;
        const chunk = r.chunk;

        if (o.op === 'v1-data' && o.write) {
          if (chunk === undefined) {
            if (since !== undefined && !reportedBoundary.has(since)) {
              reportedBoundary.add(since);
              error(ctx, o, 'The VMM wrote migration data without reading data_offset for this chunk first. Each chunk goes: read data_offset → write the data at data_offset → write data_size.', [evidence(o)], gapSince(ctx, since.gapSerial));
            }
            return;
          }
          const end = o.regionOffset + BigInt(o.size);
          const size = ctx.region?.size;
          const outside = (chunk.base !== undefined && o.regionOffset < chunk.base) || (size !== undefined && end > size);
          if (outside && !reportedChunk.has(chunk.offset)) {
            reportedChunk.add(chunk.offset);
            const window = `[${chunk.base === undefined ? 'data_offset' : hex(chunk.base)}, ${size === undefined ? 'end of region' : hex(size)})`;
            error(ctx, o, `The VMM wrote data at region offsets [${hex(o.regionOffset)}, ${hex(end)}), outside ${window}: data must be written from data_offset on, inside the migration region.`, [evidence(chunk.offset), evidence(o)], gapSince(ctx, chunk.gapSerial));
          }
          return;
        }
        if (o.op === 'v1-field' && o.field === 'data_size' && o.write) {
          if (chunk === undefined) {
            if (since !== undefined) error(ctx, o, 'The VMM wrote data_size without reading data_offset for this chunk first. Each chunk goes: read data_offset → write the data at data_offset → write data_size.', [evidence(o)], gapSince(ctx, since.gapSerial));
            return;
          }
          if (o.value === undefined || chunk.writes === 0 || chunk.bytesUnknown || o.value === chunk.bytes) return;
          env.report(ctx, {
            severity: 'warning',
            blame: 'vmm',
            tsNs: o.tsNs,
            message: `The VMM wrote data_size = ${hex(o.value)}, but wrote ${hex(chunk.bytes)} bytes of data (${chunk.writes} write${chunk.writes === 1 ? '' : 's'}) since it read data_offset. data_size must say how many bytes were just written.`,
            evidence: [evidence(chunk.offset), evidence(o)],
            uncertain: gapSince(ctx, chunk.gapSerial),
          });
        }
      },
    };
  },
};
