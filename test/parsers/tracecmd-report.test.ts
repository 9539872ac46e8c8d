// parsers/tracecmd-report.ts against trace-cmd 3.1.6's own renderings of the sample
// trace.dat files (spec trace-formats §6, §3.4), and a cross-check: the same kind of
// capture as `trace`, `trace_pipe` and `trace-cmd report` gives the same record sequence.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFtraceTextParser } from '../../parsers/ftrace-text.js';
import { createTraceCmdReportParser, detectTraceCmdReport } from '../../parsers/tracecmd-report.js';
import type { AccessRecord, IoctlRecord, LostEventsRecord, TraceRecord } from '../../src/record/types.js';
import { kinds, linesOf, parseFile, parseText, samplesDir, shape } from '../fixtures/text/harness.js';

const S = samplesDir();
if (S === undefined) console.warn('test/fixtures/samples (or $MIGSCOPE_SAMPLES) not found: sample tests skipped');

const report = (file: string, sink: Parameters<typeof createTraceCmdReportParser>[1]) => createTraceCmdReportParser(file, sink);
const ftrace = (file: string, sink: Parameters<typeof createFtraceTextParser>[1]) => createFtraceTextParser(file, sink);
const sample = (rel: string) => parseFile(join(S ?? '', rel), report);
const head = (rel: string) => linesOf(readFileSync(join(S ?? '', rel), 'utf8')).slice(0, 20);

function access(r: TraceRecord | undefined): AccessRecord {
  if (r?.kind !== 'access') throw new Error(`expected an access record, got ${r?.kind}`);
  return r;
}
function ioctl(r: TraceRecord | undefined): IoctlRecord {
  if (r?.kind !== 'ioctl') throw new Error(`expected an ioctl record, got ${r?.kind}`);
  return r;
}
function lost(r: TraceRecord | undefined): LostEventsRecord {
  if (r?.kind !== 'lost-events') throw new Error(`expected a lost-events record, got ${r?.kind}`);
  return r;
}

const REGION = 0x90000000000n;
const full = { ioctl: 5, access: 22, marker: 23 };

describe.skipIf(S === undefined)('trace-cmd report samples', () => {
  const cases: readonly [string, Record<string, number>][] = [
    ['trace-cmd/vfio-mig-default-v7-zstd.report.txt', full],
    ['trace-cmd/vfio-mig-default-v7-zstd.report-R.txt', full],
    ['trace-cmd/vfio-mig-default-v7-zstd.report-t.txt', full],
    ['trace-cmd/vfio-mig-default-v7-zstd.report-l.txt', full],
    ['trace-cmd/vfio-mig-default-v7-zstd.report-ts-diff.txt', full],
    ['trace-cmd/vfio-mig-default-v7-zstd.report-cpu0.txt', { ioctl: 3, marker: 1 }],
    ['trace-cmd/vfio-mig-v7-nocompress.report.txt', full],
    ['trace-cmd/vfio-mig-v7-nocompress.report-R.txt', full],
    ['trace-cmd/vfio-mig-v6.report.txt', full],
    ['trace-cmd/vfio-mig-v6.report-R.txt', full],
    ['trace-cmd/vfio-mig-lost-events-extract.report.txt', { 'lost-events': 2, marker: 59, access: 57, ioctl: 6 }],
    ['trace-cmd/vfio-mig-lost-events-extract.report-R.txt', { 'lost-events': 2, marker: 59, access: 57, ioctl: 6 }],
    ['uprobe/uprobe-libc-v7.report.txt', full],
    ['uprobe/uprobe-libc-v7.report-R.txt', full],
    ['uprobe/uprobe-libc-v7.report-l.txt', full],
  ];
  for (const [rel, expected] of cases) {
    it(`${rel}: records by kind, nothing malformed or skipped`, () => {
      const out = sample(rel);
      expect(out.malformed).toEqual([]);
      expect(kinds(out.records)).toEqual(expected);
      expect(out.skipped).toBe(0);
      expect(out.clocks).toEqual(['local']);
      expect(detectTraceCmdReport(head(rel))).toBe(true);
    });
  }

  it('other report modes (--stat, -E, --events) are not event listings', () => {
    const other: readonly [string, number][] = [
      ['trace-cmd/vfio-mig-default-v7-zstd.report-stat.txt', 25],
      ['trace-cmd/vfio-mig-default-v7-zstd.report-E.txt', 24],
      ['trace-cmd/vfio-mig-v6.report-events.txt', 69],
    ];
    for (const [rel, bad] of other) {
      expect(detectTraceCmdReport(head(rel)), rel).toBe(false);
      const out = sample(rel);
      expect(out.records, rel).toEqual([]);
      expect(out.malformed, rel).toHaveLength(bad); // every non-blank line but "cpus=2"
    }
  });

  it('default rendering: zero-padded print-fmt values, exact first records', () => {
    const { records } = sample('trace-cmd/vfio-mig-default-v7-zstd.report.txt');
    expect(ioctl(records[0])).toEqual({
      kind: 'ioctl',
      tsNs: 1884_493584_000n,
      pid: undefined, // trace-cmd report never shows the process
      tid: 21293,
      comm: 'qemu-system-x86',
      cpu: 0,
      src: { file: join(S ?? '', 'trace-cmd/vfio-mig-default-v7-zstd.report.txt'), line: 2 },
      fd: 4,
      cmd: 0x3b6b,
      arg: 0x7ffd0b2ee780n,
      ret: -25,
      argWords: [],
    });
    const wr = access(records[5]);
    expect([wr.op, wr.fd, wr.offset, wr.size, wr.value, wr.ret, wr.tid, wr.cpu, wr.src.line]).toEqual(['pwrite', 4, REGION, 4, undefined, 4, 21294, 1, 11]);
  });

  it('-t: nanosecond timestamps; the default rounds the same events to µs', () => {
    const ns = sample('trace-cmd/vfio-mig-default-v7-zstd.report-t.txt').records;
    const us = sample('trace-cmd/vfio-mig-default-v7-zstd.report.txt').records;
    expect(ns[0]?.tsNs).toBe(1884_493584_406n);
    expect(ns.map(shape)).toEqual(us.map(shape));
    for (let i = 0; i < ns.length; i++) {
      const a = ns[i]?.tsNs ?? 0n;
      const b = us[i]?.tsNs ?? 0n;
      expect(a - b < 1000n && b - a <= 500n, `record ${i}`).toBe(true);
    }
  });

  it('-R, -l, --ts-diff and the v6/v7 files render the same records', () => {
    const base = sample('trace-cmd/vfio-mig-default-v7-zstd.report.txt').records;
    const same = (rel: string) => sample(rel).records.map((r) => [shape(r), r.tsNs, r.tid, r.cpu]);
    const want = base.map((r) => [shape(r), r.tsNs, r.tid, r.cpu]);
    expect(same('trace-cmd/vfio-mig-default-v7-zstd.report-R.txt')).toEqual(want);
    expect(same('trace-cmd/vfio-mig-default-v7-zstd.report-l.txt')).toEqual(want);
    expect(same('trace-cmd/vfio-mig-default-v7-zstd.report-ts-diff.txt')).toEqual(want);
    // -l cuts the comm to 8 characters.
    expect(sample('trace-cmd/vfio-mig-default-v7-zstd.report-l.txt').records[0]?.comm).toBe('qemu-sys');
  });

  it('EVENTS DROPPED lines are lost-events records with their CPU and count', () => {
    for (const rel of ['trace-cmd/vfio-mig-lost-events-extract.report.txt', 'trace-cmd/vfio-mig-lost-events-extract.report-R.txt']) {
      const gaps = sample(rel).records.filter((r) => r.kind === 'lost-events').map(lost);
      expect(gaps.map((g) => [g.src.line, g.cpu, g.count, g.tsNs])).toEqual([
        [2, 1, 1233, undefined],
        [7, 0, 1389, 1887_735890_000n],
      ]);
    }
  });

  it('uprobe events: reversed return parenthesis, unquoted -R strings, same values as the kernel text', () => {
    const out = sample('uprobe/uprobe-libc-v7.report.txt');
    const writes = out.records.filter((r) => r.kind === 'access' && r.op === 'pwrite').map(access);
    expect(writes.map((w) => [w.value, w.ret, w.size])).toEqual(Array(4).fill(undefined).map((_, i) => [[3n, 2n, 2n, 0n][i], 4, 4]));
    const raw = sample('uprobe/uprobe-libc-v7.report-R.txt').records.map(shape);
    expect(raw).toEqual(out.records.map(shape));
    const kernel = parseFile(join(S ?? '', 'uprobe/uprobe-trace-libc.txt'), ftrace).records.map(shape);
    expect(out.records.map(shape)).toEqual(kernel);
  });

  it('cross-check: trace, trace_pipe and trace-cmd report give the same record sequence', () => {
    const trace = parseFile(join(S ?? '', 'ftrace/ftrace-trace-local.txt'), ftrace).records.map(shape);
    const pipe = parseFile(join(S ?? '', 'ftrace/ftrace-trace_pipe-local.txt'), ftrace).records.map(shape);
    const rep = sample('trace-cmd/vfio-mig-default-v7-zstd.report.txt').records.map(shape);
    expect(trace).toHaveLength(50);
    expect(pipe).toEqual(trace);
    expect(rep).toEqual(trace);
    // The overflow captures: same shapes of gaps, different runs.
    const tGaps = parseFile(join(S ?? '', 'ftrace/ftrace-trace_pipe-overflow.txt'), ftrace).records.filter((r) => r.kind === 'lost-events');
    const rGaps = sample('trace-cmd/vfio-mig-lost-events-extract.report.txt').records.filter((r) => r.kind === 'lost-events');
    expect(tGaps.every((g) => g.kind === 'lost-events' && g.count !== undefined && g.cpu !== undefined)).toBe(true);
    expect(rGaps.every((g) => g.kind === 'lost-events' && g.count !== undefined && g.cpu !== undefined)).toBe(true);
  });
});

describe('trace-cmd report edge cases', () => {
  it('print events: unresolved ip is still a marker; kernel trace_puts is not', () => {
    const text = [
      'cpus=2',
      '  live_migration-21338 [000]  1886.689600: print:                0xffffffff814aa001: vfio_save_setup  (0000:65:00.0)',
      '  kworker/0:1-12     [000]  1886.689601: print:                some_kernel_func: hello',
      '  live_migration-21338 [000]  1886.689602: print:                 ip=tracing_mark_write buf=vfio_save_cleanup  (0000:65:00.0)',
      '  live_migration-21338 [000]  1886.689603: sched_switch:         prev_comm=a prev_pid=1',
      'CPU:0 [EVENTS DROPPED]',
      'CPU 1 is empty',
    ].join('\n');
    const out = parseText(text, report);
    expect(out.malformed).toEqual([]);
    expect(out.records.map(shape)).toEqual(['marker vfio_save_setup  (0000:65:00.0)', 'marker vfio_save_cleanup  (0000:65:00.0)', 'lost cpu=0 count=undefined']);
    expect(out.skipped).toBe(2);
  });

  it("migscope's clock-sync marker becomes a clock-sync record", () => {
    const text = ['cpus=1', '            node-77    [000]  1177.238015: print:                tracing_mark_write: migscope-clocksync clock=mono trace_ns=1177238010123 wall_ns=1764110000123000000'].join('\n');
    const out = parseText(text, report);
    expect(out.records).toEqual([expect.objectContaining({ kind: 'clock-sync', clock: 'mono', traceNs: 1177238010123n, wallNs: 1764110000123000000n, comm: 'node', tid: 77 })]);
  });

  it('broken lines are counted with line numbers; neighbours are kept', () => {
    const text = [
      'cpus=2',
      '  live_migration-21294 [001]  1884.494548: sys_enter_pwrite64:   fd: 0x00000004, buf: 0x7fb2b80b6d20, count: 0x00000004, pos: 0x90000000000',
      '  live_migration-21294 [001]  1884.494551: sys_exit_pwrite64:    0xzz',
      '  live_migration-21294 [001]  1884.4945',
      '  live_migration-21294 [001]  1884.494560: sys_enter_pread64:    fd: 0x00000004, buf: 0x7fb2b80b6d20, count: 0x00000004',
      '  live_migration-21294 [001]  1884.494570: sys_enter_pread64:    fd: 0x00000004, buf: 0x7fb2b80b6d20, count: 0x00000008, pos: 0x90000000008',
      '  live_migration-21294 [001]  1884.494571: sys_exit_pread64:     0x8',
    ].join('\n');
    const out = parseText(text, report);
    expect(out.malformed.map((m) => m.src.line)).toEqual([3, 4, 5]);
    expect(out.records.map((r) => [shape(r), r.src.line])).toEqual([
      // the pwrite's exit was unreadable: completed, result unknown, when the thread moved on
      ['pwrite fd=4 off=90000000000 size=4 value=undefined ret=undefined', 2],
      ['pread fd=4 off=90000000008 size=8 value=undefined ret=8', 6],
    ]);
  });

  it('detection', () => {
    expect(detectTraceCmdReport(['cpus=2', ' qemu-system-x86-21293 [000]  1884.493584: sys_enter_ioctl:      fd: 0x00000004, cmd: 0x00003b6b, arg: 0x7ffd0b2ee780'])).toBe(true);
    expect(detectTraceCmdReport(['cpus=2', 'CPU:1 [1233 EVENTS DROPPED]'])).toBe(true);
    expect(detectTraceCmdReport(['# tracer: nop'])).toBe(false);
    expect(detectTraceCmdReport([' qemu-system-x86-19794   [001] .....  1868.003137: sys_ioctl(fd: 4, cmd: 0x3b6b, arg: 0x7ffd67f3c4f0)'])).toBe(false);
  });
});
