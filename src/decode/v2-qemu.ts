// QEMU's v2-era set-state trace events (spec §4.3, §5.6) as facts about a device's v2
// state. Shared by the tracker and the checker so both read QEMU the same way.
//
// - QEMU 8.0: `vfio_migration_set_state (dev) state STOP_COPY` is traced only after a
//   successful SET of that state: the device is now in it.
// - ~9.x: `vfio_migration_set_state (dev) new state X, recover state Y` is traced BEFORE
//   the SET (a request, possibly skipped when X is QEMU's cached state), and
//   `vfio_migration_set_device_state (dev) state X` after a successful SET, after a
//   successful recovery SET, and after the reset that follows a failed recovery.
// - QMP VFIO_MIGRATION (9.1+): sent at the same point as set_device_state (qmp-vfio.ts).
// State strings come from mig_state_to_str; "UNKNOWN STATE" and any other text say nothing.

import type { QemuEventOp } from './ops.js';
import { V2_STATES } from '../protocol/v2.js';

export type V2QemuFact =
  /** The device is in `state` now (QEMU cached it after a successful SET or reset). */
  | { readonly kind: 'now'; readonly state: number }
  /** QEMU is about to SET `newState`; on failure it will SET `recoverState` (ERROR: reset instead). */
  | { readonly kind: 'request'; readonly newState: number; readonly recoverState: number | undefined };

function stateOf(v: bigint | string | undefined): number | undefined {
  if (typeof v !== 'string') return undefined;
  const i = V2_STATES.findIndex((name) => name === v);
  return i >= 0 ? i : undefined;
}

export function v2QemuFact(o: QemuEventOp): V2QemuFact | undefined {
  // QMP VFIO_MIGRATION (decode/qmp-vfio.ts) is sent where set_device_state is traced.
  if (o.event === 'vfio_migration_set_device_state' || o.event === 'VFIO_MIGRATION') {
    const s = stateOf(o.args['state']);
    return s === undefined ? undefined : { kind: 'now', state: s };
  }
  if (o.event !== 'vfio_migration_set_state') return undefined;
  const newState = stateOf(o.args['newState']);
  if (newState !== undefined) return { kind: 'request', newState, recoverState: stateOf(o.args['recoverState']) };
  const s = stateOf(o.args['state']); // a v1-era numeric state is a bigint: not ours
  return s === undefined ? undefined : { kind: 'now', state: s };
}

/** True for QEMU events that only the v2 era has (string states): the device speaks v2. */
export function isV2QemuEvent(o: QemuEventOp): boolean {
  return v2QemuFact(o) !== undefined;
}
