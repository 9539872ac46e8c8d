// V1-SAVE-DRAIN (spec §6.1; §2.5 [L58]: in stop-and-copy "iterate until pending_bytes is
// 0"): leaving stop-and-copy (010b) with SAVING cleared while data is still pending, or
// without having read pending_bytes there at all, loses device state.
//
// The rule reads the tracker's account of the stop-and-copy stay (MigrationSession.drain,
// device-state.ts), the same fact that gives the save its outcome: a save this rule flags
// is a failed save in the timeline, and a completed save is never flagged.

import type { DeviceRuleDef } from '../rule.js';
import { hex } from '../format.js';

export const v1SaveDrain: DeviceRuleDef = {
  scope: 'device',
  id: 'V1-SAVE-DRAIN',
  title: 'Stop-and-copy left before the data was drained',
  severities: ['error'],
  blames: ['vmm'],
  specRef: 'spec §6.1 V1-SAVE-DRAIN; §2.5 [L58]',
  description:
    'In stop-and-copy (010b) the VMM must keep iterating until pending_bytes reads 0. Leaving 010b with SAVING cleared (to 000b, 001b or 100b) while the last pending_bytes value in 010b was > 0, or without any pending_bytes read in 010b, is an incomplete save: a VMM error. The value may come from the read itself (bpftrace) or from QEMU\'s vfio_update_pending event. Exempt: the return to RUNNING (001b) after a failed transition or once QEMU reported the migration failed or cancelled (V1-FAIL-RECOVER covers that case), and a device that left 010b on its own (a read shows it moved with no write: the driver\'s fault, V1-ASYNC). Needs the pending_bytes values; the "never read" case needs the entry into 010b to be seen.',
  uncertainWhen: 'Events were lost while the device was in 010b: the missing pending_bytes reads may have drained it.',
  create(env) {
    return {
      fact(f, ctx) {
        if (f.kind !== 'session-end') return;
        const d = f.session.drain;
        if (d === undefined || d.exempt || d.by !== 'vmm') return;
        if (d.status !== 'pending' && d.status !== 'never-read') return;
        env.report(ctx, {
          severity: 'error',
          blame: 'vmm',
          tsNs: f.session.endNs,
          message:
            d.status === 'never-read'
              ? `The device left stop-and-copy (010b) for ${d.to} without the VMM ever reading pending_bytes in 010b. In stop-and-copy the VMM must iterate until pending_bytes reads 0; the device state may be incomplete.`
              : `The device left stop-and-copy (010b) for ${d.to} while the last pending_bytes value said ${hex(d.pendingBytes ?? 0n)} bytes were still pending. In stop-and-copy the VMM must iterate until pending_bytes reads 0; ${hex(d.pendingBytes ?? 0n)} bytes of device state were not saved.`,
          evidence: d.evidence,
          uncertain: d.uncertain,
        });
      },
    };
  },
};
