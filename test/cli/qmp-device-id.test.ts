// Issue 11, one device in the merged story: QMP's VFIO_MIGRATION names a device by its
// -device id (hostdev0); QEMU's trace and a capture name it by its host address (the
// capture's VFIO_GROUP_GET_DEVICE_FD: 0000:66:00.0). Only QEMU's command line, which
// libvirt writes into the per-VM log, says they are one device (src/decode/vm-devices.ts,
// parsers/text/qemu-cmdline.ts). Both forms libvirt writes are tested, and that without a
// command line nothing is guessed: two devices, and the QMP one says why.
//
// The capture is a real lab run (test/fixtures/lab/bpftrace/v2-clean-live-migration.txt,
// v2 device 0000:66:00.0). The libvirt log is DERIVED per test: a start-up line, QEMU's
// command line, and QMP events stamped (QEMU's µs, libvirt's ms) at the wall-clock times
// the capture's clock-sync gives its SETs, as QEMU sends VFIO_MIGRATION right after a SET
// (hw/vfio/migration.c vfio_migration_set_device_state).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runAnalysis, type AnalyzeFlags } from '../../src/cli/analyze.js';
import { renderTerminal } from '../../src/report/terminal.js';
import type { Analysis } from '../../src/analysis/types.js';

const CAPTURE = 'test/fixtures/lab/bpftrace/v2-clean-live-migration.txt';
const flags = (extra: Partial<AnalyzeFlags> = {}): AnalyzeFlags => ({ failOn: 'error', quiet: true, ...extra });
const tmp = mkdtempSync(join(tmpdir(), 'migscope-devid-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** "2026-12-01 21:36:49.677+0000" for an epoch-ns time (libvirt's stamp, ms). */
function libvirtStamp(ns: bigint): string {
  return new Date(Number(ns / 1_000_000n)).toISOString().replace('T', ' ').replace('Z', '+0000');
}

function event(ns: bigint, name: string, data: Record<string, unknown>): string {
  const us = ns / 1_000n;
  const ev = { timestamp: { seconds: Number(us / 1_000_000n), microseconds: Number(us % 1_000_000n) }, event: name, data };
  return `${libvirtStamp(ns)}: 3021: info : qemuMonitorJSONIOProcessLine:235 : QEMU_MONITOR_RECV_EVENT: mon=0x7f2c1c0040c0 event=${JSON.stringify(ev)}`;
}

/** The capture's own v2 states with their wall-clock start (its clock-sync), from analysing it alone. */
async function captureStates(): Promise<{ state: string; wallNs: bigint }[]> {
  const a = await runAnalysis([CAPTURE], flags());
  const off = a.clock.offsetNs ?? 0n;
  return (a.devices[0]?.timeline ?? []).flatMap((iv) => (iv.startNs === undefined ? [] : [{ state: iv.state, wallNs: iv.startNs + off }]));
}

const JSON_CMDLINE = [
  'LC_ALL=C \\',
  'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin \\',
  'HOME=/var/lib/libvirt/qemu/domain-1-vm1 \\',
  '/usr/bin/qemu-system-x86_64 \\',
  '-name guest=vm1,debug-threads=on \\',
  `-blockdev '{"driver":"file","filename":"/var/lib/libvirt/images/vm1.qcow2","node-name":"libvirt-1-storage"}' \\`,
  `-device '{"driver":"vfio-pci","host":"0000:66:00.0","id":"hostdev0","bus":"pci.5","addr":"0x0"}' \\`,
  '-msg timestamp=on',
];
const KEYVAL_CMDLINE = ['LC_ALL=C PATH=/usr/bin /usr/bin/qemu-system-x86_64 -name guest=vm1 -device virtio-net-pci,id=net0 -device vfio-pci,host=66:00.0,id=hostdev0,bus=pci.5,addr=0x0 -msg timestamp=on'];

async function libvirtLog(name: string, cmdline: readonly string[]): Promise<string> {
  const states = await captureStates();
  const at = (s: string): bigint => {
    const x = states.find((v) => v.state === s);
    if (x === undefined) throw new Error(`capture has no ${s}`);
    return x.wallNs + 30_000n; // QEMU sends the event right after the SET returned
  };
  const first = states[0]?.wallNs ?? 0n;
  const dev = (state: string): Record<string, unknown> => ({ 'device-id': 'hostdev0', 'qom-path': '/machine/peripheral/hostdev0', 'device-state': state });
  const lines = [
    `${libvirtStamp(first - 2_000_000_000n)}: starting up libvirt version: 9.0.0, package: 9.0.0-4 (Debian), qemu version: 9.2.0, kernel: 6.1.0`,
    ...cmdline,
    event(at('PRE_COPY') - 100_000n, 'MIGRATION', { status: 'setup' }),
    event(at('PRE_COPY') - 60_000n, 'MIGRATION', { status: 'active' }),
    event(at('PRE_COPY'), 'VFIO_MIGRATION', dev('pre-copy')),
    event(at('PRE_COPY_P2P'), 'VFIO_MIGRATION', dev('pre-copy-p2p')),
    event(at('STOP_COPY'), 'VFIO_MIGRATION', dev('stop-copy')),
    event(at('STOP'), 'VFIO_MIGRATION', dev('stop')),
    event(at('STOP') + 200_000n, 'MIGRATION', { status: 'completed' }),
  ];
  const p = join(tmp, name);
  writeFileSync(p, `${lines.join('\n')}\n`);
  return p;
}

const ids = (a: Analysis): string[] => a.devices.map((d) => d.id).sort();

describe("QMP's device-id and the device's host address: one device by QEMU's command line", () => {
  it("libvirt ≥ 7's JSON -device, one argument a line: the capture's device takes QMP's events, and says by which line", async () => {
    const log = await libvirtLog('json.log', JSON_CMDLINE);
    const a = await runAnalysis([CAPTURE, log], flags());
    expect(ids(a)).toEqual(['0000:66:00.0']);
    const d = a.devices[0];
    expect(d?.identity).toBe(
      `same name: VFIO_GROUP_GET_DEVICE_FD gave fd ${d?.fd} of process ${d?.pid} the name 0000:66:00.0; QMP's device-id hostdev0 is the -device vfio-pci with id=hostdev0, host=0000:66:00.0 on QEMU's command line (${log}:8), which QEMU names 0000:66:00.0`,
    );
    // The QMP events did not make a second timeline nor contradict the syscalls.
    expect(d?.timeline.map((iv) => iv.state)).toEqual(['RUNNING', 'PRE_COPY', 'PRE_COPY_P2P', 'STOP_COPY', 'STOP']);
    expect(a.findings).toEqual([]);
    // The migration lists the device by the same name.
    expect(a.migrations?.map((m) => m.devices.map((x) => x.id))).toEqual([['0000:66:00.0']]);
    expect(a.migrations?.[0]?.devices[0]?.states.map((s) => s.state)).toEqual(['PRE_COPY', 'PRE_COPY_P2P', 'STOP_COPY', 'STOP']);
    expect(renderTerminal(a, { color: false })).toContain(`one device (syscall view + QEMU's view): same name: VFIO_GROUP_GET_DEVICE_FD gave fd`);
  });

  it("QEMU's key=value -device on one line (host= without its domain: QEMU names it with one)", async () => {
    const log = await libvirtLog('keyval.log', KEYVAL_CMDLINE);
    const a = await runAnalysis([CAPTURE, log], flags());
    expect(ids(a)).toEqual(['0000:66:00.0']);
    expect(a.devices[0]?.identity).toMatch(new RegExp(`QMP's device-id hostdev0 is the -device vfio-pci with id=hostdev0, host=66:00.0 on QEMU's command line \\(${log.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:2\\), which QEMU names 0000:66:00.0$`));
    expect(a.migrations?.[0]?.devices.map((x) => x.id)).toEqual(['0000:66:00.0']);
  });

  it('without a command line nothing is guessed: two devices, and the QMP one says why', async () => {
    const log = await libvirtLog('none.log', []);
    const a = await runAnalysis([CAPTURE, log], flags());
    expect(ids(a)).toEqual(['0000:66:00.0', 'hostdev0']);
    const q = a.devices.find((d) => d.id === 'hostdev0');
    expect(q?.naming).toBe('qmp');
    expect(q?.identity).toMatch(/^QMP names this device by its device-id hostdev0; no QEMU command line is among the inputs: nothing says which host device it is, so it is not joined/);
    expect(a.migrations?.[0]?.devices.map((x) => x.id)).toEqual(['hostdev0']);
    expect(renderTerminal(a, { color: false })).toContain('  not joined with another view of a device: QMP names this device by its device-id hostdev0;');
    // A command line whose only host device has another id is no evidence either.
    const other = await libvirtLog('other.log', [KEYVAL_CMDLINE[0]?.replace('id=hostdev0', 'id=hostdev1') ?? '']);
    const b = await runAnalysis([CAPTURE, other], flags());
    expect(ids(b)).toEqual(['0000:66:00.0', 'hostdev0']);
    expect(b.devices.find((d) => d.id === 'hostdev0')?.identity).toMatch(/the QEMU command line read has no -device with id=hostdev0 and a host device: nothing says which/);
  });
});
