// V1-SAVE-DRAIN (spec §6.1; §2.5 [L58]: in stop-and-copy "iterate until pending_bytes is
// 0"): leaving stop-and-copy (010b) with SAVING cleared while data is still pending, or
// without having read pending_bytes there at all, loses device state.

import { assertNever } from '../../protocol/assert-never.js';
import type { DeviceOp, V1FieldOp } from '../../decode/ops.js';
import { V1_SAVING, V1_STATE_MASK } from '../../protocol/v1.js';
import { gapSince, stateEvidence, type DeviceContext, type KnownState } from '../../track/device-view.js';
import { evidence, hex, stateText } from '../format.js';
import { qemuSetState } from '../../decode/qemu-facts.js';
import type { DeviceRuleDef } from '../rule.js';

const STOP_AND_COPY = V1_SAVING;

export const v1SaveDrain: DeviceRuleDef = {
  scope: 'device',
  id: 'V1-SAVE-DRAIN',
  title: 'Stop-and-copy left before the data was drained',
  severities: ['error'],
  blames: ['vmm'],
  specRef: 'spec §6.1 V1-SAVE-DRAIN; §2.5 [L58]',
  description:
    'In stop-and-copy (010b) the VMM must keep iterating until pending_bytes reads 0. Leaving 010b with SAVING cleared (to 000b, 001b or 100b) while the last pending_bytes read in 010b was > 0, or without any pending_bytes read in 010b, is an incomplete save: a VMM error. Exempt: the return to RUNNING (001b) after a failed transition or once QEMU reported the migration failed or cancelled (V1-FAIL-RECOVER covers that case). Needs the value of the last pending_bytes read; the "never read" case needs the entry into 010b to be seen.',
  uncertainWhen: 'Events were lost while the device was in 010b: the missing pending_bytes reads may have drained it.',
  create(env) {
    let in010: { readonly entry: KnownState; readonly entrySeen: boolean; readonly gapSerial: number; last: V1FieldOp | undefined } | undefined;

    const left = (o: DeviceOp, value: number, ctx: DeviceContext): void => {
      const s = in010;
      in010 = undefined;
      if (s === undefined || (value & V1_SAVING) !== 0) return;
      const m = ctx.migration.active;
      if ((value & V1_STATE_MASK) === 1 && (m?.failure !== undefined || m?.ending !== undefined)) return;
      const uncertain = gapSince(ctx, s.gapSerial);
      if (s.last === undefined) {
        if (!s.entrySeen) return;
        env.report(ctx, {
          severity: 'error',
          blame: 'vmm',
          tsNs: o.tsNs,
          message: `The device left stop-and-copy (010b) for ${stateText(value)} without the VMM ever reading pending_bytes in 010b. In stop-and-copy the VMM must iterate until pending_bytes reads 0; the device state may be incomplete.`,
          evidence: [stateEvidence(s.entry, 'entered stop-and-copy'), evidence(o)],
          uncertain,
        });
        return;
      }
      const pending = s.last.result.ok === true ? s.last.value : undefined;
      if (pending === undefined || pending === 0n) return;
      env.report(ctx, {
        severity: 'error',
        blame: 'vmm',
        tsNs: o.tsNs,
        message: `The device left stop-and-copy (010b) for ${stateText(value)} while the last pending_bytes read said ${hex(pending)} bytes were still pending. In stop-and-copy the VMM must iterate until pending_bytes reads 0; ${hex(pending)} bytes of device state were not saved.`,
        evidence: [stateEvidence(s.entry, 'entered stop-and-copy'), evidence(s.last, 'last pending_bytes read in 010b'), evidence(o)],
        uncertain,
      });
    };

    return {
      op(o, ctx) {
        const st = ctx.state;
        if (in010 === undefined && st !== undefined && (st.raw & V1_STATE_MASK) === STOP_AND_COPY) {
          in010 = { entry: st, entrySeen: st.how === 'write' || st.how === 'qemu', gapSerial: ctx.gaps.count, last: undefined };
        }
        if (in010 === undefined) return;
        switch (o.op) {
          case 'v1-field':
            if (o.field === 'pending_bytes' && !o.write) in010.last = o;
            return;
          case 'v1-state-write':
            if (o.result.ok === true && o.value !== undefined && (o.value & V1_STATE_MASK) !== STOP_AND_COPY) left(o, o.value, ctx);
            return;
          case 'v1-state-read':
            // The state moved without a seen write (unseen value, or on its own: V1-ASYNC).
            if (o.result.ok === true && o.value !== undefined && (o.value & V1_STATE_MASK) !== STOP_AND_COPY) left(o, o.value, ctx);
            return;
          case 'qemu': {
            const v = qemuSetState(o);
            if (v !== undefined && (v & V1_STATE_MASK) !== STOP_AND_COPY) left(o, v, ctx);
            return;
          }
          case 'reset':
            in010 = undefined;
            return;
          case 'v1-bad-access':
          case 'v1-data':
          case 'region':
          case 'open':
          case 'close':
            return;
          default:
            assertNever(o);
        }
      },
    };
  },
};
