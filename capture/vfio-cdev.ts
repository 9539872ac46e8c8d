// Names an iommufd VFIO device cdev by its PCI address, at capture time.
//
// A VMM on the iommufd path opens the device itself, /dev/vfio/devices/vfioN (kernel 6.6+,
// drivers/vfio/device_cdev.c), instead of asking a group for it by name
// (VFIO_GROUP_GET_DEVICE_FD), so the trace shows only "vfioN": a number the kernel hands
// out at bind time (drivers/vfio/vfio_main.c names the device "vfio%d" in the "vfio-dev"
// class), different on the destination host, meaningless in a post-mortem. sysfs links it
// back to the physical device: /sys/bus/pci/devices/<PCI address>/vfio-dev/vfioN
// (Documentation/driver-api/vfio.rst, "VFIO device cdev"). That link exists only while the
// device is bound, i.e. while capturing, not when the trace is analysed later elsewhere;
// so the runner resolves it and writes a `vfiodev` record (docs/capture-format.md) that the
// parser uses to name the fd.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const CDEV_DIR = '/dev/vfio/devices/';

const CDEV_NAME = /^vfio\d{1,9}$/;
/** Domain:bus:device.function, the name of a PCI device in sysfs (domain may exceed 4 hex digits). */
const PCI_ADDRESS = /^[0-9a-f]{4,8}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/;

/** The PCI address of cdev `vfioN` under `sysfsRoot` (a parameter so tests can fake sysfs), or undefined. */
export function resolveVfioCdev(cdevName: string, sysfsRoot = '/sys'): string | undefined {
  if (!CDEV_NAME.test(cdevName)) return undefined;
  for (const pci of pciDevices(sysfsRoot)) if (existsSync(join(sysfsRoot, 'bus/pci/devices', pci, 'vfio-dev', cdevName))) return pci;
  return undefined;
}

/** Every bound cdev under `sysfsRoot`: cdev name (vfioN) → PCI address. */
export function listVfioCdevs(sysfsRoot = '/sys'): Map<string, string> {
  const out = new Map<string, string>();
  for (const pci of pciDevices(sysfsRoot)) {
    let names: string[];
    try {
      names = readdirSync(join(sysfsRoot, 'bus/pci/devices', pci, 'vfio-dev'));
    } catch {
      continue; // not bound to a VFIO driver with a cdev
    }
    for (const n of names) if (CDEV_NAME.test(n)) out.set(n, pci);
  }
  return out;
}

function pciDevices(sysfsRoot: string): string[] {
  try {
    return readdirSync(join(sysfsRoot, 'bus/pci/devices')).filter((n) => PCI_ADDRESS.test(n)).sort();
  } catch {
    return []; // no PCI bus (containers, some VMs)
  }
}

/** The `vfiodev` record line (docs/capture-format.md), before any JSON wrapping. */
export function vfiodevLine(tsNs: bigint, cdevName: string, pci: string): string {
  return `${tsNs} vfiodev cdev=${CDEV_DIR}${cdevName} pci=${pci} source=sysfs`;
}

const OPENAT_CDEV = /^(\d+) openat pid=\d+ tid=\d+ ret=(\d+) .* path=\/dev\/vfio\/devices\/(vfio\d{1,9})$/;

/** The time and cdev of a successful openat of /dev/vfio/devices/vfioN in a capture line (text or bpftrace JSON), else undefined. */
export function openedCdev(line: string): { readonly tsNs: bigint; readonly cdev: string } | undefined {
  if (!line.includes(CDEV_DIR)) return undefined; // every line passes here: the cheap test first
  let text = line;
  if (line.startsWith('{')) {
    try {
      const v: unknown = JSON.parse(line);
      if (typeof v !== 'object' || v === null || !('data' in v) || typeof v.data !== 'string') return undefined;
      text = v.data.endsWith('\n') ? v.data.slice(0, -1) : v.data;
    } catch {
      return undefined;
    }
  }
  const m = OPENAT_CDEV.exec(text);
  if (m === null || m[1] === undefined || m[3] === undefined) return undefined;
  return { tsNs: BigInt(m[1]), cdev: m[3] };
}

export interface CdevAnnouncer {
  /** `vfiodev` lines for every cdev bound now (written once, at the start of the capture). */
  initial(tsNs: bigint): string[];
  /** The `vfiodev` line to write before `line` (an openat of a cdev not announced, or announced for another device), if any. */
  before(line: string): string | undefined;
}

/** Keeps the capture's cdev → PCI address announcements; resolves again only when an openat names a cdev. */
export function createCdevAnnouncer(sysfsRoot = '/sys'): CdevAnnouncer {
  const announced = new Map<string, string>();
  return {
    initial(tsNs) {
      const lines: string[] = [];
      for (const [cdev, pci] of listVfioCdevs(sysfsRoot)) {
        announced.set(cdev, pci);
        lines.push(vfiodevLine(tsNs, cdev, pci));
      }
      return lines;
    },
    before(line) {
      const o = openedCdev(line);
      if (o === undefined) return undefined;
      // Resolved again at every open: a cdev number is reused when devices are unbound and bound.
      const pci = resolveVfioCdev(o.cdev, sysfsRoot);
      if (pci === undefined || announced.get(o.cdev) === pci) return undefined;
      announced.set(o.cdev, pci);
      return vfiodevLine(o.tsNs, o.cdev, pci);
    },
  };
}
