// parsers/bpftrace.ts: migscope.bt's "migscope-capture v1" lines (text and -f json), the
// shared samples of spec/trace-formats.md §4, and what goes wrong in real streams.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createBpftraceParser, detectBpftrace } from '../../parsers/bpftrace.js';
import { parseJsonLine } from '../../parsers/bpftrace/json.js';
import type { TraceRecord } from '../../src/record/types.js';
import { collector, linesOf, parseFile, parseText, samplesDir } from '../fixtures/text/harness.js';
import { readFileSync } from 'node:fs';

const parse = (text: string): ReturnType<typeof parseText> => parseText(text, createBpftraceParser, 'cap.trace');
const one = (line: string): TraceRecord => {
  const out = parse(line);
  expect(out.malformed).toEqual([]);
  expect(out.records).toHaveLength(1);
  return out.records[0] as TraceRecord;
};

describe('migscope-capture v1 text lines', () => {
  it('pread64: value as read, exact 64-bit offset and value', () => {
    expect(
      one('1021527156133 pread64 pid=22500 tid=22526 fd=3 off=0x90000001000 count=8192 ret=8192 val=0xfff747494d4f4956 lat_ns=58567 comm=live_migration'),
    ).toEqual({
      kind: 'access',
      op: 'pread',
      tsNs: 1021527156133n,
      pid: 22500,
      tid: 22526,
      comm: 'live_migration',
      cpu: undefined,
      src: { file: 'cap.trace', line: 1 },
      fd: 3,
      offset: 0x90000001000n,
      size: 8192,
      value: 0xfff747494d4f4956n,
      ret: 8192,
    });
  });

  it('a failed pwrite64 keeps the value it tried to write and the negative errno', () => {
    expect(one('5 pwrite64 pid=1 tid=2 fd=3 off=0x90000000000 count=4 ret=-5 val=0x2 lat_ns=1 comm=live_migration')).toMatchObject({
      op: 'pwrite',
      value: 2n,
      ret: -5,
    });
  });

  it('a failed read has no value (never guessed)', () => {
    expect(one('5 pread64 pid=1 tid=2 fd=3 off=0x90000000000 count=4 ret=-22 val=0x0 lat_ns=1 comm=x')).toMatchObject({ value: undefined, ret: -22 });
    expect(one('5 read pid=1 tid=2 fd=9 count=4096 ret=0 val=0x0 lat_ns=1 comm=x')).toMatchObject({ op: 'read', offset: undefined, value: undefined });
    expect(one('5 write pid=1 tid=2 fd=9 count=16 ret=16 val=0x41 lat_ns=1 comm=x')).toMatchObject({ op: 'write', offset: undefined, value: 0x41n, size: 16 });
  });

  it('ioctl: words of the argument, none when the argument is not a pointer', () => {
    expect(one('7 ioctl pid=1 tid=1 fd=3 cmd=0x3b75 arg=0x7ffd00001000 ret=0 w0=0x2000200000010 w1=0xffffffff00000003 w2=0x0 w3=0x0 lat_ns=1 comm=q')).toMatchObject({
      kind: 'ioctl',
      cmd: 0x3b75,
      arg: 0x7ffd00001000n,
      ret: 0,
      argWords: [0x2000200000010n, 0xffffffff00000003n, 0n, 0n],
    });
    expect(one('7 ioctl pid=1 tid=1 fd=3 cmd=0x3b6f arg=0x0 ret=0 w0=0x0 w1=0x0 w2=0x0 w3=0x0 lat_ns=1 comm=q')).toMatchObject({ cmd: 0x3b6f, argWords: [] });
  });

  it('devfd: the device name to the returned fd; a failed one is skipped (its ioctl line carries the failure)', () => {
    expect(one('8 devfd pid=1 tid=1 fd=4 ret=3 comm=qemu-system-x86 name=0000:65:00.0')).toMatchObject({
      kind: 'fd-open',
      via: 'group-get-device-fd',
      fd: 3,
      parentFd: 4,
      name: '0000:65:00.0',
      comm: 'qemu-system-x86',
    });
    const failed = parse('8 devfd pid=1 tid=1 fd=4 ret=-19 comm=q name=nope');
    expect(failed.records).toEqual([]);
    expect(failed.skipped).toBe(1);
  });

  it('openat: the path runs to the end of the line, spaces included; comm may hold spaces', () => {
    expect(one('9 openat pid=1 tid=1 ret=5 flags=0x80002 lat_ns=1 comm=my vmm path=/tmp/a dir/x comm=y')).toMatchObject({
      kind: 'fd-open',
      via: 'openat',
      fd: 5,
      name: '/tmp/a dir/x comm=y',
      comm: 'my vmm',
    });
    expect(parse('9 openat pid=1 tid=1 ret=-2 flags=0x0 lat_ns=1 comm=q path=/nope').records).toEqual([]);
  });

  it('close and clocksync', () => {
    expect(one('10 close pid=1 tid=1 fd=3 ret=0 lat_ns=1 comm=q')).toMatchObject({ kind: 'fd-close', fd: 3, ret: 0 });
    expect(one('1019969690507 clocksync clock=mono wall_ns=1795645749207000000 uncertainty_ns=866 source=runner at=start')).toMatchObject({
      kind: 'clock-sync',
      clock: 'mono',
      traceNs: 1019969690507n,
      wallNs: 1795645749207000000n,
    });
  });

  it('regioninfo: the TYPE capability found anywhere in the walked chain; -1 means none', () => {
    expect(
      one('11 regioninfo pid=1 tid=1 fd=3 ret=0 argsz_in=64 argsz=64 flags=0xb index=9 cap_offset=32 size=0x100000 offset=0x90000000000 caps=1@32,2@48,0@0 type=3 subtype=1 comm=q'),
    ).toMatchObject({ kind: 'region-info', fd: 3, index: 9, flags: 0xb, offset: 0x90000000000n, size: 0x100000n, capType: 3, capSubtype: 1, ret: 0 });
    expect(
      one('11 regioninfo pid=1 tid=1 fd=3 ret=0 argsz_in=32 argsz=64 flags=0xb index=9 cap_offset=0 size=0x100000 offset=0x90000000000 caps=0@0,0@0,0@0 type=-1 subtype=-1 comm=q'),
    ).toMatchObject({ capType: undefined, capSubtype: undefined });
  });

  it('headers, bpftrace chatter, exit-time maps and other events are not malformed', () => {
    const out = parse(
      [
        '# migscope-capture v1 tracer=bpftrace format=text runner=migscope target=pid:1 read_write=1',
        'Attaching 16 probes...',
        '# migscope-capture v1 tracer=bpftrace program=migscope.bt clock=mono pid=1 flags=1 begin_ns=5',
        '',
        '99 end pid=1',
        '@ops[live_migration, pread64]: 18',
        '[1K, 2K)   9 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|',
        'Lost 7 events',
      ].join('\n'),
    );
    expect(out.malformed).toEqual([]);
    expect(out.clocks).toEqual(['mono']);
    expect(out.records).toMatchObject([{ kind: 'lost-events', count: 7, src: { line: 8 } }]);
    expect(out.skipped).toBe(3);
  });

  it('a newer format version is reported once and still read', () => {
    const out = parse('# migscope-capture v3 tracer=bpftrace\n10 close pid=1 tid=1 fd=3 ret=0 lat_ns=1 comm=q');
    expect(out.malformed).toMatchObject([{ src: { line: 1 }, message: expect.stringContaining('v3') }]);
    expect(out.records).toHaveLength(1);
  });

  it('malformed lines are counted with their line number and the good lines around them survive', () => {
    const out = parse(
      [
        '10 close pid=1 tid=1 fd=3 ret=0 lat_ns=1 comm=q',
        '11 pread64 pid=1 tid=1 fd=3 off=0xZZ count=4 ret=4 val=0x1 lat_ns=1 comm=q',
        '12 pread64 pid=1 tid=1 fd=3 count=4 ret=4 val=0x1 comm=q',
        '13 ioctl pid=1 tid=1 fd=3 fd=4 cmd=0x3b6f arg=0x0 ret=0 comm=q',
        '14 pwrite64 pid=1 tid=1 fd=3 off=0x0 count=4 ret=4 val=0x1 junk comm=q',
        'hello from the child',
        '15 openat pid=1 tid=1 ret=3 flags=0x0 comm=q',
        '16 close pid=1 tid=1 fd=4 ret=0 lat_ns=1 comm=q\r',
        '17 pread64 pid=1 tid=1 fd=3 off=0x90000000000 count=4 ret=4 val=0x1 lat_ns=1 co',
        '{"type": "printf", "data": "18 close pid=1',
      ].join('\n'),
    );
    expect(out.malformed.map((m) => m.src.line)).toEqual([2, 3, 4, 5, 6, 7, 9, 10]);
    expect(out.malformed[0]?.message).toMatch(/off=0xZZ/);
    expect(out.malformed[1]?.message).toMatch(/off/);
    expect(out.malformed[2]?.message).toMatch(/twice/);
    expect(out.malformed[4]?.message).toMatch(/stray output/);
    expect(out.malformed[7]?.message).toMatch(/invalid JSON/);
    expect(out.records.map((r) => r.src.line)).toEqual([1, 8]);
    expect(out.malformed.every((m) => m.src.file === 'cap.trace')).toBe(true);
  });
});

describe('host-mode records (watch --all)', () => {
  it('vmmexit is the end of a process', () => {
    expect(one('9 vmmexit pid=42 tid=42 why=exit')).toMatchObject({ kind: 'process-exit', pid: 42, why: 'exit', tsNs: 9n });
    expect(one('9 vmmexit pid=42 tid=42 why=exec')).toMatchObject({ kind: 'process-exit', why: 'exec' });
    expect(parse('9 vmmexit pid=42 tid=42 why=bored').malformed).toHaveLength(1);
  });
  it("a gone process's per-thread order state is dropped at its exit; live processes' is kept and still checked", () => {
    const { sink, out } = collector();
    const p = createBpftraceParser('cap.trace', sink);
    const live: number[] = [];
    let n = 0;
    const feed = (l: string): void => {
      p.line(l, ++n);
      live.push(p.liveEntries?.() ?? -1);
    };
    const ioctl = (ts: number, pid: number, tid: number): string => `${ts} ioctl pid=${pid} tid=${tid} fd=3 cmd=0x3b6f arg=0x0 ret=0 w0=0x0 w1=0x0 w2=0x0 w3=0x0 lat_ns=1 comm=q`;
    // 500 lifetimes of a two-thread process, beside one long-lived process (pid 7).
    feed(ioctl(1, 7, 7));
    for (let i = 0; i < 500; i++) {
      const pid = 1000 + 2 * i;
      feed(ioctl(10 + 10 * i, pid, pid));
      feed(ioctl(11 + 10 * i, pid, pid + 1));
      feed(`${12 + 10 * i} vmmexit pid=${pid} tid=${pid} why=exit`);
    }
    // The state returns to the live process's thread after every exit (never grows), and
    // was 3 (pid 7's thread and the two of the lifetime) just before each.
    expect(live.filter((_, k) => k > 0 && k % 3 === 0)).toEqual(new Array<number>(500).fill(1));
    expect(Math.max(...live)).toBe(3);
    expect(out.malformed).toEqual([]);
    // The live process's thread is still checked: a step back in its time is reported and held.
    feed(ioctl(0, 7, 7));
    expect(out.malformed.map((m) => m.kind)).toEqual(['time-backwards']);
    expect(out.records.at(-1)?.tsNs).toBe(1n);
    // A thread that outlived its leader (its syscall returned after the exit) starts afresh, later.
    feed(ioctl(5_000, 1998, 1999));
    expect(out.records.at(-1)?.tsNs).toBe(5000n);
    expect(out.malformed).toHaveLength(1);
  });
  it('a registration is no record, unless VFIO ioctls before it went untraced (then a hole)', () => {
    const quiet = parse('8 vmm pid=42 tid=42 early_vfio=0 exec_ns=5');
    expect(quiet.records).toEqual([]);
    expect(quiet.malformed).toEqual([]);
    expect(one('8 vmm pid=42 tid=42 early_vfio=3 exec_ns=5')).toMatchObject({ kind: 'lost-events', count: 3, pid: 42, tsNs: 8n });
  });
  it('exec records are well-formed records of no interest', () => {
    const out = parse('7 exec pid=42 tid=42 comm=qemu-system-x86 path=/usr/bin/qemu-system-x86_64');
    expect(out.records).toEqual([]);
    expect(out.malformed).toEqual([]);
  });
});

describe('-f json lines', () => {
  it('printf records carry the same lines; attached_probes, maps and helper errors are not records', () => {
    const out = parse(
      [
        '{"type": "attached_probes", "data": {"probes": 16}}',
        '{"type": "printf", "data": "# migscope-capture v1 tracer=bpftrace program=migscope.bt clock=mono pid=1 flags=1 begin_ns=5\\n"}',
        '{"type": "printf", "data": "8 devfd pid=1 tid=1 fd=4 ret=3 comm=q name=0000:65:00.0\\n"}',
        '{"type": "lost_events", "data": {"events": 9}}',
        '{"type": "map", "data": {"@ops": {"q,ioctl": 2}}}',
        '{"type": "helper_error", "helper": "probe_read_user", "retcode": -14, "line": 30, "col": 9}',
        '',
        '{"type": "printf", "data": "some other script\\n"}',
      ].join('\n'),
    );
    expect(out.malformed).toEqual([]);
    expect(out.records).toMatchObject([
      { kind: 'fd-open', name: '0000:65:00.0', src: { line: 3 } },
      { kind: 'lost-events', count: 9, src: { line: 4 } },
    ]);
    expect(out.skipped).toBe(3);
  });

  it('undoes bpftrace 0.17\'s \\uffffffXX escaping of bytes >= 0x80 (UTF-8 reassembled)', () => {
    expect(parseJsonLine('{"type": "printf", "data": "caf\\uffffffc3\\uffffffa9 \\u0001\\n"}')).toEqual({ type: 'printf', text: 'caf\u00e9 \u0001\n' });
    // an escaped backslash followed by the letters is text, not an escape
    expect(parseJsonLine('{"type": "printf", "data": "a\\\\uffffffc3"}')).toEqual({ type: 'printf', text: 'a\\uffffffc3' });
    const out = parse('{"type": "printf", "data": "8 devfd pid=1 tid=1 fd=4 ret=3 comm=q name=d\\uffffffc3\\uffffffa9v\\n"}');
    expect(out.records).toMatchObject([{ name: 'dév' }]);
  });
});

describe('detectBpftrace', () => {
  it('recognises both modes, the runner header, and the sample script', () => {
    expect(detectBpftrace(['', '{"type": "attached_probes", "data": {"probes": 3}}'])).toBe('json');
    expect(detectBpftrace(['{"type": "printf", "data": "# migscope-capture v1 tracer=bpftrace format=json\\n"}'])).toBe('json');
    expect(detectBpftrace(['# migscope-capture v1 tracer=bpftrace format=text runner=migscope'])).toBe('text');
    expect(detectBpftrace(['Attaching 8 probes...'])).toBe('text');
    expect(detectBpftrace(['# vfio_mig_access.bt started; t_enter_ns is CLOCK_MONOTONIC'])).toBe('text');
    expect(detectBpftrace(['1980013084295 ioctl pid=22619 tid=22619 comm=qemu-system-x86 fd=5 cmd=0x3b6b'])).toBe('text');
  });
  it('says nothing about other formats', () => {
    expect(detectBpftrace(['# tracer: nop', '#'])).toBeUndefined();
    expect(detectBpftrace(['{"resourceSpans": []}'])).toBeUndefined();
    expect(detectBpftrace([])).toBeUndefined();
  });
});

const S = samplesDir();
if (S === undefined) console.warn('SKIPPED bpftrace sample tests: test/fixtures/samples (or $MIGSCOPE_SAMPLES) not found');

describe.skipIf(S === undefined)('shared samples (spec/trace-formats.md §4)', () => {
  const sample = (f: string): string => join(S ?? '', 'bpftrace', f);

  it('vfio_mig_access.txt: the sample script\'s layout (comm in the middle, w0/w1) reads cleanly', () => {
    const out = parseFile(sample('bpftrace-vfio_mig_access.txt'), createBpftraceParser);
    expect(out.malformed).toEqual([]);
    expect(out.clocks).toEqual(['mono']);
    expect(out.records.filter((r) => r.kind === 'access')).toHaveLength(22);
    expect(out.records.filter((r) => r.kind === 'ioctl')).toHaveLength(5);
    expect(out.records[0]).toMatchObject({ kind: 'ioctl', fd: 5, cmd: 0x3b6b, ret: -25, argWords: [0x18n, 0n], comm: 'qemu-system-x86', tid: 22619, pid: 22619 });
    expect(out.records[3]).toMatchObject({ kind: 'access', op: 'pread', offset: 0x90000000000n, size: 4, value: 1n, ret: 4, comm: 'live_migration', tsNs: 1980013611423n });
    const dataRead = out.records.find((r) => r.kind === 'access' && r.size === 8192);
    expect(dataRead).toMatchObject({ value: 0x3047494d4f494656n });
    // the exit-time maps (@ops, @bytes, @lat_ns, @lat_stats) are skipped, not malformed
    expect(out.skipped).toBeGreaterThan(0);
  });

  it('vfio_mig_access.json has the same records as the text capture (a different run: same shape)', () => {
    const txt = parseFile(sample('bpftrace-vfio_mig_access.txt'), createBpftraceParser);
    const json = parseFile(sample('bpftrace-vfio_mig_access.json'), createBpftraceParser);
    expect(json.malformed).toEqual([]);
    const shape = (rs: readonly TraceRecord[]): unknown[] =>
      rs.map((r) => (r.kind === 'access' ? [r.op, r.offset, r.size, r.value, r.ret] : r.kind === 'ioctl' ? [r.cmd, r.ret] : r.kind));
    expect(shape(json.records)).toEqual(shape(txt.records));
  });

  it('lost-events samples: every report becomes a lost-events record; the flood lines are skipped', () => {
    for (const f of ['bpftrace-lost-events.txt', 'bpftrace-lost-events.json']) {
      const out = parseFile(sample(f), createBpftraceParser);
      expect(out.malformed).toEqual([]);
      const lost = out.records.filter((r) => r.kind === 'lost-events');
      expect(lost.length).toBeGreaterThan(0);
      expect(lost.every((r) => r.kind === 'lost-events' && (r.count ?? 0) > 0)).toBe(true);
      expect(out.records.length).toBe(lost.length);
    }
  });

  it('json-record-types.json: the child\'s stray line is the one malformed line', () => {
    const path = sample('bpftrace-json-record-types.json');
    const out = parseFile(path, createBpftraceParser);
    const strayLine = linesOf(readFileSync(path, 'utf8')).indexOf('hello from the child') + 1;
    expect(strayLine).toBeGreaterThan(0);
    expect(out.malformed.map((m) => m.src.line)).toEqual([strayLine]);
    expect(out.records).toEqual([]);
  });

  it('json-record-types.txt: helper warnings with their two context lines are not malformed', () => {
    const out = parseFile(sample('bpftrace-json-record-types.txt'), createBpftraceParser);
    // text mode cannot tell another script's printf output from the child's: all reported
    expect(out.malformed.some((m) => /join\(args->argv\)|~~~|WARNING/.test(m.message))).toBe(false);
    expect(out.malformed.map((m) => m.message).join('\n')).toContain('hello from the child');
    expect(out.records).toEqual([]);
  });
});
