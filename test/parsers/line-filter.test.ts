// The line filter (parsers/line-filter.ts) must change nothing but which thread skips a
// line: the same input read in filtered blocks gives the ftrace parser's sink the same
// calls, in the same order and with the same line numbers, as the line splitter alone;
// skipped lines arrive as counts (merged here, since the splitter reports them one by one).
// Blocks far smaller than a line, lines cut by blocks, non-ASCII blocks, CRLF, a latency
// header in the middle and an unterminated last line all go through it. The worker thread
// that runs it for the CLI is tested in test/cli/line-filter-cli.test.ts.

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createFtraceTextParser } from '../../parsers/ftrace-text.js';
import { createLineFeeder } from '../../parsers/lines.js';
import { createBlockReader, feedBlock, FILTER_BLOCK_BYTES, skippableShare } from '../../parsers/line-filter.js';
import type { LineParser } from '../../src/record/types.js';
import { sinkLog } from '../helpers/sink-log.js';
import { fixturesDir, samplesDir } from '../fixtures/text/harness.js';
import { CRAFTED, P, Q } from '../helpers/ftrace-crafted.js';

const tmp = mkdtempSync(join(tmpdir(), 'migscope-line-filter-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The line splitter alone (what every input had before the filter). */
function plain(path: string): string[] {
  const { sink, log } = sinkLog();
  const feeder = createLineFeeder(createFtraceTextParser('t.txt', sink), { file: 't.txt', sink });
  const buf = readFileSync(path);
  for (let i = 0; i < buf.length; i += 1 << 16) feeder.push(buf.subarray(i, i + (1 << 16)));
  feeder.end();
  return log;
}

/** Through the filter in blocks of `blockBytes`; also how many lines the filter took out. */
function filtered(path: string, blockBytes: number): { log: string[]; lines: number; kept: number; rawBlocks: number; filteredBlocks: number; bytes: number } {
  const { sink, log } = sinkLog();
  const parser: LineParser = createFtraceTextParser('t.txt', sink);
  const feeder = createLineFeeder(parser, { file: 't.txt', sink });
  const reader = createBlockReader(path, blockBytes);
  const buf = Buffer.alloc(blockBytes);
  let lines = 0;
  let kept = 0;
  let rawBlocks = 0;
  let filteredBlocks = 0;
  let bytes = 0;
  try {
    for (let b = reader.next(buf); b !== undefined; b = reader.next(buf)) {
      lines += b.lines;
      bytes += b.bytes;
      if (b.kind === 'raw') rawBlocks++;
      else {
        filteredBlocks++;
        kept += b.kept;
      }
      feedBlock(b, feeder, parser);
    }
  } finally {
    reader.close();
  }
  feeder.end();
  return { log, lines, kept, rawBlocks, filteredBlocks, bytes };
}

function file(name: string, text: string | Buffer): string {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
}

const BLOCKS = [64, 97, 300, 4096, FILTER_BLOCK_BYTES];

describe('line filter', () => {
  it('gives the parser the same calls as the line splitter on crafted lines, in blocks of any size', () => {
    const path = file('crafted.txt', CRAFTED.join('\n') + '\n');
    const want = plain(path);
    expect(want.some((l) => l.startsWith('skipped'))).toBe(true);
    expect(want.some((l) => l.startsWith('malformed'))).toBe(true);
    expect(want.some((l) => l.startsWith('record'))).toBe(true);
    for (const size of BLOCKS) {
      const got = filtered(path, size);
      expect(got.log).toEqual(want);
      expect(got.lines).toBe(CRAFTED.length);
      expect(got.bytes).toBe(readFileSync(path).length);
    }
    // With blocks that hold whole lines, lines were taken out (not all sent raw).
    const big = filtered(path, FILTER_BLOCK_BYTES);
    expect(big.filteredBlocks).toBe(1);
    expect(big.kept).toBeLessThan(big.lines);
  });

  it('a skipped line between a print and a prefix-less line ends the print, as in the splitter', () => {
    // The prefix-less line after the marker continues it; after a skipped sched_switch it does not.
    const lines = [
      '# tracer: nop',
      `${P}tracing_mark_write: vfio_update_pending  (0000:66:00.0) pending 0x8000`,
      'rest of the marker',
      `${P}tracing_mark_write: vfio_update_pending  (0000:66:00.0) pending 0x4000`,
      `${P}sched_switch: prev_comm=a prev_pid=1 prev_prio=120 prev_state=S ==> next_comm=b next_pid=2 next_prio=120`,
      'not a continuation any more',
    ];
    const path = file('print.txt', lines.join('\n') + '\n');
    const want = plain(path);
    expect(want.filter((l) => l.startsWith('malformed'))).toHaveLength(1);
    expect(want.find((l) => l.startsWith('malformed'))).toContain('"line":6');
    expect(filtered(path, FILTER_BLOCK_BYTES).log).toEqual(want);
  });

  it('sends raw what it cannot filter: a line longer than a block, non-ASCII, CRLF, a latency header, a cut last line', () => {
    const skip = `${P}sched_switch: prev_comm=a prev_pid=1 prev_prio=120 prev_state=S ==> next_comm=b next_pid=2 next_prio=120`;
    const read = `${Q}sys_read(fd: 3, buf: 0x1, count: 8)`;
    const text = [
      '# tracer: nop',
      ...Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? read : skip)),
      `${Q}sched_wakeup: comm=${'x'.repeat(5000)}`, // longer than the small blocks
      ...Array.from({ length: 40 }, () => `${skip}\r`),
      ' qemu-systém-19794   [001] .....  1868.003200: sched_wakeup: comm=é', // non-ASCII
      ...Array.from({ length: 40 }, () => skip),
      '# irqsoff latency trace v1.1.5 on 6.1.0', // from here nothing is skipped
      ...Array.from({ length: 20 }, () => skip),
      ' qemu-sys-20585     1..... 164886us+: sys_ioctl(fd: 4)',
    ].join('\n') + `\n${skip}`; // no newline at the end
    const path = file('mixed.txt', Buffer.from(text, 'utf8'));
    const want = plain(path);
    expect(want.some((l) => l.includes('latency-format'))).toBe(true);
    expect(want.some((l) => l.includes('cut short') || l.includes('truncated'))).toBe(true);
    for (const size of [97, 300, 4096, FILTER_BLOCK_BYTES]) {
      const got = filtered(path, size);
      expect(got.log).toEqual(want);
      expect(got.rawBlocks).toBeGreaterThan(0);
    }
  });

  it('a latency header in a block sent raw (not ASCII) stops the filtering of the blocks after it', () => {
    const skip = `${P}sched_switch: prev_comm=a prev_pid=1 prev_prio=120 prev_state=S ==> next_comm=b next_pid=2 next_prio=120`;
    const text = [' qemu-systém-19794   [001] .....  1868.003200: sched_wakeup: comm=é', '# irqsoff latency trace v1.1.5 on 6.1.0', ...Array.from({ length: 200 }, () => skip)].join('\n') + '\n';
    const path = file('latency-raw.txt', Buffer.from(text, 'utf8'));
    const want = plain(path);
    const got = filtered(path, 4096);
    expect(got.rawBlocks).toBeGreaterThan(1);
    expect(got.filteredBlocks).toBe(0);
    expect(got.log).toEqual(want);
  });

  const dirs = [fixturesDir, join(fixturesDir, '../lab/ftrace'), ...(samplesDir() === undefined ? [] : [join(samplesDir() ?? '', 'ftrace'), join(samplesDir() ?? '', 'uprobe')])];
  const files = dirs.flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.txt')).map((f) => join(d, f)));
  it.each(files)('gives the same sink calls as the splitter on %s', (path) => {
    const want = plain(path);
    expect(filtered(path, FILTER_BLOCK_BYTES).log).toEqual(want);
    expect(filtered(path, 4096).log).toEqual(want);
  });

  it('tells a busy host\'s trace from one of migration traffic by its first lines (skippableShare)', () => {
    const busy = readFileSync(file('busy.txt', CRAFTED.join('\n') + '\n'));
    expect(skippableShare(busy)).toBeGreaterThan(0.1);
    const lab = readFileSync(join(fixturesDir, '../lab/ftrace/clean-live-migration.txt'));
    expect(skippableShare(lab)).toBeLessThan(skippableShare(busy));
    expect(skippableShare(Buffer.from('no newline at all'))).toBe(0);
  });
});
