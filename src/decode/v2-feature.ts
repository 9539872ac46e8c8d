// Decoding of the protocol-v2 ioctl structs from the argument words a tracer read at
// syscall exit (IoctlRecord.argWords: little-endian u64 words, word 0 = bytes 0..7).
// Pure functions: which op a VFIO_DEVICE_FEATURE or VFIO_MIG_GET_PRECOPY_INFO call is, and
// its fields. The decoder (decoder.ts) adds device identity and the data_fd table.
//
// Layouts (spec §5.2, §5.4):
//   struct vfio_device_feature       { u32 argsz @0; u32 flags @4; u8 data[] @8 }
//   MIGRATION (1) data               { u64 flags @8 }
//   MIG_DEVICE_STATE (2) data        { u32 device_state @8; s32 data_fd @12 }
//   MIG_DATA_SIZE (9) data           { u64 stop_copy_length @8 }
//   struct vfio_precopy_info         { u32 argsz @0; u32 flags @4; u64 initial_bytes @8; u64 dirty_bytes @16 }

import type { OpResult, V2FeatureCall } from './ops.js';
import {
  FEATURE_GET,
  FEATURE_MASK,
  FEATURE_MIGRATION,
  FEATURE_MIG_DATA_SIZE,
  FEATURE_MIG_DEVICE_STATE,
  FEATURE_PROBE,
  FEATURE_SET,
} from '../protocol/v2.js';

/** Flag bits the kernel accepts in vfio_device_feature.flags (feature mask | GET | SET | PROBE). */
export const FEATURE_KNOWN_BITS = FEATURE_MASK | FEATURE_GET | FEATURE_SET | FEATURE_PROBE;

/** sizeof(struct vfio_device_feature): the header before data[]. */
export const FEATURE_HEADER_SIZE = 8;

/** The data struct size and the operations of each migration feature (spec §5.2 table). */
const MIGRATION_FEATURES: ReadonlyMap<number, { readonly size: number; readonly get: boolean; readonly set: boolean }> = new Map([
  [FEATURE_MIGRATION, { size: 8, get: true, set: false }],
  [FEATURE_MIG_DEVICE_STATE, { size: 8, get: true, set: true }],
  [FEATURE_MIG_DATA_SIZE, { size: 8, get: true, set: false }],
]);

export function isMigrationFeature(feature: number): boolean {
  return MIGRATION_FEATURES.has(feature);
}

const U32 = 0xffffffffn;

function lo32(w: bigint): number {
  return Number(w & U32);
}

function hi32(w: bigint): number {
  return Number((w >> 32n) & U32);
}

function signed32(n: number): number {
  return n >= 0x80000000 ? n - 0x100000000 : n;
}

/** The header as the tracer saw it. */
export function featureCall(words: readonly bigint[]): V2FeatureCall {
  const w0 = words[0];
  if (w0 === undefined) return { argsz: undefined, flags: undefined };
  return { argsz: lo32(w0), flags: hi32(w0) };
}

/**
 * Why the kernel's core (vfio_ioctl_device_feature, vfio_check_feature; spec §5.2) must
 * refuse this call with EINVAL, or undefined if it passes the core checks. Only the
 * migration features' data sizes are known; other features pass the size check here.
 */
export function featureArgsProblem(call: V2FeatureCall): string | undefined {
  const { argsz, flags } = call;
  if (argsz === undefined || flags === undefined) return undefined;
  if (argsz < FEATURE_HEADER_SIZE) return `argsz ${argsz} is smaller than the 8-byte header`;
  const unknown = flags & ~FEATURE_KNOWN_BITS;
  if (unknown !== 0) return `unknown flag bits 0x${(unknown >>> 0).toString(16)}`;
  const get = (flags & FEATURE_GET) !== 0;
  const set = (flags & FEATURE_SET) !== 0;
  const probe = (flags & FEATURE_PROBE) !== 0;
  if (get && set && !probe) return 'GET and SET both set without PROBE';
  const mf = MIGRATION_FEATURES.get(flags & FEATURE_MASK);
  if (mf === undefined) return undefined;
  if (get && !mf.get) return `GET is not supported by feature ${flags & FEATURE_MASK}`;
  if (set && !mf.set) return `SET is not supported by feature ${flags & FEATURE_MASK}`;
  if (probe) return undefined; // vfio_check_feature returns success for PROBE
  if (!get && !set) return 'neither GET nor SET (nor PROBE) is set';
  if (argsz - FEATURE_HEADER_SIZE < mf.size) return `argsz ${argsz} leaves ${argsz - FEATURE_HEADER_SIZE} bytes for the ${mf.size}-byte feature data`;
  return undefined;
}

/** What one VFIO_DEVICE_FEATURE call is, decoded. */
export type FeatureDecoded =
  | { readonly kind: 'feature' }
  | { readonly kind: 'mig-flags'; readonly migFlags: number | undefined; readonly migFlagsRaw: bigint | undefined }
  | { readonly kind: 'set-state'; readonly requested: number; readonly dataFd: number | undefined }
  | { readonly kind: 'get-state'; readonly state: number | undefined; readonly dataFd: number | undefined }
  | { readonly kind: 'data-size'; readonly stopCopyLength: bigint | undefined };

/**
 * Classify a VFIO_DEVICE_FEATURE call. Malformed calls, PROBEs, other features and calls
 * whose struct was not read stay generic ('feature'); reply fields are read only from
 * successful calls (a failed call's buffer says nothing, except that the kernel copies
 * MIG_DEVICE_STATE back with data_fd = −1, which is kept as read).
 */
export function decodeFeature(call: V2FeatureCall, words: readonly bigint[], result: OpResult): FeatureDecoded {
  const { flags } = call;
  if (flags === undefined || featureArgsProblem(call) !== undefined) return { kind: 'feature' };
  if ((flags & FEATURE_PROBE) !== 0) return { kind: 'feature' };
  const feature = flags & FEATURE_MASK;
  const get = (flags & FEATURE_GET) !== 0;
  const w1 = words[1];
  const ok = result.ok === true;
  switch (feature) {
    case FEATURE_MIGRATION:
      // struct vfio_device_feature_migration { __aligned_u64 flags; }: the whole u64 is kept
      // (migFlagsRaw); migFlags is its low 32 bits, where every defined flag lives.
      return { kind: 'mig-flags', migFlags: ok && w1 !== undefined ? Number(w1 & U32) : undefined, migFlagsRaw: ok && w1 !== undefined ? w1 : undefined };
    case FEATURE_MIG_DEVICE_STATE:
      if (w1 === undefined) return { kind: 'feature' };
      if (get) return { kind: 'get-state', state: ok ? lo32(w1) : undefined, dataFd: ok ? signed32(hi32(w1)) : undefined };
      // device_state is input: unchanged by the kernel, so the word read at exit holds the request.
      return { kind: 'set-state', requested: lo32(w1), dataFd: result.ok === undefined ? undefined : signed32(hi32(w1)) };
    case FEATURE_MIG_DATA_SIZE:
      return { kind: 'data-size', stopCopyLength: ok && w1 !== undefined ? w1 : undefined };
    default:
      return { kind: 'feature' };
  }
}

/** The feature index of a call, when the header was seen. */
export function featureIndex(call: V2FeatureCall): number | undefined {
  return call.flags === undefined ? undefined : call.flags & FEATURE_MASK;
}

/**
 * True when a FEATURE-numbered ioctl (0x3b75) on an fd of unknown kind is a device's
 * VFIO_DEVICE_FEATURE rather than a container's VFIO_IOMMU_DIRTY_PAGES (same number,
 * spec §1.1): DIRTY_PAGES flags are START 1, STOP 2, GET_BITMAP 4 and never have the
 * GET/SET/PROBE bits. Undefined when the struct was not seen.
 */
export function looksLikeDeviceFeature(call: V2FeatureCall): boolean | undefined {
  if (call.flags === undefined) return undefined;
  return (call.flags & (FEATURE_GET | FEATURE_SET | FEATURE_PROBE)) !== 0;
}

/** struct vfio_precopy_info from the words read at exit. */
export function decodePrecopyInfo(
  words: readonly bigint[],
  result: OpResult,
): { argsz: number | undefined; flags: number | undefined; initialBytes: bigint | undefined; dirtyBytes: bigint | undefined } {
  const w0 = words[0];
  const ok = result.ok === true;
  return {
    argsz: w0 === undefined ? undefined : lo32(w0),
    flags: w0 === undefined ? undefined : hi32(w0),
    initialBytes: ok ? words[1] : undefined,
    dirtyBytes: ok ? words[2] : undefined,
  };
}
