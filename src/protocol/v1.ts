// Protocol v1: the migration region of Linux 5.8–5.17 (spec/vfio-migration.md §2).
// struct vfio_device_migration_info sits at offset 0 of the region; every field is
// naturally aligned, so the layout is the same on every ABI.

export type V1Field = 'device_state' | 'reserved' | 'pending_bytes' | 'data_offset' | 'data_size';

export interface V1FieldLayout {
  readonly name: V1Field;
  readonly offset: number;
  readonly width: 4 | 8;
  /** What the header text allows the user to do. */
  readonly access: 'rw' | 'ro' | 'none';
}

/** §2.1, in offset order. */
export const V1_FIELDS: readonly V1FieldLayout[] = [
  { name: 'device_state', offset: 0, width: 4, access: 'rw' },
  { name: 'reserved', offset: 4, width: 4, access: 'none' },
  { name: 'pending_bytes', offset: 8, width: 8, access: 'ro' },
  { name: 'data_offset', offset: 16, width: 8, access: 'ro' },
  { name: 'data_size', offset: 24, width: 8, access: 'rw' },
];

/** Size of the header struct; the data section follows it. */
export const V1_HEADER_SIZE = 32;

/** device_state bits, ≤5.17 names (renamed VFIO_DEVICE_STATE_V1_* in 5.18). */
export const V1_RUNNING = 1;
export const V1_SAVING = 2;
export const V1_RESUMING = 4;
export const V1_STATE_MASK = 7;

/** State names as DESIGN.md fixes them; INVALID_* for the reserved combinations. */
export type V1StateName =
  | 'STOP'
  | 'RUNNING'
  | 'SAVING'
  | 'PRE_COPY'
  | 'RESUMING'
  | 'INVALID_101'
  | 'ERROR'
  | 'INVALID_111';

const V1_NAMES: readonly V1StateName[] = [
  'STOP', // 000b
  'RUNNING', // 001b — default state
  'SAVING', // 010b — stop-and-copy
  'PRE_COPY', // 011b — RUNNING|SAVING
  'RESUMING', // 100b
  'INVALID_101', // reserved (REV)
  'ERROR', // 110b
  'INVALID_111', // reserved (REV)
];

/** Name of the low three bits of a device_state value. */
export function v1StateName(raw: number): V1StateName {
  return V1_NAMES[raw & V1_STATE_MASK] as V1StateName;
}

/** VFIO_DEVICE_STATE_VALID: 0..4 are valid; 5, 6, 7 are not. Reserved bits ignored. */
export function v1IsValid(raw: number): boolean {
  return (raw & V1_STATE_MASK) <= 4;
}

export function v1IsError(raw: number): boolean {
  return (raw & V1_STATE_MASK) === 6;
}

export function v1IsReserved(raw: number): boolean {
  const low = raw & V1_STATE_MASK;
  return low === 5 || low === 7;
}

export function v1IsSaving(raw: number): boolean {
  return (raw & V1_STATE_MASK) === 2 || (raw & V1_STATE_MASK) === 3;
}

export function v1IsRunning(raw: number): boolean {
  return (raw & V1_STATE_MASK) === 1 || (raw & V1_STATE_MASK) === 3;
}

/** Reserved bits 3–31 of a device_state value. */
export function v1ReservedBits(raw: number): number {
  // `<<` yields a signed 32-bit value: bit 31 set would make it negative; keep it unsigned.
  return ((raw >>> 3) << 3) >>> 0;
}

/** The field that starts exactly at `offset` within the region header, if any. */
export function v1FieldAt(offset: number): V1FieldLayout | undefined {
  return V1_FIELDS.find((f) => f.offset === offset);
}

/** Every header field an access [offset, offset+size) overlaps. */
export function v1FieldsOverlapping(offset: number, size: number): readonly V1FieldLayout[] {
  return V1_FIELDS.filter((f) => offset < f.offset + f.width && f.offset < offset + size);
}
