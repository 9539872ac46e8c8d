// V1-RESUME-ORDER (spec §6.1; §2.5 resume sequence [L58]): while resuming, each chunk goes
// data_offset read → data writes inside the window → data_size write (the bytes written).
//
// Works without values where it can: data writes and data_size writes happen only when
// resuming, so with the state unknown they are still checked, once a chunk boundary (a
// data_size write) has been seen; a capture that starts mid-chunk is not judged.

import type { DeviceOp, V1FieldOp } from '../../decode/ops.js';
import { V1_RESUMING, V1_STATE_MASK } from '../../protocol/v1.js';
import { gapSince, type DeviceContext } from '../../track/device-view.js';
import { evidence, hex } from '../format.js';
import type { DeviceRuleDef } from '../rule.js';
import type { Evidence } from '../types.js';

interface Chunk {
  readonly offset: V1FieldOp;
  readonly base: bigint | undefined;
  readonly gapSerial: number;
  bytes: bigint;
  writes: number;
  bytesUnknown: boolean;
  reported: boolean;
}

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
    let fromOff = false;
    let began = false; // the entry into RESUMING was seen
    let boundary = false; // a chunk boundary (data_size write) was seen
    let boundarySerial = 0;
    let boundaryReported = false;
    let chunk: Chunk | undefined;

    const error = (ctx: DeviceContext, o: DeviceOp, message: string, ev: readonly Evidence[], uncertain: boolean): void =>
      env.report(ctx, { severity: 'error', blame: 'vmm', tsNs: o.tsNs, message, evidence: ev, uncertain });

    return {
      op(o, ctx) {
        const s = ctx.state;
        const mode = s === undefined ? 'unknown' : (s.raw & V1_STATE_MASK) === V1_RESUMING ? 'resuming' : 'off';
        if (mode === 'off') {
          fromOff = true;
          began = false;
          boundary = false;
          chunk = undefined;
          return;
        }
        if (mode === 'resuming' && fromOff) {
          fromOff = false;
          began = true;
          boundarySerial = ctx.gaps.count;
          boundaryReported = false;
        }
        const active = began || boundary;

        if (o.op === 'v1-field' && o.field === 'data_offset' && !o.write) {
          chunk = { offset: o, base: o.result.ok === true ? o.value : undefined, gapSerial: ctx.gaps.count, bytes: 0n, writes: 0, bytesUnknown: false, reported: false };
          return;
        }
        if (o.op === 'v1-data' && o.write) {
          if (chunk === undefined) {
            if (active && !boundaryReported) {
              boundaryReported = true;
              error(ctx, o, 'The VMM wrote migration data without reading data_offset for this chunk first. Each chunk goes: read data_offset → write the data at data_offset → write data_size.', [evidence(o)], gapSince(ctx, boundarySerial));
            }
            return;
          }
          chunk.writes += 1;
          if (o.result.ok === true) chunk.bytes += BigInt(o.size);
          else chunk.bytesUnknown = true;
          const end = o.regionOffset + BigInt(o.size);
          const size = ctx.region?.size;
          const outside = (chunk.base !== undefined && o.regionOffset < chunk.base) || (size !== undefined && end > size);
          if (outside && !chunk.reported) {
            chunk.reported = true;
            const window = `[${chunk.base === undefined ? 'data_offset' : hex(chunk.base)}, ${size === undefined ? 'end of region' : hex(size)})`;
            error(ctx, o, `The VMM wrote data at region offsets [${hex(o.regionOffset)}, ${hex(end)}), outside ${window}: data must be written from data_offset on, inside the migration region.`, [evidence(chunk.offset), evidence(o)], gapSince(ctx, chunk.gapSerial));
          }
          return;
        }
        if (o.op === 'v1-field' && o.field === 'data_size' && o.write) {
          const c = chunk;
          chunk = undefined;
          const wasActive = active;
          const orphanUncertain = gapSince(ctx, boundarySerial);
          boundary = true;
          boundarySerial = ctx.gaps.count;
          boundaryReported = false;
          if (c === undefined) {
            if (wasActive) error(ctx, o, 'The VMM wrote data_size without reading data_offset for this chunk first. Each chunk goes: read data_offset → write the data at data_offset → write data_size.', [evidence(o)], orphanUncertain);
            return;
          }
          if (o.value === undefined || c.writes === 0 || c.bytesUnknown || o.value === c.bytes) return;
          env.report(ctx, {
            severity: 'warning',
            blame: 'vmm',
            tsNs: o.tsNs,
            message: `The VMM wrote data_size = ${hex(o.value)}, but wrote ${hex(c.bytes)} bytes of data (${c.writes} write${c.writes === 1 ? '' : 's'}) since it read data_offset. data_size must say how many bytes were just written.`,
            evidence: [evidence(c.offset), evidence(o)],
            uncertain: gapSince(ctx, c.gapSerial),
          });
        }
      },
    };
  },
};
