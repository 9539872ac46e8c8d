// parsers/ftrace-text.ts against the real tracefs captures in test/fixtures/samples (a copy of shared/samples) (spec
// trace-formats §2, §3) and small hand-made fixtures for what the samples do not have
// (older and newer kernels' argument renderings, syscalls mixed with uprobes, broken lines).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFtraceTextParser, detectFtraceText } from '../../parsers/ftrace-text.js';
import type { AccessRecord, IoctlRecord, LostEventsRecord, MarkerRecord, TraceRecord } from '../../src/record/types.js';
import { fixturesDir, kinds, linesOf, parseFile, parseText, samplesDir } from '../fixtures/text/harness.js';

const S = samplesDir();
if (S === undefined) console.warn('test/fixtures/samples (or $MIGSCOPE_SAMPLES) not found: sample tests skipped');

const ftrace = (file: string, sink: Parameters<typeof createFtraceTextParser>[1]) => createFtraceTextParser(file, sink);
const sample = (rel: string) => parseFile(join(S ?? '', rel), ftrace);
const fixture = (name: string) => parseFile(join(fixturesDir, name), ftrace);

function access(r: TraceRecord | undefined): AccessRecord {
  if (r?.kind !== 'access') throw new Error(`expected an access record, got ${r?.kind}`);
  return r;
}
function ioctl(r: TraceRecord | undefined): IoctlRecord {
  if (r?.kind !== 'ioctl') throw new Error(`expected an ioctl record, got ${r?.kind}`);
  return r;
}
function marker(r: TraceRecord | undefined): MarkerRecord {
  if (r?.kind !== 'marker') throw new Error(`expected a marker record, got ${r?.kind}`);
  return r;
}
function lost(r: TraceRecord | undefined): LostEventsRecord {
  if (r?.kind !== 'lost-events') throw new Error(`expected a lost-events record, got ${r?.kind}`);
  return r;
}

const REGION = 0x90000000000n;

describe.skipIf(S === undefined)('ftrace text samples', () => {
  // Every event line of the default captures: 27 syscall pairs (5 ioctl, 22 pread/pwrite)
  // and 23 markers = 77 events, as the header says (77/77).
  const full = { ioctl: 5, access: 22, marker: 23 };
  const cases: readonly [string, Record<string, number>][] = [
    ['ftrace/ftrace-trace-local.txt', full],
    ['ftrace/ftrace-trace_pipe-local.txt', full],
    ['ftrace/ftrace-trace-clock-mono.txt', full],
    ['ftrace/ftrace-trace-clock-boot.txt', full],
    ['ftrace/ftrace-trace-noirqinfo.txt', full],
    ['ftrace/ftrace-trace-tgid.txt', full],
    // trace_pipe captures of these runs stopped earlier (65 lines).
    ['ftrace/ftrace-trace_pipe-noirqinfo.txt', { ioctl: 5, access: 18, marker: 19 }],
    ['ftrace/ftrace-trace_pipe-tgid.txt', { ioctl: 5, access: 18, marker: 19 }],
    ['ftrace/ftrace-trace-overflow.txt', { 'lost-events': 2, access: 107, ioctl: 10 }],
    ['ftrace/ftrace-trace_pipe-overflow.txt', { 'lost-events': 4, access: 299, ioctl: 31 }],
    ['uprobe/uprobe-trace-libc.txt', full],
  ];
  for (const [rel, expected] of cases) {
    it(`${rel}: records by kind, nothing malformed or skipped`, () => {
      const out = sample(rel);
      expect(out.malformed).toEqual([]);
      expect(kinds(out.records)).toEqual(expected);
      expect(out.skipped).toBe(0);
      expect(out.clocks).toEqual(['local']);
      expect(detectFtraceText(linesOf(readFileSync(join(S ?? '', rel), 'utf8')).slice(0, 20))).toBe(true);
    });
  }

  it('trace (irq-info, no tgid): exact first records', () => {
    const { records } = sample('ftrace/ftrace-trace-local.txt');
    const first = ioctl(records[0]);
    expect(first).toEqual({
      kind: 'ioctl',
      tsNs: 1868_003137_000n,
      pid: undefined,
      tid: 19794,
      comm: 'qemu-system-x86',
      cpu: 1,
      src: { file: join(S ?? '', 'ftrace/ftrace-trace-local.txt'), line: 13 },
      fd: 4,
      cmd: 0x3b6b,
      arg: 0x7ffd67f3c4f0n,
      ret: -25, // 0xffffffffffffffe7 = -ENOTTY
      argWords: [],
    });
    expect(marker(records[3]).text).toBe('vfio_migration_probe  (0000:65:00.0) Region 9');
    expect(marker(records[3]).tsNs).toBe(1868_003178_000n);
    const rd = access(records[4]);
    expect([rd.op, rd.fd, rd.offset, rd.size, rd.value, rd.ret, rd.tid, rd.cpu, rd.tsNs, rd.src.line]).toEqual(['pread', 4, REGION, 4, undefined, 4, 19835, 0, 1868_003667_000n, 20]);
    const wr = access(records[5]);
    expect([wr.op, wr.offset, wr.size, wr.value, wr.ret, wr.src.line]).toEqual(['pwrite', REGION, 4, undefined, 4, 22]);
    // The data read: 0x2000 bytes at data_offset 0x1000.
    const data = records.filter((r) => r.kind === 'access' && r.size === 0x2000).map(access);
    expect(data.map((d) => [d.offset, d.ret])).toEqual([
      [REGION + 0x1000n, 0x2000],
      [REGION + 0x1000n, 0x2000],
    ]);
  });

  it('trace_pipe: "<...>" comm is unknown, thread ids are kept', () => {
    const { records } = sample('ftrace/ftrace-trace_pipe-local.txt');
    expect(ioctl(records[0]).comm).toBeUndefined();
    expect(ioctl(records[0]).tid).toBe(19838);
    expect(access(records[4]).comm).toBe('live_migration');
  });

  it('record-tgid: pid from the TGID column, undefined for "(-------)"', () => {
    const trace = sample('ftrace/ftrace-trace-tgid.txt').records;
    expect([ioctl(trace[0]).pid, ioctl(trace[0]).tid]).toEqual([20497, 20497]);
    const pipe = sample('ftrace/ftrace-trace_pipe-tgid.txt').records;
    expect(ioctl(pipe[0]).pid).toBeUndefined();
    const mig = access(pipe[4]);
    expect([mig.pid, mig.tid]).toEqual([20541, 20582]);
  });

  it('without irq-info flags the same records come out', () => {
    const { records } = sample('ftrace/ftrace-trace-noirqinfo.txt');
    const first = ioctl(records[0]);
    expect([first.tsNs, first.cpu, first.cmd, first.ret]).toEqual([1872_357881_000n, 0, 0x3b6b, -25]);
  });

  it('every trace_clock: sec.usec → ns, counter clocks as raw integers', () => {
    const out = sample('ftrace/ftrace-trace-all-clocks.txt');
    // The "=== trace_clock=…" separators were added by the capture script: exactly 10.
    expect(out.malformed.filter((m) => m.kind === undefined).map((m) => m.src.line)).toEqual([1, 6, 11, 16, 21, 26, 31, 36, 41, 46]);
    // Ten captures under different clocks concatenated: where a CPU's next capture starts
    // at a smaller number (counter after local on CPU 1, uptime after global on CPU 0) the
    // time goes backwards; the records are kept.
    expect(out.malformed.filter((m) => m.kind === 'time-backwards').map((m) => m.src.line)).toEqual([12, 17]);
    // Each capture read on its own: the times as its clock wrote them.
    const sections = readFileSync(join(S ?? '', 'ftrace/ftrace-trace-all-clocks.txt'), 'utf8').split(/^=== .*\n/m);
    const ts = sections.flatMap((t) => parseText(t, ftrace).records.map((r) => r.tsNs));
    expect(ts).toContain(1869_900301_000n); // local
    expect(ts).toContain(59n); // counter: an event counter, not time
    expect(ts).toContain(187052n); // uptime: jiffies
    expect(ts).toContain(1795644035_907240_000n); // tai: epoch seconds, exact past 2^53 ns
    expect(ts).toContain(4578247262523n); // x86-tsc: cycles
  });

  it('the clock: the caller names it; integers without a name say "counter"', () => {
    const text = readFileSync(join(S ?? '', 'ftrace/ftrace-trace-clock-mono.txt'), 'utf8');
    expect(parseText(text, (f, s) => createFtraceTextParser(f, s, { clock: 'mono' })).clocks).toEqual(['mono']);
    const counter = ' qemu-system-x86-20057   [001] .....           59: sys_ioctl(fd: 4, cmd: 0x3b6b, arg: 0x7ffd97745d70)\n';
    expect(parseText(counter, ftrace).clocks).toEqual(['counter']);
  });

  it('trace overrun: header count and the buffer-started annotation are lost-events records', () => {
    const { records } = sample('ftrace/ftrace-trace-overflow.txt');
    const gaps = records.filter((r) => r.kind === 'lost-events').map(lost);
    // 234 of 2886 written entries were still in the buffer.
    expect(gaps.map((g) => [g.src.line, g.cpu, g.count])).toEqual([
      [3, undefined, 2652],
      [15, 1, undefined],
    ]);
    expect(gaps[1]?.tsNs).toBe(1875_214291_000n); // the time of the line before it
  });

  it('trace_pipe overrun: CPU:n [LOST n EVENTS] counts and CPUs', () => {
    const { records } = sample('ftrace/ftrace-trace_pipe-overflow.txt');
    const gaps = records.filter((r) => r.kind === 'lost-events').map(lost);
    expect(gaps.map((g) => [g.src.line, g.cpu, g.count])).toEqual([
      [1, 0, 1326],
      [4, 1, 1326],
      [411, 0, 510],
      [416, 1, 510],
    ]);
    expect(gaps[0]?.tsNs).toBeUndefined(); // nothing before it
  });

  it('latency-format: refused with a message that says how to fix it', () => {
    const out = sample('ftrace/ftrace-trace-latency-format.txt');
    expect(out.records).toEqual([]);
    expect(out.malformed).toHaveLength(77);
    expect(out.malformed[0]?.src.line).toBe(19);
    expect(out.malformed[0]?.message).toMatch(/options\/latency-format/);
  });

  it('uprobe-only capture: libc calls become records; pwrite values from val_u32, masked to count', () => {
    const { records } = sample('uprobe/uprobe-trace-libc.txt');
    const writes = records.filter((r) => r.kind === 'access' && r.op === 'pwrite').map(access);
    // val_u64=0x7f0000000003 on the first write: 8 bytes of a 4-byte buffer (spec §3.3).
    expect(writes.map((w) => w.value)).toEqual([3n, 2n, 2n, 0n]);
    expect(writes.map((w) => [w.offset, w.size, w.ret])).toEqual(Array(4).fill([REGION, 4, 4]));
    // pread buffers are not filled at entry: never a value.
    expect(records.filter((r) => r.kind === 'access' && r.op === 'pread').every((r) => r.kind === 'access' && r.value === undefined)).toBe(true);
    // libc's -1 hides the errno: unknown, not -EPERM.
    const ioctls = records.filter((r) => r.kind === 'ioctl').map(ioctl);
    expect(ioctls.map((i) => [i.cmd, i.ret])).toEqual([
      [0x3b6b, undefined],
      [0x3b6c, undefined],
      [0x3b75, undefined],
      [0x3b75, undefined],
      [0x3b79, undefined],
    ]);
    expect(access(records[4]).src.line).toBe(20); // the entry probe's line
  });

  it('trace_marker text is kept exactly (double space, long lines)', () => {
    const { records } = sample('ftrace/ftrace-trace-local.txt');
    const texts = records.filter((r) => r.kind === 'marker').map((r) => marker(r).text);
    expect(texts).toContain('vfio_migration_set_state  (0000:65:00.0) new state STOP_COPY, recover state ERROR ret -25/-25');
    expect(texts).toContain(
      'vfio_save_pending  (0000:65:00.0) precopy 0x0 postcopy 0x0 compatible 0x0 stopcopy size 0x1000 precopy initial size 0x0 precopy dirty size 0x0',
    );
  });
});

describe('ftrace text fixtures', () => {
  it('older kernels: bare hex values and 4 flag characters', () => {
    const out = fixture('ftrace-old-kernel-bare-hex.txt');
    expect(out.malformed).toEqual([]);
    const [rd, wr, data, m] = out.records;
    expect([access(rd).fd, access(rd).offset, access(rd).size, access(rd).ret]).toEqual([0x1c, REGION, 4, 4]);
    expect([access(wr).op, access(wr).ret]).toEqual(['pwrite', -14]); // 0xfffffffffffffff2 = -EFAULT
    expect([access(data).size, access(data).offset, access(data).ret]).toEqual([0x2000, REGION + 0x1000n, 0x2000]);
    expect(marker(m).tsNs).toBe(8123_456840_000n);
  });

  it('newer kernels: user bytes give write values, openat paths name fds', () => {
    const out = fixture('ftrace-newer-kernel-user-data.txt');
    expect(out.malformed).toEqual([]);
    const r = out.records;
    expect(r[0]).toMatchObject({ kind: 'fd-open', fd: 5, via: 'openat', name: '/dev/vfio/devices/vfio0', parentFd: undefined, src: { line: 1 } });
    expect(access(r[1])).toMatchObject({ op: 'pwrite', fd: 5, offset: REGION, size: 4, value: 3n, ret: 4 });
    expect(access(r[2])).toMatchObject({ op: 'write', fd: 7, offset: undefined, size: 10, value: 0x3047494d4f494656n, ret: 10 });
    expect(access(r[3])).toMatchObject({ op: 'read', fd: 7, size: 0x1000, value: undefined, ret: 0 });
    // Shown bytes cut with ", ...": the first 8 are there.
    expect(access(r[4])).toMatchObject({ op: 'pwrite', size: 0x2000, value: 0x3047494d4f494656n, ret: 0x2000 });
    expect(r[5]).toMatchObject({ kind: 'fd-close', fd: 5, ret: 0 });
    // The kernel does not escape quotes inside the path.
    expect(r[6]).toMatchObject({ kind: 'fd-open', fd: 6, name: '/tmp/a "q", name' });
    // A failed open names nothing.
    expect(r).toHaveLength(7);
    expect(out.skipped).toBe(1);
  });

  it('plain syscall events carry no values and no paths', () => {
    const text = [
      ' qemu-system-x86-5000    [000] .....   100.000001: sys_openat(dfd: 0xffffffffffffff9c, filename: 0x7ffd00001000, flags: 0x80002, mode: 0)',
      ' qemu-system-x86-5000    [000] .....   100.000002: sys_openat -> 0x5',
      ' qemu-system-x86-5000    [000] .....   100.000003: sys_pwrite64(fd: 5, buf: 0x7ffd00002000, count: 4, pos: 0x90000000000)',
      ' qemu-system-x86-5000    [000] .....   100.000004: sys_pwrite64 -> 0x4',
    ].join('\n');
    const out = parseText(text, ftrace);
    expect(out.records).toHaveLength(1);
    expect(access(out.records[0]).value).toBeUndefined();
    expect(out.skipped).toBe(1); // the openat: no path to name fd 5 with
  });

  it('uprobe values merge into the matching syscall record, once', () => {
    const out = fixture('ftrace-syscalls-with-uprobe.txt');
    expect(out.malformed).toEqual([]);
    const r = out.records.map(access);
    expect(r.map((a) => [a.src.line, a.op, a.fd, a.offset, a.size, a.value, a.ret])).toEqual([
      // uprobe value 3 + the kernel's -EINVAL (libc only says -1)
      [2, 'pwrite', 4, REGION, 4, 3n, -22],
      // a read's buffer is not filled at entry: no value even with a probe
      [6, 'pread', 4, REGION, 4, undefined, 4],
      // no syscall event for this call: the probe's own record, val_u64 for count 8
      [9, 'pwrite', 4, REGION + 0x10n, 8, 0x1000n, 8],
      // fd differs: not merged; the syscall has no value, the probe keeps its own
      [12, 'pwrite', 4, REGION, 4, undefined, 4],
      [11, 'pwrite', 9, REGION, 4, 2n, 4],
    ]);
    expect(out.skipped).toBe(2); // the two probes whose values went into syscall records
  });

  it('malformed and truncated lines are counted with their line numbers; good lines around them are kept', () => {
    const out = fixture('ftrace-malformed.txt');
    expect(out.malformed.map((m) => m.src.line)).toEqual([4, 7, 8, 9, 11, 14]);
    expect(out.malformed.every((m) => m.src.file.endsWith('ftrace-malformed.txt'))).toBe(true);
    expect(out.malformed[0]?.message).toMatch(/truncated/);
    expect(out.malformed[2]?.message).toMatch(/timestamp/);
    const r = out.records;
    expect(r.map((x) => [x.kind, x.src.line])).toEqual([
      ['access', 2],
      ['access', 5],
      ['marker', 13],
      ['access', 15],
    ]);
    // An entry whose exit never came: ret unknown. Exits without entries: skipped.
    expect(access(r[3]).ret).toBeUndefined();
    expect(out.skipped).toBe(2);
  });

  it('pairing is per thread: interleaved threads, a repeated entry, an exit of another syscall', () => {
    const L = (tid: number, ts: string, body: string) => `  live_migration-${tid}   [000] .....  ${ts}: ${body}`;
    const text = [
      L(10, '1.000001', 'sys_pread64(fd: 4, buf: 0x1, count: 4, pos: 0x90000000000)'),
      L(11, '1.000002', 'sys_ioctl(fd: 4, cmd: 0x3b75, arg: 0x7ffd)'),
      L(10, '1.000003', 'sys_pread64 -> 0x4'),
      L(11, '1.000004', 'sys_ioctl -> 0x0'),
      L(10, '1.000005', 'sys_pread64(fd: 4, buf: 0x1, count: 8, pos: 0x90000000008)'),
      L(10, '1.000006', 'sys_pwrite64(fd: 4, buf: 0x1, count: 4, pos: 0x90000000000)'),
      L(10, '1.000007', 'sys_ioctl -> 0x0'),
    ].join('\n');
    const out = parseText(text, ftrace);
    expect(out.records.map((r) => [r.kind, r.tid, r.src.line, r.kind === 'access' || r.kind === 'ioctl' ? r.ret : '-'])).toEqual([
      ['access', 10, 1, 4],
      ['ioctl', 11, 2, 0],
      ['access', 10, 5, undefined], // the thread's next entry came first
      ['access', 10, 6, undefined], // an ioctl exit cannot complete a pwrite
    ]);
    expect(out.skipped).toBe(1);
  });

  it('a lost-events line completes pending entries with unknown results first', () => {
    const text = [
      '  live_migration-10   [000] .....  1.000001: sys_pwrite64(fd: 4, buf: 0x1, count: 4, pos: 0x90000000000)',
      'CPU:0 [LOST 12 EVENTS]',
      '  live_migration-10   [000] .....  1.000009: sys_pwrite64 -> 0x4',
      'CPU:1 [LOST EVENTS]',
      '[LOST 3 EVENTS]',
    ].join('\n');
    const out = parseText(text, ftrace);
    expect(out.records.map((r) => (r.kind === 'access' ? `access ret=${r.ret}` : r.kind === 'lost-events' ? `lost cpu=${r.cpu} count=${r.count}` : r.kind))).toEqual([
      'access ret=undefined',
      'lost cpu=0 count=12',
      'lost cpu=1 count=undefined',
      'lost cpu=undefined count=3',
    ]);
    expect(out.skipped).toBe(1);
    expect(out.malformed).toEqual([]);
  });

  it('other events and other syscalls are skipped, not malformed', () => {
    const text = [
      '            java-1234    [001] .....  1868.000051: sys_futex(uaddr: 0x7f00aa, op: 0x81, val: 1, utime: 0, uaddr2: 0, val3: 0)',
      '            java-1234    [001] .....  1868.000052: sys_futex -> 0x0',
      '          <idle>-0       [000] d..2.  1868.000054: sched_switch: prev_comm=swapper/0 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=java',
      '  my [odd] comm-99      [000] .....  1868.000055: some_probe: (do_thing+0x0/0x10) a=1',
      ' bash-1113    [003] .....  3433.290654: sys_write(fd: 2, buf: 0x555a8deeddb0 (72:6f:6f:74:40) "root@", count: 0x5)',
    ].join('\n');
    const out = parseText(text, ftrace);
    expect(out.malformed).toEqual([]);
    expect(out.skipped).toBe(4);
    // A write with its bytes (a newer kernel) that never exited: still a record.
    expect(access(out.records[0])).toMatchObject({ op: 'write', fd: 2, size: 5, value: 0x40746f6f72n, ret: undefined, comm: 'bash' });
  });

  it('a trace_marker write with newlines: the continuation lines are skipped, not malformed', () => {
    const text = [
      '  live_migration-10   [000] ...1.  1.000001: tracing_mark_write: first line',
      'second line of the same write',
      '  live_migration-10   [000] .....  1.000002: sys_pread64(fd: 4, buf: 0x1, count: 4, pos: 0x90000000000)',
      'not a continuation: garbage',
    ].join('\n');
    const out = parseText(text, ftrace);
    expect(marker(out.records[0]).text).toBe('first line');
    expect(out.skipped).toBe(1);
    expect(out.malformed.map((m) => m.src.line)).toEqual([4]);
  });

  it("migscope capture's header names the clock; its clock-sync marker becomes a clock-sync record", () => {
    const text = [
      '# migscope-ftrace-capture v1 clock=mono',
      '# tracer: nop',
      '  node-77      [000] ...1.  1177.238015: tracing_mark_write: migscope-clocksync clock=mono trace_ns=1177238010123 wall_ns=1764110000123000000 uncertainty_ns=150 source=runner at=start',
      '  node-77      [000] ...1.  1177.238020: tracing_mark_write: migscope-clocksync clock=mono trace_ns=oops',
    ].join('\n');
    const out = parseText(text, ftrace);
    expect(out.clocks).toEqual(['mono']);
    expect(out.records[0]).toMatchObject({ kind: 'clock-sync', clock: 'mono', traceNs: 1177238010123n, wallNs: 1764110000123000000n, tsNs: 1177_238015_000n, src: { line: 3 } });
    // Not a valid pair: kept as the marker it is.
    expect(out.records[1]).toMatchObject({ kind: 'marker', text: 'migscope-clocksync clock=mono trace_ns=oops' });
  });

  it('detects trace and trace_pipe text, not trace-cmd report or QEMU logs', () => {
    expect(detectFtraceText(['# tracer: nop', '#'])).toBe(true);
    expect(detectFtraceText([' qemu-system-x86-19794   [001] .....  1868.003137: sys_ioctl(fd: 4, cmd: 0x3b6b, arg: 0x7ffd67f3c4f0)'])).toBe(true);
    expect(detectFtraceText(['CPU:0 [LOST 1326 EVENTS]'])).toBe(true);
    expect(detectFtraceText(['cpus=2', ' qemu-system-x86-21293 [000]  1884.493584: sys_enter_ioctl:      fd: 0x00000004, cmd: 0x00003b6b, arg: 0x7ffd0b2ee780'])).toBe(false);
    expect(detectFtraceText(['4711@1608130130.441188:vfio_migration_set_state  (0000:65:00.0) state 3'])).toBe(false);
  });
});
