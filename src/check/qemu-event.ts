// The QEMU trace events (spec §4.2) the checker reads, and their arguments. The decoder
// hands them over parsed but untyped (numbers as bigint, strings as given); these helpers
// check what they read and answer undefined for anything else.

import type { QemuEventOp } from '../decode/ops.js';

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

/** vfio_migration_state_notifier ` (%s) state %s`: the status when it ends the migration. */
export function qemuMigrationEnding(o: QemuEventOp): string | undefined {
  if (o.event !== 'vfio_migration_state_notifier') return undefined;
  const s = argString(o, 'state');
  return s !== undefined && ENDING.has(s) ? s : undefined;
}
