// QEMU's command line in libvirt's per-VM log (parsers/text/qemu-cmdline.ts) and QEMU's
// name of a VFIO device from its -device (src/decode/vm-devices.ts).

import { describe, expect, it } from 'vitest';
import { createCommandLineReader, type CommandLineLine } from '../../parsers/text/qemu-cmdline.js';
import { peripheralId, vfioDeviceName } from '../../src/decode/vm-devices.js';

const read = (lines: readonly string[]): CommandLineLine[] => {
  const r = createCommandLineReader();
  return lines.map((l) => r.line(l));
};
const devices = (lines: readonly string[]) => read(lines).flatMap((l) => (l.kind === 'command-line' ? l.devices : []));

describe('QEMU command line', () => {
  it("libvirt's one-argument-a-line form: only its lines are the command line; the JSON -device, shell-quoted", () => {
    const out = read([
      '2025-07-21 18:43:27.500+0000: starting up libvirt version: 10.10.0, hostname: dst.example',
      'LC_ALL=C \\',
      'PATH=/usr/bin \\',
      '/usr/bin/qemu-system-x86_64 \\',
      `-device '{"driver":"vfio-pci","host":"0000:65:00.1","id":"hostdev0","bus":"pci.5","addr":"0x0"}' \\`,
      `-device '{"driver":"virtio-net-pci","netdev":"hostnet0","id":"net0"}' \\`,
      '-msg timestamp=on',
      'char device redirected to /dev/pts/3 (label charserial0)',
      'qemu-system-x86_64: terminating on signal 15 from pid 3017 (/usr/sbin/libvirtd)',
    ]);
    expect(out.map((l) => l.kind)).toEqual(['other', 'command-line', 'command-line', 'command-line', 'command-line', 'command-line', 'command-line', 'other', 'other']);
    expect(out.flatMap((l) => (l.kind === 'command-line' ? l.devices : []))).toEqual([{ driver: 'vfio-pci', id: 'hostdev0', host: '0000:65:00.1', sysfsdev: undefined, syntax: 'json' }]);
  });

  it("one line with QEMU's key=value form: ',,' is a comma, sysfsdev= too; devices without an id or a host device are not kept", () => {
    expect(
      devices([
        "LC_ALL=C /usr/libexec/qemu-kvm -name 'guest=vm,,1' -device vfio-pci,host=65:00.1,id=hostdev0 -device vfio-pci,sysfsdev=/sys/bus/mdev/devices/83b8f4f2-509f-382f-3c1e-e6bfe0fa1001,id=mdev,,a -device vfio-pci,host=0000:66:00.0 -device e1000,id=net0",
      ]),
    ).toEqual([
      { driver: 'vfio-pci', id: 'hostdev0', host: '65:00.1', sysfsdev: undefined, syntax: 'keyval' },
      { driver: 'vfio-pci', id: 'mdev,a', host: undefined, sysfsdev: '/sys/bus/mdev/devices/83b8f4f2-509f-382f-3c1e-e6bfe0fa1001', syntax: 'keyval' },
    ]);
  });

  it("a quote inside a quoted argument ('\\'') and a -device value on the next line are read; broken JSON is an error, not a device", () => {
    const out = read(['/usr/bin/qemu-system-x86_64 \\', '-device \\', `'{"driver":"vfio-pci","host":"0000:65:00.2","id":"it'\\''s"}' \\`, `-device '{"driver":"vfio-pci",' \\`, '-S']);
    expect(out.flatMap((l) => (l.kind === 'command-line' ? l.devices : []))).toEqual([{ driver: 'vfio-pci', id: "it's", host: '0000:65:00.2', sysfsdev: undefined, syntax: 'json' }]);
    expect(out.flatMap((l) => (l.kind === 'command-line' ? l.errors : []))).toEqual(['-device option is not JSON: {"driver":"vfio-pci",']);
  });
});

describe("QEMU's name of a VFIO device (VFIODevice.name)", () => {
  it('host= as QEMU prints it: with the domain, lower-case hex; sysfsdev= its last part; other drivers and bad addresses: none', () => {
    expect(vfioDeviceName({ driver: 'vfio-pci', host: '65:00.1', sysfsdev: undefined })).toBe('0000:65:00.1');
    expect(vfioDeviceName({ driver: 'vfio-pci', host: '0000:AF:1f.7', sysfsdev: undefined })).toBe('0000:af:1f.7');
    expect(vfioDeviceName({ driver: 'vfio-pci-nohotplug', host: '1:2:3.4', sysfsdev: undefined })).toBe('0001:02:03.4');
    expect(vfioDeviceName({ driver: 'vfio-pci', host: undefined, sysfsdev: '/sys/bus/mdev/devices/83b8f4f2/' })).toBe('83b8f4f2');
    expect(vfioDeviceName({ driver: 'pci-assign', host: '65:00.1', sysfsdev: undefined })).toBeUndefined();
    expect(vfioDeviceName({ driver: 'vfio-pci', host: '65:00.8', sysfsdev: undefined })).toBeUndefined();
    expect(peripheralId('/machine/peripheral/hostdev0')).toBe('hostdev0');
    expect(peripheralId('/machine/peripheral-anon/device[3]')).toBeUndefined();
  });
});
