// Input accounting (issue #16): timestamps that go backwards on a CPU (ftrace, trace-cmd)
// or a thread (bpftrace), records seen twice, a last line cut short, and bpftrace's newer
// JSON lost-events shape. Each is reported with its line and handled (parsers/stream-order.ts):
// duplicates dropped and counted, backwards steps kept with their time held, and all of
// it reaches the analysis summary (input.duplicates, input.timeBackwards, input.problems).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createBpftraceParser } from '../../parsers/bpftrace.js';
import { createFtraceTextParser } from '../../parsers/ftrace-text.js';
import { createTraceCmdReportParser } from '../../parsers/tracecmd-report.js';
import { feedLines } from '../../parsers/lines.js';
import { FORMATS } from '../../parsers/index.js';
import { ORDER_WINDOW } from '../../parsers/stream-order.js';
import { analyzeInputs } from '../../src/cli/pipeline.js';
import { renderJson } from '../../src/report/json.js';
import type { Analysis } from '../../src/analysis/types.js';
import type { LineParser, ParserSink } from '../../src/record/types.js';
import { collector, linesOf, parseText, samplesDir } from '../fixtures/text/harness.js';

const S = samplesDir() ?? '';
const ftrace = (file: string, sink: ParserSink): LineParser => createFtraceTextParser(file, sink);
const report = (file: string, sink: ParserSink): LineParser => createTraceCmdReportParser(file, sink);
const bpf = (file: string, sink: ParserSink): LineParser => createBpftraceParser(file, sink);

/** The real trace_pipe capture of a v1 save (65 event lines, one QEMU, two CPUs). */
const PIPE = linesOf(readFileSync(join(S, 'ftrace/ftrace-trace_pipe-tgid.txt'), 'utf8'));
/** Two captures that overlap: lines 1–40, then lines 31–65 again (10 lines seen twice). */
const OVERLAP = [...PIPE.slice(0, 40), ...PIPE.slice(30)];

async function analyze(text: string, format: string): Promise<Analysis> {
  async function* stdin(): AsyncIterable<Buffer> {
    yield Buffer.from(text);
  }
  return analyzeInputs([{ path: '-', format }], { formats: FORMATS, stdin: stdin() });
}

describe('duplicated records', () => {
  it('ftrace: overlapping captures — the repeated lines are dropped, each reported with the line it repeats', () => {
    const clean = parseText(PIPE.join('\n'), ftrace);
    const out = parseText(OVERLAP.join('\n'), ftrace);
    const dups = out.malformed.filter((p) => p.kind === 'duplicate');
    expect(dups.map((p) => p.src.line)).toEqual([41, 42, 43, 44, 45, 46, 47, 48, 49, 50]);
    expect(dups[0]?.message).toMatch(/same record as line 31 \(CPU 0/);
    expect(dups[0]?.tsNs).toBe(clean.records.find((r) => r.src.line === 31)?.tsNs ?? -1n);
    // Not also reported as time going backwards: the repeat is recognised as such.
    expect(out.malformed.filter((p) => p.kind !== 'duplicate')).toEqual([]);
    // The same records as the clean capture (line numbers shift by the 10 repeated lines).
    const strip = (rs: typeof out.records) => rs.map((r) => ({ ...r, src: undefined }));
    expect(strip(out.records)).toEqual(strip(clean.records));
  });

  it('ftrace: a line repeated right after itself is a duplicate; the same text at the same µs with another line between is two events', () => {
    const a = '  live_migration-20582   (  20541) [000] .....  1873.884991: sys_pread64 -> 0x8';
    const enter = '  live_migration-20582   (  20541) [000] .....  1873.884991: sys_pread64(fd: 4, buf: 0x7f41f2142d50, count: 8, pos: 0x90000000018)';
    const first = '  live_migration-20582   (  20541) [000] .....  1873.884990: sys_pread64(fd: 4, buf: 0x7f41f2142e40, count: 8, pos: 0x90000000010)';
    const repeated = parseText([first, a, a].join('\n'), ftrace);
    expect(repeated.malformed.map((p) => [p.kind, p.src.line])).toEqual([['duplicate', 3]]);
    expect(repeated.records).toHaveLength(1);
    // exit, next entry, identical exit within one µs (ftrace text rounds to µs): all real
    const real = parseText([first, a, enter, a].join('\n'), ftrace);
    expect(real.malformed).toEqual([]);
    expect(real.records.map((r) => r.kind === 'access' && r.ret)).toEqual([8, 8]);
  });

  it('trace-cmd report: a repeated block of lines is dropped and counted', () => {
    const lines = [
      'cpus=2',
      ' live_migration-21294 [001]  1884.494548: sys_enter_pwrite64:   fd: 0x00000004, buf: 0x7fb2b80b6d20, count: 0x00000004, pos: 0x90000000000',
      ' live_migration-21294 [001]  1884.494551: sys_exit_pwrite64:    0x4',
      ' live_migration-21294 [001]  1884.494560: sys_enter_pread64:    fd: 0x00000004, buf: 0x7fb2b80b6d20, count: 0x00000008, pos: 0x90000000008',
      ' live_migration-21294 [001]  1884.494561: sys_exit_pread64:     0x8',
    ];
    const out = parseText([...lines, ...lines.slice(1)].join('\n'), report);
    expect(out.malformed.map((p) => [p.kind, p.src.line])).toEqual([
      ['duplicate', 6],
      ['duplicate', 7],
      ['duplicate', 8],
      ['duplicate', 9],
    ]);
    expect(out.records).toHaveLength(2);
  });

  it('bpftrace: the same record twice (text, and a JSON line repeated) is dropped once per repeat', () => {
    const rec = '1021527156133 pread64 pid=22500 tid=22526 fd=3 off=0x90000001000 count=8192 ret=8192 val=0x1 lat_ns=5 comm=live_migration';
    const next = '1021527156200 pread64 pid=22500 tid=22526 fd=3 off=0x90000001000 count=8192 ret=8192 val=0x1 lat_ns=5 comm=live_migration';
    const text = parseText([rec, next, rec, next].join('\n'), bpf);
    expect(text.malformed.map((p) => [p.kind, p.src.line])).toEqual([
      ['duplicate', 3],
      ['duplicate', 4],
    ]);
    expect(text.records).toHaveLength(2);
    const json = (l: string) => JSON.stringify({ type: 'printf', data: `${l}\n` });
    const j = parseText([json(rec), json(rec), json(next)].join('\n'), bpf);
    expect(j.malformed.map((p) => [p.kind, p.src.line])).toEqual([['duplicate', 2]]);
    expect(j.records).toHaveLength(2);
  });

  it('pipeline: the overlap counts no byte twice and the summary and JSON say what was dropped', async () => {
    const clean = await analyze(PIPE.join('\n') + '\n', 'ftrace');
    const a = await analyze(OVERLAP.join('\n') + '\n', 'ftrace');
    // Bytes moved, as every device's timeline counts them (12,288 in this capture).
    const bytes = (x: Analysis) => x.devices.flatMap((d) => d.timeline.map((iv) => iv.bytes)).reduce((n, b) => n + b, 0);
    expect(bytes(clean)).toBe(12288);
    expect(bytes(a)).toBe(12288);
    expect([a.input.duplicates, a.input.timeBackwards, a.input.malformed]).toEqual([10, 0, 0]);
    expect([clean.input.duplicates, clean.input.timeBackwards]).toEqual([0, 0]);
    const doc = JSON.parse(renderJson(a)) as { input: { duplicates: number; problems: { kind: string; src: { line: number }; tsNs: string }[] } };
    expect(doc.input.duplicates).toBe(10);
    expect(doc.input.problems[0]).toMatchObject({ kind: 'duplicate', src: { file: '<stdin>', line: 41 } });
    expect(doc.input.problems[0]?.tsNs).toMatch(/^\d+$/);
  });
});

describe('time going backwards', () => {
  it('ftrace: a step back on one CPU is reported with both lines; the record is kept, its time held so no duration is negative', () => {
    const l = (cpu: number, ts: string, body: string) => `  live_migration-20582   (  20541) [00${cpu}] .....  ${ts}: ${body}`;
    const text = [
      l(0, '1873.884990', 'sys_pread64(fd: 4, buf: 0x7f41f2142e40, count: 8, pos: 0x90000000010)'),
      l(0, '1873.884991', 'sys_pread64 -> 0x8'),
      l(1, '1873.884500', 'sys_pread64(fd: 4, buf: 0x7f41f2142e40, count: 8, pos: 0x90000000018)'), // another CPU: not a step
      l(1, '1873.884501', 'sys_pread64 -> 0x8'),
      l(0, '1873.884000', 'sys_pwrite64(fd: 4, buf: 0x7f41f2142e40, count: 4, pos: 0x90000000000)'), // CPU 0 steps back
      l(0, '1873.884002', 'sys_pwrite64 -> 0x4'),
      l(0, '1873.885000', 'sys_pread64(fd: 4, buf: 0x7f41f2142e40, count: 4, pos: 0x90000000000)'),
      l(0, '1873.885001', 'sys_pread64 -> 0x4'),
    ].join('\n');
    const out = parseText(text, ftrace);
    expect(out.malformed).toHaveLength(1);
    const p = out.malformed[0];
    expect(p).toMatchObject({ kind: 'time-backwards', src: { line: 5 }, tsNs: 1873_884000_000n });
    expect(p?.message).toMatch(/CPU 0: 1873\.884000000 s after 1873\.884991000 s at line 2/);
    // kept in file order, held at CPU 0's latest time until the CPU passes it
    expect(out.records.map((r) => [r.src.line, r.tsNs])).toEqual([
      [1, 1873_884990_000n],
      [3, 1873_884500_000n],
      [5, 1873_884991_000n],
      [7, 1873_885000_000n],
    ]);
  });

  it('bpftrace: per thread — two threads printed out of order are fine, one thread going back is reported', () => {
    const r = (ts: number, tid: number) => `${ts} pread64 pid=1 tid=${tid} fd=3 off=0x90000000000 count=4 ret=4 val=0x3 lat_ns=5 comm=q`;
    const out = parseText([r(200, 11), r(100, 12), r(300, 11), r(250, 11)].join('\n'), bpf);
    expect(out.malformed.map((p) => [p.kind, p.src.line, p.tsNs])).toEqual([['time-backwards', 4, 250n]]);
    expect(out.malformed[0]?.message).toMatch(/thread 11/);
    expect(out.records.map((x) => x.tsNs)).toEqual([200n, 100n, 300n, 300n]);
  });

  it('a replay that starts further back than the window is a backwards step, and the message says duplicates were not sought further', () => {
    const l = (i: number) => `  live_migration-20582   (  20541) [000] .....  ${(1000 + i / 1e6).toFixed(6)}: tracing_mark_write: vfio_update_pending  (0000:65:00.0) pending 0x${i.toString(16)}`;
    const first = Array.from({ length: ORDER_WINDOW + 10 }, (_, i) => l(i));
    const out = parseText([...first, l(0)].join('\n'), ftrace);
    expect(out.malformed.map((p) => p.kind)).toEqual(['time-backwards']);
    expect(out.malformed[0]?.message).toMatch(new RegExp(`last ${ORDER_WINDOW} lines only`));
  });

  it('pipeline: counted in input.timeBackwards, and no state interval of the timeline has a negative duration', async () => {
    // The real capture with the time of QEMU's "set_state state 2" (line 33) stepped back
    // before its "state 3" (line 12), as a clock glitch would.
    const glitch = PIPE.map((l, i) => (i === 32 ? l.replace('1873.887207', '1873.882000') : l));
    expect(glitch[32]).toContain('1873.882000: tracing_mark_write: vfio_migration_set_state');
    const a = await analyze(glitch.join('\n') + '\n', 'ftrace');
    expect(a.input.timeBackwards).toBe(1);
    expect(a.input.problems).toMatchObject([{ kind: 'time-backwards', src: { line: 33 } }]);
    const intervals = a.devices.flatMap((d) => d.timeline);
    expect(intervals.length).toBeGreaterThan(1);
    for (const iv of intervals) if (iv.startNs !== undefined && iv.endNs !== undefined) expect(iv.endNs >= iv.startNs).toBe(true);
  });
});

describe('a last line cut short', () => {
  const feed = async (text: string, make: (f: string, s: ParserSink) => LineParser) => {
    const { sink, out } = collector();
    await feedLines([Buffer.from(text)], make('cut.txt', sink), { file: 'cut.txt', sink });
    return out;
  };

  it('ftrace: an unreadable last line without a newline is reported as truncated, with its line number and the time before it', async () => {
    const text = PIPE.slice(0, 9).join('\n') + '\n' + '  live_migration-20582   (  20541) [000] .....  1873.8827';
    const out = await feed(text, ftrace);
    expect(out.malformed).toHaveLength(1);
    expect(out.malformed[0]).toMatchObject({ kind: 'truncated', src: { file: 'cut.txt', line: 10 }, tsNs: 1873_882788_000n });
    expect(out.malformed[0]?.message).toMatch(/ends in the middle of its last line/);
    // the same bytes followed by a newline: a garbled line, not a cut one
    const garbled = await feed(text + '\n', ftrace);
    expect(garbled.malformed.map((p) => p.kind)).toEqual([undefined]);
    // a cut that still parses is kept as read
    const whole = await feed(PIPE.slice(0, 9).join('\n'), ftrace);
    expect(whole.malformed).toEqual([]);
    expect(whole.records).toHaveLength(5);
  });

  it('trace-cmd report and bpftrace: the same', async () => {
    const rep = await feed('cpus=2\n live_migration-21294 [001]  1884.494548: sys_enter_pwrite64:   fd: 0x00000004, buf: 0x7fb2b80b6d20, count: 0x0000', report);
    expect(rep.malformed).toMatchObject([{ kind: 'truncated', src: { line: 2 } }]);
    const b = await feed('1021527156133 pread64 pid=22500 tid=22526 fd=3 off=0x90000001000 count=8192 ret=8192 val=0x1 comm=q\n1021527156200 pread64 pid=22500 tid=2252', bpf);
    expect(b.malformed).toMatchObject([{ kind: 'truncated', src: { line: 2 }, tsNs: 1021527156133n }]);
  });
});

describe('bpftrace JSON lost events', () => {
  it('the newer {"type":"lost_events","count":N} is counted like 0.17\'s {"data":{"events":N}}', async () => {
    const out = parseText(['{"type":"lost_events","count":17}', '{"type": "lost_events", "data": {"events": 9}}', '{"type":"lost_events","count":"x"}'].join('\n'), bpf);
    expect(out.malformed).toEqual([]);
    expect(out.records).toMatchObject([
      { kind: 'lost-events', count: 17, src: { line: 1 } },
      { kind: 'lost-events', count: 9, src: { line: 2 } },
      { kind: 'lost-events', count: undefined, src: { line: 3 } },
    ]);
    const a = await analyze('{"type":"attached_probes","data":{"probes":3}}\n{"type":"lost_events","count":17}\n', 'bpftrace');
    expect(a.input.lostEvents).toBe(17);
    expect(a.input.gaps).toHaveLength(1);
  });
});

describe('input problems and the certainty of findings next to them (check/input-health.ts)', () => {
  // examples/failed-migration.trace: V1-REFUSE-VALID on the failed write of line 73 (evidence lines 72, 73).
  const example = readFileSync(join(import.meta.dirname, '../../examples/failed-migration.trace'), 'utf8').split('\n');
  async function refuseValid(after: number, extra: string) {
    const lines = [...example.slice(0, after), extra, ...example.slice(after)];
    async function* stdin(): AsyncIterable<Buffer> {
      yield Buffer.from(lines.join('\n'));
    }
    const a = await analyzeInputs([{ path: '-', format: 'bpftrace' }], { formats: FORMATS, stdin: stdin() });
    return { a, f: a.findings.find((x) => x.rule === 'V1-REFUSE-VALID') };
  }

  it('a backwards time step on the thread right after the evidence makes the finding uncertain and is cited', async () => {
    const { a, f } = await refuseValid(73, '1671331900000 pread64 pid=7813 tid=7831 fd=4 off=0x90000000000 count=4 ret=4 val=0x3 lat_ns=1 comm=live_migration');
    expect(a.input.timeBackwards).toBe(1);
    expect(f?.certainty).toBe('uncertain');
    expect(f?.evidence.at(-1)).toMatchObject({ src: { line: 74 }, what: expect.stringMatching(/time goes backwards next to the evidence/) });
  });

  it('an exact duplicate of the evidence is dropped and leaves the finding certain (nothing is missing)', async () => {
    const { a, f } = await refuseValid(73, example[72] ?? '');
    expect(a.input.duplicates).toBe(1);
    expect(f?.certainty).toBe('certain');
    expect(a.findings.filter((x) => x.rule === 'V1-REFUSE-VALID')).toHaveLength(1);
  });
});
