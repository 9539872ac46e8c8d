// capture/vfio-cdev.ts: an iommufd cdev /dev/vfio/devices/vfioN is named by its PCI address,
// found at capture time under <sysfs>/bus/pci/devices/<addr>/vfio-dev/vfioN, and recorded as
// a `vfiodev` line (docs/capture-format.md) that parsers/bpftrace.ts reads so that the
// decoder names the fd by that address. This machine has no VFIO module: a fake sysfs tree
// stands in for /sys (the resolver takes its root as a parameter).

import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCdevAnnouncer, listVfioCdevs, openedCdev, resolveVfioCdev, vfiodevLine } from '../../capture/vfio-cdev.js';
import { createBpftraceParser } from '../../parsers/bpftrace.js';
import { FORMATS } from '../../parsers/index.js';
import { analyzeInputs } from '../../src/cli/pipeline.js';
import { parseText } from '../fixtures/text/harness.js';

const tmp = mkdtempSync(join(tmpdir(), 'migscope-sysfs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A sysfs like a host's: bus/pci/devices/<addr> are symlinks into devices/pci0000:00/…; two bound to vfio-pci with cdevs. */
function fakeSysfs(): string {
  const root = join(tmp, 'sys');
  const bus = join(root, 'bus/pci/devices');
  mkdirSync(bus, { recursive: true });
  const dev = (addr: string, cdev: string | undefined): void => {
    const real = join(root, 'devices/pci0000:00', addr);
    mkdirSync(real, { recursive: true });
    if (cdev !== undefined) mkdirSync(join(real, 'vfio-dev', cdev), { recursive: true });
    symlinkSync(real, join(bus, addr));
  };
  dev('0000:00:1f.0', undefined); // a host device, no VFIO
  dev('0000:65:00.0', 'vfio3');
  dev('0000:b1:00.1', 'vfio12');
  return root;
}
const SYS = fakeSysfs();

const OPENAT = (cdev: string, ret = 27): string =>
  `1021523218204 openat pid=22500 tid=22500 ret=${ret} flags=0x80002 lat_ns=2516 comm=qemu-system-x86 path=/dev/vfio/devices/${cdev}`;

describe('resolving a cdev through sysfs', () => {
  it('finds the PCI address of vfioN, and nothing for unbound, unknown or odd names', () => {
    expect(resolveVfioCdev('vfio3', SYS)).toBe('0000:65:00.0');
    expect(resolveVfioCdev('vfio12', SYS)).toBe('0000:b1:00.1');
    expect(resolveVfioCdev('vfio1', SYS)).toBeUndefined(); // vfio12's prefix is not vfio1
    expect(resolveVfioCdev('../vfio3', SYS)).toBeUndefined();
    expect(resolveVfioCdev('vfio3', join(tmp, 'no-such-sysfs'))).toBeUndefined();
    expect([...listVfioCdevs(SYS)]).toEqual([
      ['vfio3', '0000:65:00.0'],
      ['vfio12', '0000:b1:00.1'],
    ]);
  });

  it('recognises a successful openat of a cdev in text and JSON capture lines only', () => {
    expect(openedCdev(OPENAT('vfio3'))).toEqual({ tsNs: 1021523218204n, cdev: 'vfio3' });
    expect(openedCdev(JSON.stringify({ type: 'printf', data: `${OPENAT('vfio3')}\n` }))).toEqual({ tsNs: 1021523218204n, cdev: 'vfio3' });
    expect(openedCdev(OPENAT('vfio3').replace('ret=27', 'ret=-2'))).toBeUndefined(); // the open failed
    expect(openedCdev(OPENAT('vfio3').replace('/dev/vfio/devices/vfio3', '/dev/vfio/7'))).toBeUndefined(); // a group
    expect(openedCdev('1 pread64 pid=1 tid=1 fd=3 off=0x0 count=4 ret=4 val=0x1 lat_ns=1 comm=q')).toBeUndefined();
  });

  it('the announcer lists bound cdevs at the start and names a cdev again only when its device changed', () => {
    const a = createCdevAnnouncer(SYS);
    expect(a.initial(5n)).toEqual([
      '5 vfiodev cdev=/dev/vfio/devices/vfio3 pci=0000:65:00.0 source=sysfs',
      '5 vfiodev cdev=/dev/vfio/devices/vfio12 pci=0000:b1:00.1 source=sysfs',
    ]);
    expect(a.before(OPENAT('vfio3'))).toBeUndefined(); // already announced
    expect(a.before(OPENAT('vfio7'))).toBeUndefined(); // not bound: nothing to say
    // bound after the capture started
    mkdirSync(join(SYS, 'devices/pci0000:00/0000:b1:00.1/vfio-dev/vfio7'), { recursive: true });
    expect(a.before(OPENAT('vfio7'))).toBe('1021523218204 vfiodev cdev=/dev/vfio/devices/vfio7 pci=0000:b1:00.1 source=sysfs');
    expect(a.before(OPENAT('vfio7'))).toBeUndefined();
  });
});

describe('the vfiodev record, captured and read back', () => {
  const capture = [
    '# migscope-capture v2 tracer=bpftrace format=text runner=migscope target=pid:22500 read_write=0',
    '1019969690507 clocksync clock=mono wall_ns=1795645749207000000 uncertainty_ns=125 source=runner at=start',
    vfiodevLine(1019969690507n, 'vfio3', '0000:65:00.0'),
    OPENAT('vfio3'),
    OPENAT('vfio9', 28), // a cdev the capture could not resolve
    '1021525908406 regioninfo pid=22500 tid=22500 fd=27 ret=0 argsz_in=64 argsz=64 flags=0xb index=9 cap_offset=32 size=0x100000 offset=0x90000000000 caps=1@32,2@48,0@0 type=3 subtype=1 comm=qemu-system-x86',
    '1021525908500 regioninfo pid=22500 tid=22500 fd=28 ret=0 argsz_in=64 argsz=64 flags=0xb index=9 cap_offset=32 size=0x100000 offset=0x90000000000 caps=1@32,2@48,0@0 type=3 subtype=1 comm=qemu-system-x86',
    '1021526646775 pread64 pid=22500 tid=22526 fd=27 off=0x90000000000 count=4 ret=4 val=0x1 lat_ns=165 comm=live_migration',
  ];

  it('the parser gives the openat of a named cdev its PCI address; an unnamed one keeps none; v2 is not "newer"', () => {
    const out = parseText(capture.join('\n'), createBpftraceParser);
    expect(out.malformed).toEqual([]);
    const opens = out.records.filter((r) => r.kind === 'fd-open');
    expect(opens).toMatchObject([
      { fd: 27, via: 'openat', name: '/dev/vfio/devices/vfio3', resolvedName: '0000:65:00.0' },
      { fd: 28, via: 'openat', name: '/dev/vfio/devices/vfio9' },
    ]);
    expect(opens[1]).not.toHaveProperty('resolvedName');
  });

  it('bad vfiodev records are reported with their line, not used', () => {
    const out = parseText(
      ['1 vfiodev cdev=/dev/vfio/devices/vfio3 pci=0000:65:00.0; source=sysfs', '2 vfiodev cdev=/tmp/x pci=0000:65:00.0 source=sysfs', OPENAT('vfio3')].join('\n'),
      createBpftraceParser,
    );
    expect(out.malformed.map((p) => [p.src.line, p.message.slice(0, 16)])).toEqual([
      [1, 'vfiodev: bad pci'],
      [2, 'vfiodev: bad cde'],
    ]);
    expect(out.records[0]).not.toHaveProperty('resolvedName');
  });

  it('end to end (text and JSON capture): the device is named by its PCI address, the unresolved one by its cdev', async () => {
    for (const format of ['text', 'json'] as const) {
      const lines = format === 'text' ? capture : capture.map((l) => JSON.stringify({ type: 'printf', data: `${l}\n` }));
      async function* stdin(): AsyncIterable<Buffer> {
        yield Buffer.from(lines.join('\n') + '\n');
      }
      const a = await analyzeInputs([{ path: '-', format: 'bpftrace' }], { formats: FORMATS, stdin: stdin() });
      expect(a.input.malformed).toBe(0);
      expect(a.devices.map((d) => [d.id, d.naming, d.fd]).sort()).toEqual([
        ['0000:65:00.0', 'openat', 27],
        ['vfio9', 'openat', 28],
      ]);
    }
  });
});
