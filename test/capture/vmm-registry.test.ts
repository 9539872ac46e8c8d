// capture/vmm-registry.ts: which processes host mode (`watch --all`) takes for VMMs, and the
// exec records it decides on. The lab test (test/watch/host-mode.test.ts) runs it for real.

import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_VMM_MATCH, isVmm, parseExecLine, runningVmms } from '../../capture/vmm-registry.js';

describe('isVmm (default: QEMU)', () => {
  it('takes QEMU by program name or by its 15-byte comm', () => {
    expect(isVmm(DEFAULT_VMM_MATCH, { comm: 'qemu-system-x86', exe: '/usr/bin/qemu-system-x86_64' })).toBe(true);
    expect(isVmm(DEFAULT_VMM_MATCH, { comm: 'qemu-system-x86', exe: undefined })).toBe(true);
    expect(isVmm(DEFAULT_VMM_MATCH, { comm: 'qemu-kvm', exe: '/usr/libexec/qemu-kvm' })).toBe(true);
    expect(isVmm(DEFAULT_VMM_MATCH, { comm: 'whatever', exe: '/usr/bin/qemu-system-aarch64' })).toBe(true);
  });
  it('leaves other processes, QEMU tools and QEMU-named threads alone', () => {
    expect(isVmm(DEFAULT_VMM_MATCH, { comm: 'qemu-img', exe: '/usr/bin/qemu-img' })).toBe(false);
    expect(isVmm(DEFAULT_VMM_MATCH, { comm: 'bash', exe: '/usr/bin/bash' })).toBe(false);
    // a leader named after its program; "CPU 0/KVM" is a thread name, never a leader's
    expect(isVmm(DEFAULT_VMM_MATCH, { comm: 'CPU 0/KVM', exe: '/usr/bin/python3' })).toBe(false);
  });
  it('--match takes another VMM', () => {
    const ch = /^cloud-hyperviso/;
    expect(isVmm(ch, { comm: 'cloud-hyperviso', exe: '/usr/bin/cloud-hypervisor' })).toBe(true);
    expect(isVmm(ch, { comm: 'qemu-system-x86', exe: '/usr/bin/qemu-system-x86_64' })).toBe(false);
  });
});

describe('parseExecLine', () => {
  it('reads migscope.bt host-mode exec records, a comm with spaces and a path included', () => {
    expect(parseExecLine('123 exec pid=42 tid=42 comm=qemu-system-x86 path=/usr/bin/qemu-system-x86_64')).toEqual({ pid: 42, comm: 'qemu-system-x86', exe: '/usr/bin/qemu-system-x86_64' });
    expect(parseExecLine('123 exec pid=42 tid=42 comm=my vmm path=/opt/my vmm')).toEqual({ pid: 42, comm: 'my vmm', exe: '/opt/my vmm' });
  });
  it('is not fooled by other records', () => {
    expect(parseExecLine('123 openat pid=42 tid=42 ret=3 flags=0x2 lat_ns=1 comm=q path=/dev/vfio/1')).toBeUndefined();
    expect(parseExecLine('exec pid=42')).toBeUndefined();
  });
});

describe('runningVmms (a fake /proc)', () => {
  const root = mkdtempSync(join(tmpdir(), 'migscope-proc-'));
  const proc = (pid: number, comm: string, exe?: string): void => {
    mkdirSync(join(root, String(pid)));
    writeFileSync(join(root, String(pid), 'comm'), `${comm}\n`);
    if (exe !== undefined) symlinkSync(exe, join(root, String(pid), 'exe'));
  };
  proc(10, 'qemu-system-x86', '/usr/bin/qemu-system-x86_64');
  proc(11, 'bash', '/usr/bin/bash');
  proc(12, 'kthreadd'); // no exe: a kernel thread
  proc(13, 'qemu-kvm', '/usr/libexec/qemu-kvm');
  mkdirSync(join(root, 'self'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('lists the matching processes, minus the excluded ones', () => {
    expect(runningVmms(DEFAULT_VMM_MATCH, new Set(), root).map((p) => p.pid).sort()).toEqual([10, 13]);
    expect(runningVmms(DEFAULT_VMM_MATCH, new Set([13]), root).map((p) => p.pid)).toEqual([10]);
    expect(runningVmms(/^bash$/, new Set(), root).map((p) => p.pid)).toEqual([11]);
  });
});
