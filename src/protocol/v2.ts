// Protocol v2: VFIO_DEVICE_FEATURE-based migration of Linux 5.18+ (spec/vfio-migration.md §5).

export type V2StateName =
  | 'ERROR'
  | 'STOP'
  | 'RUNNING'
  | 'STOP_COPY'
  | 'RESUMING'
  | 'RUNNING_P2P'
  | 'PRE_COPY'
  | 'PRE_COPY_P2P';

/** enum vfio_device_mig_state, §5.3. */
export const V2_STATES: readonly V2StateName[] = [
  'ERROR',
  'STOP',
  'RUNNING',
  'STOP_COPY',
  'RESUMING',
  'RUNNING_P2P',
  'PRE_COPY',
  'PRE_COPY_P2P',
];

export function v2StateName(raw: number): V2StateName | `INVALID_${number}` {
  return V2_STATES[raw] ?? `INVALID_${raw}`;
}

/** struct vfio_device_feature flags, §5.2. */
export const FEATURE_MASK = 0xffff;
export const FEATURE_GET = 1 << 16;
export const FEATURE_SET = 1 << 17;
export const FEATURE_PROBE = 1 << 18;

export const FEATURE_MIGRATION = 1;
export const FEATURE_MIG_DEVICE_STATE = 2;
export const FEATURE_MIG_DATA_SIZE = 9;

/** vfio_device_feature_migration.flags. */
export const MIG_FLAG_STOP_COPY = 1 << 0;
export const MIG_FLAG_P2P = 1 << 1;
export const MIG_FLAG_PRE_COPY = 1 << 2;
