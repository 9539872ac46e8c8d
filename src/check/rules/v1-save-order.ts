// V1-SAVE-ORDER (spec §6.1; §2.5 save sequence [L58]): while saving, each iteration reads
// pending_bytes (>0), then data_offset, then data_size, then data inside
// [data_offset, data_offset + data_size), then pending_bytes again.
//
// Works without values where it can: the order checks need no values, and when the state
// is unknown (a tracer without buffers and no QEMU events) data_size reads and data reads
// are still save-only accesses, so they are checked from the first pending_bytes read on.
// data_offset reads are not judged while the state is unknown (resume reads it too).

import type { DeviceOp } from '../../decode/ops.js';
import { v1IsSaving } from '../../protocol/v1.js';
import { gapSince, type DeviceContext } from '../../track/device-view.js';
import { evidence, hex } from '../format.js';
import type { DeviceRuleDef, RuleEnv } from '../rule.js';
import type { Evidence } from '../types.js';


export const v1SaveOrder: DeviceRuleDef = {
  scope: 'device',
  id: 'V1-SAVE-ORDER',
  title: 'Save iteration order',
  severities: ['error', 'warning'],
  blames: ['vmm'],
  specRef: 'spec §6.1 V1-SAVE-ORDER; §2.5 [L58]',
  description:
    'While saving (010b or 011b) each iteration must go: read pending_bytes (> 0) → read data_offset → read data_size → read data inside [data_offset, data_offset + data_size) → read pending_bytes. Reading data_size before data_offset, reading data before data_size, or reading data outside that window is a VMM error (reported once per iteration). Reading data_offset when the last pending_bytes read returned 0, or without any pending_bytes read since saving began, is a VMM warning: the VMM should not iterate. The window check needs the values of data_offset and data_size; the order checks do not.',
  uncertainWhen: 'Events were lost since the iteration began (the last pending_bytes read): the missing read may have been among them.',
  create(env) {
    // The round (pending_bytes read, first data_offset and data_size reads) and whether the
    // entry into saving was seen are the tracker's (device-view.ts SaveRound, saveEntry).
    // The rule remembers only the round it already reported an error in.
    let reportedIn: object | undefined;
    return {
      op(o, ctx) {
        const s = ctx.state;
        const mode = s === undefined ? 'unknown' : v1IsSaving(s.raw) ? 'saving' : 'off';
        if (mode === 'off') return;
        const r = ctx.round;
        const began = ctx.saveEntry !== undefined;
        // The round is known by its pending_bytes read, or by the entry into saving before one.
        const key: object | undefined = r.pending ?? ctx.saveEntry;
        if (key === undefined) return; // neither a pending_bytes read nor the entry: nothing to judge
        const reported = reportedIn === key;
        const uncertain = gapSince(ctx, r.pending?.gapSerial ?? ctx.saveEntry?.gapSerial ?? 0);
        const pending = r.pending;

        if (o.op === 'v1-field' && !o.write && o.result.ok !== false) {
          if (o.field === 'data_offset' && mode === 'saving' && r.dataOffset === undefined) {
            if (pending === undefined && began) {
              warn(env, ctx, o, 'The VMM read data_offset without reading pending_bytes since saving began; each iteration starts by reading pending_bytes, and iterates only if it is > 0.', [evidence(o)], uncertain);
            } else if (pending !== undefined && pending.value === 0n) {
              warn(env, ctx, o, 'The VMM read data_offset although the last pending_bytes read returned 0; with nothing pending it should not iterate.', [evidence(pending.op), evidence(o)], uncertain);
            }
          } else if (o.field === 'data_size' && r.dataSize === undefined && r.dataOffset === undefined && !reported) {
            reportedIn = key;
            error(env, ctx, o, 'The VMM read data_size before data_offset in this save iteration. The order is pending_bytes → data_offset → data_size → data.', [...(pending ? [evidence(pending.op)] : []), evidence(o)], uncertain);
          }
          return;
        }
        if (o.op === 'v1-data' && !o.write && !reported) {
          const offset = r.dataOffset;
          const size = r.dataSize;
          if (size === undefined) {
            reportedIn = key;
            error(env, ctx, o, 'The VMM read migration data before reading data_size in this save iteration. The order is pending_bytes → data_offset → data_size → data.', [...(offset ? [evidence(offset.op)] : []), evidence(o)], uncertain);
            return;
          }
          const base = offset?.value;
          const len = size.value;
          if (base === undefined || len === undefined) return;
          const end = o.regionOffset + BigInt(o.size);
          if (o.regionOffset < base || end > base + len) {
            reportedIn = key;
            error(
              env,
              ctx,
              o,
              `The VMM read data at region offsets [${hex(o.regionOffset)}, ${hex(end)}), outside the buffer the driver offered, [${hex(base)}, ${hex(base + len)}) (data_offset ${hex(base)}, data_size ${hex(len)}).`,
              [...(offset ? [evidence(offset.op)] : []), evidence(size.op), evidence(o)],
              uncertain,
            );
          }
        }
      },
    };
  },
};

function error(env: RuleEnv, ctx: DeviceContext, o: DeviceOp, message: string, ev: readonly Evidence[], uncertain: boolean): void {
  env.report(ctx, { severity: 'error', blame: 'vmm', tsNs: o.tsNs, message, evidence: ev, uncertain });
}

function warn(env: RuleEnv, ctx: DeviceContext, o: DeviceOp, message: string, ev: readonly Evidence[], uncertain: boolean): void {
  env.report(ctx, { severity: 'warning', blame: 'vmm', tsNs: o.tsNs, message, evidence: ev, uncertain });
}
