// Which fd is which: per process, the kind of each fd (VFIO container, group, device,
// migration data fd, or an ordinary file) and, for devices, the name and the regions.
// fd numbers are reused (spec trace-formats §7), so an openat/close of an fd resets it.

import type { DeviceRef } from './ops.js';
import type { FdOpenRecord } from '../record/types.js';

export type FdKind = 'container' | 'group' | 'device' | 'other' | 'unknown';

export interface MigrationRegion {
  readonly index: number | undefined;
  readonly offset: bigint;
  readonly size: bigint | undefined;
  readonly source: 'region-info' | 'flag' | 'inferred' | 'qemu';
}

export interface FdEntry {
  kind: FdKind;
  device: DeviceRef | undefined;
  region: MigrationRegion | undefined;
}

/** Key of a process: the tgid when the tracer shows it, else "?" (one shared namespace). */
export function processKey(pid: number | undefined): string {
  return pid === undefined ? '?' : String(pid);
}

export function pidFdKey(pid: number | undefined, fd: number): string {
  return `${processKey(pid)}:${fd}`;
}

/** Classify a path opened with openat (DESIGN: fd kinds from openat("/dev/vfio/…")). */
export function kindOfPath(path: string): FdKind {
  if (path === '/dev/vfio/vfio') return 'container';
  if (path.startsWith('/dev/vfio/devices/')) return 'device';
  if (/^\/dev\/vfio\/(noiommu-)?\d+$/.test(path)) return 'group';
  return 'other';
}

/**
 * The device name an fd-open gives: GET_DEVICE_FD's name argument; for an openat of a
 * cdev, the PCI address the capture resolved it to (capture/vfio-cdev.ts), else the
 * path's last component ("vfioN": only a bind-time number).
 */
export function deviceNameOfOpen(r: FdOpenRecord): string {
  if (r.via === 'group-get-device-fd') return r.name;
  return r.resolvedName ?? r.name.slice(r.name.lastIndexOf('/') + 1);
}

export interface FdTableLimits {
  /** Upper bound on tracked fds over all processes (hostile inputs: millions of fds). */
  readonly maxEntries: number;
}

export function createFdTable(limits: FdTableLimits) {
  const entries = new Map<string, FdEntry>();
  return {
    get(pid: number | undefined, fd: number): FdEntry | undefined {
      return entries.get(pidFdKey(pid, fd));
    },
    /** The entry for (pid, fd), created as 'unknown' if new. Returns undefined when the limit is reached. */
    ensure(pid: number | undefined, fd: number): FdEntry | undefined {
      const key = pidFdKey(pid, fd);
      let e = entries.get(key);
      if (e === undefined) {
        if (entries.size >= limits.maxEntries) return undefined;
        e = { kind: 'unknown', device: undefined, region: undefined };
        entries.set(key, e);
      }
      return e;
    },
    delete(pid: number | undefined, fd: number): void {
      entries.delete(pidFdKey(pid, fd));
    },
    size(): number {
      return entries.size;
    },
    /** The fds of one process, with their entries (for a process that is gone). */
    ofProcess(pid: number): { fd: number; entry: FdEntry }[] {
      const prefix = `${processKey(pid)}:`;
      const out: { fd: number; entry: FdEntry }[] = [];
      for (const [k, entry] of entries) if (k.startsWith(prefix)) out.push({ fd: Number(k.slice(prefix.length)), entry });
      return out;
    },
    devices(): FdEntry[] {
      return [...entries.values()].filter((e) => e.kind === 'device');
    },
  };
}

export type FdTable = ReturnType<typeof createFdTable>;
