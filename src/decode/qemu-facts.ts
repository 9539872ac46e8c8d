// What QEMU's v1-era trace events (spec §4.2) say, for the tracker (and rules' evidence).
// The decoder hands events over parsed but untyped (numbers as bigint, strings as given);
// these helpers check what they read and answer undefined for anything else.

import type { QemuEventOp } from './ops.js';

function argNumber(o: QemuEventOp, name: string): bigint | undefined {
  const v = o.args[name];
  if (typeof v === 'bigint') return v;
  if (typeof v === 'string' && /^[0-9]+$/.test(v)) return BigInt(v);
  return undefined;
}

function argString(o: QemuEventOp, name: string): string | undefined {
  const v = o.args[name];
  return typeof v === 'string' ? v : undefined;
}

/**
 * vfio_migration_set_state ` (%s) state %d`: QEMU traces it after a successful device_state
 * write (§3.3 step 6), so it tells the state even when the tracer did not see the value.
 */
export function qemuSetState(o: QemuEventOp): number | undefined {
  if (o.event !== 'vfio_migration_set_state') return undefined;
  const v = argNumber(o, 'state');
  return v !== undefined && v <= 0xffffffffn ? Number(v) : undefined;
}

/** vfio_vmstate_change ` (%s) running %d …`: true when QEMU resumed the VM (running 1). */
export function qemuVmRunning(o: QemuEventOp): boolean {
  return o.event === 'vfio_vmstate_change' && argNumber(o, 'running') === 1n;
}

/** MigrationStatus strings that end a migration (§3.3 notifier, §4.2). */
const ENDING = new Set(['failed', 'cancelled', 'cancelling', 'completed']);

/**
 * QEMU 9.0+ prints the notifier's MigrationEventType as a number (spec §4.3 "~9.x",
 * include/migration/misc.h: MIG_EVENT_PRECOPY_SETUP 0, _DONE 1, _FAILED 2; later trees add
 * MIG_EVENT_PRE_INCOMING after FAILED, so the first three keep their numbers).
 */
const EVENT_TYPE_ENDING: ReadonlyMap<bigint, string> = new Map([
  [1n, 'completed'],
  [2n, 'failed'],
]);

/**
 * vfio_migration_state_notifier: ` (%s) state %s` (a MigrationStatus string, ≤ 8.x) or
 * ` (%s) state %d` (a MigrationEventType, 9.0+): the status when it ends the migration.
 */
export function qemuMigrationEnding(o: QemuEventOp): string | undefined {
  if (o.event !== 'vfio_migration_state_notifier') return undefined;
  const v = o.args['state'];
  if (typeof v === 'bigint') return EVENT_TYPE_ENDING.get(v);
  const s = argString(o, 'state');
  return s !== undefined && ENDING.has(s) ? s : undefined;
}

/** The notifier says the migration is failing or was cancelled (either form, see above). */
export function qemuMigrationAbandoned(o: QemuEventOp): boolean {
  const s = qemuMigrationEnding(o);
  if (s !== undefined) return s === 'failed' || s === 'cancelled';
  return o.event === 'vfio_migration_state_notifier' && argString(o, 'state') === 'cancelling';
}
