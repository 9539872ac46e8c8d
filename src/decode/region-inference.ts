// Finding a v1 migration region without GET_REGION_INFO (capture started after QEMU
// probed the device, or the tracer could not read the reply). The pattern: device_state
// is a 4-byte access at a region base `index << 40` (vfio-pci's encoding, spec §1.4),
// and the header's 8-byte fields follow at +8, +16 or +24 (spec §3.2). An ordinary file
// is not read at offsets of 1 TiB and more, so index >= 1 with that pattern is a VFIO
// device. This module only judges the pattern; the decoder holds the records meanwhile.

import { formatSource } from '../record/source-text.js';
import type { AccessRecord } from '../record/types.js';
import { pidFdKey } from './fd-table.js';

const INDEX_SHIFT = 40n;
const OFFSET_MASK = (1n << INDEX_SHIFT) - 1n;
/** Region indexes accepted as plausible (vfio-pci device regions start at 9; mdev drivers choose their own). */
const MAX_INDEX = 64n;
/** Accesses seen on a candidate without the pattern before it is rejected. */
export const MAX_HELD_PER_FD = 256;
const MAX_CANDIDATES = 1024;

export type InferenceVerdict =
  /** Not a candidate: decode (or ignore) as usual. */
  | { readonly kind: 'ignore' }
  /** A candidate: hold this record until the candidate is decided. */
  | { readonly kind: 'hold'; readonly key: string }
  /** The pattern is confirmed: the region is at `offset`. This record is part of it. */
  | { readonly kind: 'confirm'; readonly key: string; readonly offset: bigint; readonly evidence: string }
  /** Too many accesses without the pattern: not a migration header. Drop what was held. */
  | { readonly kind: 'reject'; readonly key: string };

interface Candidate {
  base: bigint | undefined;
  baseWhere: string;
  /** A 4-byte read at `base` seen (the first half of QEMU's device_state read-modify-write). */
  readAtBase: boolean;
  seen: number;
}

/** vfio-pci's device-specific regions start at index 9 (VFIO_PCI_NUM_REGIONS, spec §1.4). */
const FIRST_DEVICE_REGION = 9n;

function where(r: AccessRecord): string {
  return formatSource(r.src);
}

export function createRegionInference() {
  const candidates = new Map<string, Candidate>();
  const rejected = new Set<string>();

  function plausibleBase(off: bigint): boolean {
    const index = off >> INDEX_SHIFT;
    return index >= 1n && index < MAX_INDEX && (off & OFFSET_MASK) === 0n;
  }

  return {
    /**
     * `knownDevice`: the fd is already known as a VFIO device (opened as one, or a VFIO
     * device ioctl succeeded on it); then the device_state read-modify-write alone (4-byte
     * pread then pwrite at the region base, spec §3.3) is enough, as it is for any fd at a
     * device-specific region index (≥ 9).
     */
    observe(r: AccessRecord, knownDevice = false): InferenceVerdict {
      if (r.offset === undefined) return { kind: 'ignore' };
      const key = pidFdKey(r.pid, r.fd);
      let c = candidates.get(key);
      if (c === undefined) {
        // Only an access that could be part of a header starts a candidate.
        if (rejected.has(key) || r.offset >> INDEX_SHIFT < 1n || (r.offset & OFFSET_MASK) >= 32n) return { kind: 'ignore' };
        if (candidates.size >= MAX_CANDIDATES) return { kind: 'ignore' };
        c = { base: undefined, baseWhere: '', readAtBase: false, seen: 0 };
        candidates.set(key, c);
      }
      c.seen++;
      if (r.size === 4 && plausibleBase(r.offset) && c.base !== r.offset) {
        c.base = r.offset;
        c.baseWhere = where(r);
        c.readAtBase = false;
      }
      if (c.base !== undefined && r.size === 4 && r.offset === c.base) {
        if (r.op === 'pread') c.readAtBase = true;
        else if (r.op === 'pwrite' && c.readAtBase && (knownDevice || r.offset >> INDEX_SHIFT >= FIRST_DEVICE_REGION)) {
          candidates.delete(key);
          return {
            kind: 'confirm',
            key,
            offset: c.base,
            evidence: `inferred from the access pattern: a 4-byte read-modify-write of device_state at 0x${c.base.toString(16)} (${c.baseWhere}, ${where(r)})${knownDevice ? ' on a known VFIO device fd' : ', region index ≥ 9 (device-specific)'}`,
          };
        }
      }
      if (c.base !== undefined && r.size === 8) {
        const rel = r.offset - c.base;
        if (rel === 8n || rel === 16n || rel === 24n) {
          candidates.delete(key);
          const field = rel === 8n ? 'pending_bytes' : rel === 16n ? 'data_offset' : 'data_size';
          return {
            kind: 'confirm',
            key,
            offset: c.base,
            evidence: `inferred from the access pattern: 4-byte device_state access at 0x${c.base.toString(16)} (${c.baseWhere}) and an 8-byte ${field} access at +${rel} (${where(r)})`,
          };
        }
      }
      if (c.seen >= MAX_HELD_PER_FD) {
        candidates.delete(key);
        if (rejected.size >= MAX_CANDIDATES * 64) rejected.clear(); // bounded; worst case a rejected fd is judged again
        rejected.add(key);
        return { kind: 'reject', key };
      }
      return { kind: 'hold', key };
    },
    /** The fd was closed, reopened or identified otherwise: forget what was learned. */
    forget(pid: number | undefined, fd: number): string | undefined {
      const key = pidFdKey(pid, fd);
      rejected.delete(key);
      return candidates.delete(key) ? key : undefined;
    },
    /** Oldest undecided candidate, to give up on when the decoder's queue is full. */
    giveUpOldest(): string | undefined {
      const first = candidates.keys().next();
      if (first.done === true) return undefined;
      candidates.delete(first.value);
      rejected.add(first.value);
      return first.value;
    },
    pending(): number {
      return candidates.size;
    },
  };
}

export type RegionInference = ReturnType<typeof createRegionInference>;
