// What QEMU's text trace outputs have in common once their prefix is gone (log backend,
// qemu-trace-stap): `"<event> " FMT` (scripts/tracetool/backend/log.py,
// scripts/tracetool/format/log_stap.py), the event name being a C identifier.
//
// Only events that may concern a migration become MarkerRecords: VFIO's own (read by
// src/decode/qemu-events.ts) and the migration core's (src/decode/qemu-migration-events.ts).
// Every other trace event is counted as skipped; a QEMU log can hold millions of
// memory_region_ops lines that would otherwise each become a record.

/**
 * Trace-event name prefixes kept (QEMU hw/vfio/trace-events, migration/trace-events,
 * backends/iommufd trace-events). `migrat` covers migrate_* and migration_*.
 */
export const KEPT_EVENT_PREFIXES: readonly string[] = ['vfio_', 'migrat', 'savevm_', 'loadvm_', 'qemu_loadvm_', 'qemu_savevm_', 'multifd_', 'postcopy_', 'process_incoming_migration', 'iommufd_', 'runstate_'];

/**
 * End of the event name at s[i..] if it is one (lower-case C identifier followed by a
 * space or the end of the line), else -1. `qemu-system-x86_64: …` and `vfio_pci: …` are
 * QEMU's own messages, not events.
 */
export function eventNameEnd(s: string, i: number): number {
  let j = i;
  const first = s.charCodeAt(j);
  if (!((first >= 97 && first <= 122) || first === 95)) return -1;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    const word = (c >= 48 && c <= 57) || (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
    if (!word) break;
    j++;
  }
  return j === s.length || s.charCodeAt(j) === 32 ? j : -1;
}

export function isKeptEvent(s: string, i: number): boolean {
  for (const p of KEPT_EVENT_PREFIXES) if (s.startsWith(p, i)) return true;
  return false;
}

/** A bare trace line of an event we keep: `vfio_… ` or `migrate_set_state …` at the start. */
export function isBareKeptEventLine(s: string): boolean {
  return eventNameEnd(s, 0) > 0 && isKeptEvent(s, 0);
}
