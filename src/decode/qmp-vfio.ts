// QMP's VFIO_MIGRATION event (QEMU 9.1+, device property migration-events=on; qapi/vfio.json):
//
//   {"event": "VFIO_MIGRATION", "data": {"device-id": "hostdev0",
//    "qom-path": "/machine/peripheral/hostdev0", "device-state": "stop-copy"}, "timestamp": …}
//
// QEMU sends it from vfio_migration_set_device_state (hw/vfio/migration.c), the same
// place that traces `vfio_migration_set_device_state`: after a successful SET, after a
// successful recovery SET, and after the reset that follows a failed recovery. So it says
// what the trace event says: the device is in that state now. The QAPI names are the
// kernel's enum names in lower case with dashes (QapiVfioMigrationState).

import type { QmpRecord } from '../record/types.js';
import { V2_STATES } from '../protocol/v2.js';

export interface QmpVfioMigration {
  /** The QMP event name, kept as the op's event so every output says where the fact came from. */
  readonly event: 'VFIO_MIGRATION';
  /** device-id (the -device id=…), or the QOM path when the device has no id. */
  readonly device: string;
  /** state: the v2 state name as V2_STATES spells it (e.g. "STOP_COPY"); qomPath. */
  readonly args: Readonly<Record<string, string>>;
}

/** QAPI "stop-copy" → "STOP_COPY" when it names a v2 state; undefined otherwise. */
export function qapiVfioState(s: unknown): string | undefined {
  if (typeof s !== 'string') return undefined;
  const name = s.toUpperCase().replace(/-/g, '_');
  return V2_STATES.some((v) => v === name) ? name : undefined;
}

export function qmpVfioMigration(r: QmpRecord): QmpVfioMigration | undefined {
  if (r.dir !== 'event' || r.message['event'] !== 'VFIO_MIGRATION') return undefined;
  const data = r.message['data'];
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  const d = data as Record<string, unknown>;
  const id = typeof d['device-id'] === 'string' && d['device-id'] !== '' ? d['device-id'] : undefined;
  const qom = typeof d['qom-path'] === 'string' ? d['qom-path'] : undefined;
  const device = id ?? qom;
  const state = qapiVfioState(d['device-state']);
  if (device === undefined || state === undefined) return undefined;
  return { event: 'VFIO_MIGRATION', device, args: qom === undefined ? { state } : { state, qomPath: qom } };
}
