// QMP's name of a VFIO device (VFIO_MIGRATION's device-id, the `-device id=`) → QEMU's own
// name of it (VFIODevice.name: the host PCI address the device was given, or the last part
// of its sysfsdev path), which is what QEMU's vfio_* trace events print first and what a
// capture's VFIO_GROUP_GET_DEVICE_FD names. The mapping comes only from QEMU's command line
// (vm-device records, parsers/text/qemu-cmdline.ts: libvirt's per-VM log); without it the
// id stays its own device and says why (DESIGN.md "One physical device is one device":
// every join says which evidence made it; nothing is guessed).
//
// QEMU (hw/vfio/pci.c vfio_realize, v7.2 … v10): with host=, `vbasedev->name =
// g_strdup_printf("%04x:%02x:%02x.%01x", domain, bus, slot, function)` — always with the
// domain, lower-case hex, whatever form host= was given in ("65:00.1" too); with sysfsdev=,
// `g_path_get_basename(sysfsdev)`.

import type { VmDeviceRecord } from '../record/types.js';
import { formatSource } from '../record/source-text.js';

const MAX_IDS = 1_024;
/** [[domain:]bus:]slot.function as QEMU's qemu_parse_host_bdf... accepts for host= (hex). */
const HOST_BDF = /^(?:([0-9a-fA-F]{1,4}):)?([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})\.([0-7])$/;

/** QEMU's VFIODevice name for a -device, or undefined when it is no VFIO device or the address is not one. */
export function vfioDeviceName(r: Pick<VmDeviceRecord, 'driver' | 'host' | 'sysfsdev'>): string | undefined {
  if (!r.driver.startsWith('vfio-')) return undefined;
  if (r.sysfsdev !== undefined && r.sysfsdev !== '') {
    const parts = r.sysfsdev.split('/').filter((p) => p !== '');
    return parts.at(-1);
  }
  const m = r.host === undefined ? null : HOST_BDF.exec(r.host);
  if (m === null) return undefined;
  const hex = (s: string | undefined, w: number): string => parseInt(s ?? '0', 16).toString(16).padStart(w, '0');
  return `${hex(m[1], 4)}:${hex(m[2], 2)}:${hex(m[3], 2)}.${m[4] ?? '0'}`;
}

/** The id of a device from its QOM path when it is a user-created one (`/machine/peripheral/<id>`). */
export function peripheralId(qomPath: string | undefined): string | undefined {
  const m = qomPath === undefined ? null : /^\/machine\/peripheral\/([^/]+)$/.exec(qomPath);
  return m?.[1];
}

export interface VmDeviceName {
  /** QEMU's name of the device (its host address). */
  readonly name: string;
  /** The evidence: which -device on which line. */
  readonly how: string;
}

export interface VmDeviceMap {
  note(r: VmDeviceRecord): void;
  /** QEMU's name for a QMP device-id (or the id in a /machine/peripheral/ QOM path). */
  resolve(id: string, qomPath: string | undefined): VmDeviceName | undefined;
  /** Whether any command line was read (for saying why an id was not joined). */
  readonly seen: () => boolean;
}

export function createVmDeviceMap(): VmDeviceMap {
  const byId = new Map<string, VmDeviceName>();
  let seen = false;
  return {
    note(r) {
      seen = true;
      const name = vfioDeviceName(r);
      if (name === undefined) return;
      // The first -device of an id wins (QEMU refuses a duplicate id: "Duplicate ID").
      if (byId.has(r.id) || byId.size >= MAX_IDS) return;
      const what = r.sysfsdev !== undefined ? `sysfsdev=${r.sysfsdev}` : `host=${r.host ?? ''}`;
      byId.set(r.id, { name, how: `QMP's device-id ${r.id} is the -device ${r.driver} with id=${r.id}, ${what} on QEMU's command line (${formatSource(r.src)}), which QEMU names ${name}` });
    },
    resolve(id, qomPath) {
      const byPath = peripheralId(qomPath);
      return byId.get(id) ?? (byPath === undefined ? undefined : byId.get(byPath));
    },
    seen: () => seen,
  };
}
