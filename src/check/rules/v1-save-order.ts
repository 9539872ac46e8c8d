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

interface Read {
  readonly op: DeviceOp;
  readonly value: bigint | undefined;
}

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
    let fromOff = false; // last known state was outside saving (so an entry can be seen)
    let began = false; // entry into saving was seen
    let beganSerial = 0;
    let pending: (Read & { readonly gapSerial: number }) | undefined;
    let offset: Read | undefined;
    let size: Read | undefined;
    let reported = false; // an error was reported in this iteration

    const newIteration = (): void => {
      offset = undefined;
      size = undefined;
      reported = false;
    };
    const uncertain = (ctx: DeviceContext): boolean => gapSince(ctx, pending?.gapSerial ?? beganSerial);
    const active = (): boolean => pending !== undefined || began;

    return {
      op(o, ctx) {
        const s = ctx.state;
        const mode = s === undefined ? 'unknown' : v1IsSaving(s.raw) ? 'saving' : 'off';
        if (mode === 'off') {
          began = false;
          fromOff = true;
          pending = undefined;
          newIteration();
          return;
        }
        if (mode === 'saving' && fromOff) {
          // Entered saving from a known other state (possibly through an unseen write).
          began = true;
          fromOff = false;
          beganSerial = ctx.gaps.count;
        }

        if (o.op === 'v1-field' && !o.write && o.result.ok !== false) {
          const value = o.result.ok === true ? o.value : undefined;
          switch (o.field) {
            case 'pending_bytes':
              pending = { op: o, value, gapSerial: ctx.gaps.count };
              newIteration();
              return;
            case 'data_offset':
              if (mode === 'saving' && offset === undefined) {
                if (pending === undefined && began) {
                  warn(env, ctx, o, 'The VMM read data_offset without reading pending_bytes since saving began; each iteration starts by reading pending_bytes, and iterates only if it is > 0.', [evidence(o)], uncertain(ctx));
                } else if (pending !== undefined && pending.value === 0n) {
                  warn(env, ctx, o, 'The VMM read data_offset although the last pending_bytes read returned 0; with nothing pending it should not iterate.', [evidence(pending.op), evidence(o)], uncertain(ctx));
                }
              }
              if (offset === undefined) offset = { op: o, value };
              return;
            case 'data_size':
              if (!active() || size !== undefined) return;
              if (offset === undefined && !reported) {
                reported = true;
                error(env, ctx, o, 'The VMM read data_size before data_offset in this save iteration. The order is pending_bytes → data_offset → data_size → data.', [...(pending ? [evidence(pending.op)] : []), evidence(o)], uncertain(ctx));
              }
              size = { op: o, value };
              return;
            case 'reserved':
              return;
          }
        }
        if (o.op === 'v1-data' && !o.write && active() && !reported) {
          if (size === undefined) {
            reported = true;
            error(env, ctx, o, 'The VMM read migration data before reading data_size in this save iteration. The order is pending_bytes → data_offset → data_size → data.', [...(offset ? [evidence(offset.op)] : []), evidence(o)], uncertain(ctx));
            return;
          }
          const base = offset?.value;
          const len = size.value;
          if (base === undefined || len === undefined) return;
          const end = o.regionOffset + BigInt(o.size);
          if (o.regionOffset < base || end > base + len) {
            reported = true;
            error(
              env,
              ctx,
              o,
              `The VMM read data at region offsets [${hex(o.regionOffset)}, ${hex(end)}), outside the buffer the driver offered, [${hex(base)}, ${hex(base + len)}) (data_offset ${hex(base)}, data_size ${hex(len)}).`,
              [...(offset ? [evidence(offset.op)] : []), evidence(size.op), evidence(o)],
              uncertain(ctx),
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
