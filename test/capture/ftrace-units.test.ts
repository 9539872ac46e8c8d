// The pieces of the ftrace/trace-cmd capture that need no tracing: the ELF .dynsym reader
// behind the pwrite64 uprobe, the clock-sync marker text (writer in capture/, reader in
// parsers/), and trace-cmd's refusal message.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clockSyncMarkerText } from '../../capture/ftrace.js';
import { cpuDataBytes, ftraceEnabledRefusal, isTransientExtractError, refusedByKernel } from '../../capture/tracecmd.js';
import { ElfError, elfDynamicFunctions, findPwrite64, functionOffset, libcOfPid, PWRITE64_NAMES } from '../../capture/uprobe-libc.js';
import { captureHeaderClock, clockSyncOrMarker, parseClockSyncMarker } from '../../parsers/text/clock-sync-marker.js';
import { createFtraceTextParser } from '../../parsers/ftrace-text.js';
import type { MarkerRecord } from '../../src/record/types.js';
import { collector } from './lab-helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'migscope-units-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const ourLibc = libcOfPid(process.pid);
const nm = spawnSync('nm', ['--version']).error === undefined;
if (ourLibc === undefined) console.warn('SKIPPED libc symbol tests: this node maps no libc.so.6');
if (!nm) console.warn('SKIPPED the nm cross-check: binutils nm is not installed');

describe.skipIf(ourLibc === undefined)('libc pwrite64 offset', () => {
  it('finds the libc this process maps, and pwrite64 in it', () => {
    expect(ourLibc).toMatch(/libc(\.so\.6|-[\d.]+\.so)$/);
    const site = findPwrite64({ kind: 'pid', pid: process.pid });
    expect(typeof site).not.toBe('string');
    if (typeof site === 'string') return;
    expect(site.libc).toBe(ourLibc);
    expect(PWRITE64_NAMES).toContain(site.pwrite64.name);
    // the offset points at code: the file bytes there are the function's (endbr64 on CET builds, or anything but zeros)
    const b = readFileSync(site.libc).subarray(site.pwrite64.fileOffset, site.pwrite64.fileOffset + 4);
    expect(b.equals(Buffer.alloc(4))).toBe(false);
  });

  it.skipIf(!nm)('agrees with nm -D and readelf -l (vaddr -> file offset)', () => {
    const lib = ourLibc!;
    const syms = elfDynamicFunctions(lib, ['pwrite64', 'pread64', 'ioctl', 'openat']);
    const nmOut = spawnSync('nm', ['-D', '--defined-only', lib], { encoding: 'utf8' }).stdout;
    const ph = spawnSync('readelf', ['-lW', lib], { encoding: 'utf8' }).stdout;
    const loads = ph
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f[0] === 'LOAD')
      .map((f) => ({ off: BigInt(f[1]!), va: BigInt(f[2]!), fsz: BigInt(f[4]!) }));
    expect(syms.size).toBe(4);
    for (const [name, s] of syms) {
      const line = nmOut.split('\n').find((l) => new RegExp(`^[0-9a-f]+ [TtWwi] ${name}(@|$)`).test(l));
      expect(line, name).toBeDefined();
      const va = BigInt(`0x${line!.split(' ')[0]}`);
      expect(s.vaddr).toBe(va);
      const seg = loads.find((l) => va >= l.va && va < l.va + l.fsz)!;
      expect(BigInt(s.fileOffset)).toBe(va - seg.va + seg.off);
    }
  });

  it('damaged ELF files: an error naming the byte offset, never a wrong offset', () => {
    const good = readFileSync(ourLibc!);
    const cases: [string, Buffer, RegExp][] = [
      ['empty', Buffer.alloc(0), /byte 0: ELF header/],
      ['not ELF', Buffer.from('#!/bin/sh\n'.padEnd(64, ' ')), /byte 0: not an ELF file/],
      ['ELF32', Buffer.concat([good.subarray(0, 4), Buffer.from([1]), good.subarray(5, 64)]), /byte 4: not ELF64/],
      ['truncated after the header', good.subarray(0, 4096), /lies outside the 4096-byte file/],
    ];
    // section headers pointing past the end
    const badSh = Buffer.from(good);
    badSh.writeBigUInt64LE(BigInt(good.length + 100), 0x28);
    cases.push(['e_shoff past the end', badSh, /section headers .* lies outside/]);
    for (const [name, bytes, want] of cases) {
      const f = join(tmp, `${name.replace(/\W/g, '_')}.so`);
      writeFileSync(f, bytes);
      expect(() => functionOffset(f, ['pwrite64']), name).toThrow(ElfError);
      expect(() => functionOffset(f, ['pwrite64']), name).toThrow(want);
    }
    // the intact copy still works: the damage, not the copying, made them fail
    const copy = join(tmp, 'copy.so');
    writeFileSync(copy, good);
    expect(functionOffset(copy, ['pwrite64']).fileOffset).toBe(functionOffset(ourLibc!, ['pwrite64']).fileOffset);
  });

  it('a name that is not there is an error, not offset 0', () => {
    expect(() => functionOffset(ourLibc!, ['no_such_function_in_libc'])).toThrow(/none of no_such_function_in_libc/);
  });
});

describe('clock-sync marker', () => {
  const pair = { traceNs: 1643097689813n, wallNs: 1795646372335000000n, uncertaintyNs: 125n };

  it('what the capture writes is what the parser reads', () => {
    const text = clockSyncMarkerText(pair, 'start');
    expect(parseClockSyncMarker(text)).toEqual({ clock: 'mono', traceNs: pair.traceNs, wallNs: pair.wallNs, uncertaintyNs: 125n });
  });

  it('other marker texts stay markers', () => {
    for (const t of ['vfio_migration_set_state  (0000:65:00.0) state 3', 'migscope-clocksync', 'migscope-clocksync clock=mono wall_ns=5', 'migscope-clocksync clock=mono trace_ns=x wall_ns=5', 'migscope-clocksyncx clock=mono trace_ns=1 wall_ns=5']) {
      expect(parseClockSyncMarker(t), t).toBeUndefined();
    }
    const m: MarkerRecord = { kind: 'marker', tsNs: 1n, pid: 1, tid: 1, comm: 'x', cpu: 0, src: { file: 'f', line: 1 }, text: 'vfio_save_setup  (0000:65:00.0)' };
    expect(clockSyncOrMarker(m)).toBe(m);
    expect(clockSyncOrMarker({ ...m, text: clockSyncMarkerText(pair, 'end') })).toMatchObject({ kind: 'clock-sync', clock: 'mono', traceNs: pair.traceNs, wallNs: pair.wallNs, tsNs: 1n, src: { line: 1 } });
  });

  it('the header comment names the clock; other comments do not', () => {
    expect(captureHeaderClock('# migscope-ftrace-capture v1 version=0.1.0 tracer=ftrace clock=mono target=pid:1')).toBe('mono');
    expect(captureHeaderClock('# tracer: nop')).toBeUndefined();
    expect(captureHeaderClock('# migscope-capture v1 tracer=bpftrace clock=mono')).toBeUndefined();
  });

  it('the ftrace text parser hands the marker over as a print event, on its own line', () => {
    const { sink, got } = collector();
    const p = createFtraceTextParser('t.txt', sink);
    p.line(`            node-7445    (   7445) [001] ...1.  1643.097849: tracing_mark_write: ${clockSyncMarkerText(pair, 'start')}`, 1);
    p.end();
    expect(got.malformed).toEqual([]);
    expect(got.records).toHaveLength(1);
    expect(got.records[0]).toMatchObject({ kind: 'clock-sync', traceNs: pair.traceNs, wallNs: pair.wallNs, tsNs: 1643097849000n });
  });
});

describe('trace-cmd record refusal', () => {
  it('recognises the EPERM stop seen on this kind of machine', () => {
    expect(refusedByKernel("trace-cmd: Operation not permitted\n  Can't enable ftrace\n")).toBe("trace-cmd: Operation not permitted / Can't enable ftrace");
    expect(refusedByKernel("\nBuffer: x\n\ntrace-cmd: Operation not permitted\n  opening to '/sys/kernel/tracing/instances/x/set_ftrace_filter'\n")).toMatch(/set_ftrace_filter/);
  });
  it('other failures are not reported as a refusal', () => {
    expect(refusedByKernel('trace-cmd: No such file or directory\n  unknown event\n')).toBeUndefined();
    expect(refusedByKernel('')).toBeUndefined();
  });
});

describe('trace-cmd extract: which failures are retried', () => {
  it('retries a file that changed while trace-cmd copied it (kallsyms while other tracers load BPF programs)', () => {
    // The words trace-cmd 3.1.6 printed here when another suite's bpftrace ran beside it.
    expect(isTransientExtractError("trace-cmd: No such file or directory\n  error in size of file '/proc/kallsyms'\n")).toBe(true);
    expect(isTransientExtractError("error in size of file '/sys/kernel/tracing/events/uprobes/p_libc_0x1/format'")).toBe(true);
  });

  it('does not retry other failures', () => {
    expect(isTransientExtractError('trace-cmd: Permission denied\n  Could not open trace_pipe_raw')).toBe(false);
    expect(isTransientExtractError('')).toBe(false);
  });
});

describe('trace-cmd extract: how much event data it says it wrote', () => {
  it('sums the per-CPU sizes trace-cmd 3.1.6 prints (zstd and uncompressed forms)', () => {
    // Printed here by `trace-cmd extract -o f.dat` of a 2-CPU instance.
    const out =
      'CPU0 data recorded at offset=0x116000\n    1019 bytes in size (8192 uncompressed)\n' +
      'CPU1 data recorded at offset=0x117000\n    0 bytes in size (0 uncompressed)\n';
    expect(cpuDataBytes(out)).toBe(1019);
    expect(cpuDataBytes('CPU0 data recorded at offset=0x5000\n    8192 bytes in size\nCPU1 data recorded at offset=0x7000\n    4096 bytes in size\n')).toBe(12288);
  });

  it('tells an empty file (every CPU 0 bytes) from output without the lines', () => {
    expect(cpuDataBytes('CPU0 data recorded at offset=0x116000\n    0 bytes in size (0 uncompressed)\nCPU1 data recorded at offset=0x117000\n    0 bytes in size (0 uncompressed)\n')).toBe(0);
    expect(cpuDataBytes('')).toBeUndefined();
  });
});

describe('trace-cmd record: known refused before it runs', () => {
  it('names a sysctl that refuses writes (a read-only one stands in for ftrace_enabled)', () => {
    // /proc/sys/kernel/osrelease is read-only on every Linux, for root too.
    expect(ftraceEnabledRefusal('/proc/sys/kernel/osrelease')).toMatch(/^\/proc\/sys\/kernel\/osrelease refuses writes with (EACCES|EPERM|EROFS),/);
  });

  it('lets record run where the file takes the write, and changes nothing there', () => {
    const f = join(tmp, 'ftrace_enabled');
    writeFileSync(f, '1\n');
    expect(ftraceEnabledRefusal(f)).toBeUndefined();
    expect(readFileSync(f, 'utf8').trim()).toBe('1');
    expect(ftraceEnabledRefusal(join(tmp, 'absent'))).toBeUndefined();
  });
});
