// QEMU's migration-core trace events (migration/trace-events) that say where a migration
// is: its status changes, the VM stopping for the switchover, and which side of the
// migration the process is on. Read from the same MarkerRecords as the VFIO events
// (log backend, qemu-trace-stap, ftrace backend). Forms checked against QEMU 7.2's output
// in the lab (test/fixtures/qemu-lab) and against migration/trace-events; like the VFIO
// table (qemu-events.ts), each entry names the release its form comes from.

export type MigrationEventMeaning =
  /** migrate_set_state: the MigrationStatus the process entered. */
  | { readonly kind: 'status'; readonly status: string }
  /** The source stopped the VM to complete the migration (the start of downtime on the source). */
  | { readonly kind: 'vm-stop'; readonly ret: number | undefined }
  /** migrate_fd_error: QEMU's error text for a failed migration. */
  | { readonly kind: 'error'; readonly desc: string }
  /** An event only one side of a migration emits. */
  | { readonly kind: 'side'; readonly side: 'source' | 'destination' };

export interface MigrationEvent {
  readonly event: string;
  readonly meaning: MigrationEventMeaning;
}

/** Event → its forms and releases (documentation; parseMigrationEvent implements them). */
export const QEMU_MIGRATION_EVENTS: Readonly<Record<string, readonly { readonly release: string; readonly format: string }[]>> = {
  migrate_set_state: [{ release: '2.x – current (seen in 7.2)', format: 'new state %s' }],
  migration_completion_vm_stop: [{ release: '7.2 (seen)', format: 'ret %d' }],
  migrate_fd_error: [{ release: '2.x – 9.x', format: 'error=%s' }],
  // Side markers (the names are the facts; their arguments are not read).
  savevm_state_setup: [{ release: '2.x – current (seen in 7.2)', format: '' }],
  savevm_state_complete_precopy: [{ release: '2.x – current (seen in 7.2)', format: '' }],
  migration_thread_setup_complete: [{ release: '2.x – current (seen in 7.2)', format: '' }],
  loadvm_state_setup: [{ release: '2.x – current (seen in 7.2)', format: '' }],
  qemu_loadvm_state_post_main: [{ release: '2.x – current (seen in 7.2)', format: '%d' }],
  migration_socket_incoming_accepted: [{ release: '2.x – current (seen in 7.2)', format: '' }],
  process_incoming_migration_co_end: [{ release: '2.x – current', format: 'ret=%d postcopy-state=%d' }],
};

const SOURCE_PREFIXES = ['savevm_', 'migration_thread_', 'migration_completion', 'migrate_pending', 'migration_bitmap_', 'migration_socket_outgoing', 'migration_set_outgoing'];
const DEST_PREFIXES = ['loadvm_', 'qemu_loadvm_', 'process_incoming_migration', 'migration_socket_incoming', 'migration_set_incoming'];

/** Parse one migration-core trace line (without any log prefix); undefined when it says nothing about a migration. */
export function parseMigrationEvent(text: string): MigrationEvent | undefined {
  const sp = text.indexOf(' ');
  const event = sp < 0 ? text : text.slice(0, sp);
  const rest = sp < 0 ? '' : text.slice(sp + 1).trim();
  if (event === 'migrate_set_state') {
    const m = /^new state ([a-z-]+)$/.exec(rest);
    return m === null ? undefined : { event, meaning: { kind: 'status', status: m[1] ?? '' } };
  }
  if (event === 'migration_completion_vm_stop') {
    const m = /^ret (-?\d+)$/.exec(rest);
    return { event, meaning: { kind: 'vm-stop', ret: m === null ? undefined : Number(m[1]) } };
  }
  if (event === 'migrate_fd_error') {
    return rest.startsWith('error=') ? { event, meaning: { kind: 'error', desc: rest.slice('error='.length) } } : undefined;
  }
  if (SOURCE_PREFIXES.some((p) => event.startsWith(p))) return { event, meaning: { kind: 'side', side: 'source' } };
  if (DEST_PREFIXES.some((p) => event.startsWith(p))) return { event, meaning: { kind: 'side', side: 'destination' } };
  return undefined;
}
