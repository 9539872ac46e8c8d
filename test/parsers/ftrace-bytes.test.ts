// The ftrace parser's byte fast path (parsers/ftrace-text.ts lineBytes, parsers/text/
// event-prefix-bytes.ts) must change nothing but speed: the same input through the line
// splitter with and without it gives the same sink calls in the same order, and the byte
// prefix scan agrees with the string scan on every line, including broken ones.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFtraceTextParser } from '../../parsers/ftrace-text.js';
import { createLineFeeder } from '../../parsers/lines.js';
import { newPrefixScan, scanEventPrefix } from '../../parsers/text/event-prefix.js';
import { scanEventPrefixBytes } from '../../parsers/text/event-prefix-bytes.js';
import type { LineParser, ParserSink } from '../../src/record/types.js';
import { fixturesDir, samplesDir } from '../fixtures/text/harness.js';

/** Every sink call, in order, as text (bigints spelled out). */
function run(input: string, fast: boolean, chunk = 1 << 16): { log: string[]; bytesLines: number } {
  const log: string[] = [];
  const j = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));
  const sink: ParserSink = {
    record: (r) => log.push(`record ${j(r)}`),
    skipped: (n = 1) => log.push(`skipped ${n}`),
    malformed: (p) => log.push(`malformed ${j(p)}`),
    clock: (c) => log.push(`clock ${c}`),
    host: (name, how) => log.push(`host ${name} ${how}`),
  };
  const parser = createFtraceTextParser('t.txt', sink);
  let bytesLines = 0;
  const counted = parser.lineBytes;
  const p: LineParser = fast
    ? {
        line: parser.line,
        end: parser.end,
        lineBytes: counted === undefined ? undefined : (b, s, e, n) => (bytesLines++, counted(b, s, e, n)),
      }
    : { line: parser.line, end: parser.end };
  const feeder = createLineFeeder(p, { file: 't.txt', sink });
  const buf = Buffer.from(input, 'latin1');
  for (let i = 0; i < buf.length; i += chunk) feeder.push(buf.subarray(i, i + chunk));
  feeder.end();
  return { log, bytesLines };
}

const P = '  live_migration-20838   (  20797) [001] .....  1873.634029: ';
const Q = ' qemu-system-x86-19794   [001] .....  1868.003137: ';

/** Lines of every kind the fast path decides on or must leave alone. */
const CRAFTED = [
  '# tracer: nop',
  '#',
  `${P}sched_switch: prev_comm=a prev_pid=1 prev_prio=120 prev_state=S ==> next_comm=b next_pid=2 next_prio=120`,
  `${P}sys_futex(uaddr: 0x7f0000001000, op: 0x80, val: 2, utime: 0, uaddr2: 0, val3: 0)`,
  `${P}sys_futex -> 0x0`,
  `${P}sys_pread64(fd: 0x1e, buf: 0x7f227bf6bd50, count: 8, pos: 0x90000000018)`,
  `${P}sys_pread64 -> 0x8`,
  `${P}sys_pwrite64(fd: 0x1e, buf: 0x7f227bf6bd50, count: 4, pos: 0x90000000000)\r`,
  `${P}sys_pwrite64 -> 0x4\r`,
  `${P}tracing_mark_write: vfio_update_pending  (0000:66:00.0) pending 0x8000`,
  'a continuation of the marker above',
  'junk after a non-print line',
  `${Q}sys_ioctl(fd: 4, cmd: 0x3b6b, arg: 0x7ffd67f3c4f0)`,
  `${Q}sys_ioctl -> 0x0`,
  `${Q}pwrite64_entry: (0x7f0686114470) fd=4 count=4 pos=0x90000000000 val_u32=3`,
  `${Q}not_a_probe: (but looks like one`,
  `${Q}word: no paren`,
  `${Q}${'w'.repeat(70)}: (0x1)`,
  `${Q}${'w'.repeat(64)}: (0x1)`,
  `${Q}sys_`,
  `${Q}sys_read`,
  `${Q}s`,
  `${Q}t`,
  ' qemu-system-x86-19794   [001] .....  1868.003137:',
  ' qemu-system-x86-19794   [001] .....  1868.003137: ',
  ' qemu-system-x86-19794   [001]',
  ' qemu-system-x86-19794   [001] .....  1868.003137 no colon',
  ' qemu [x] - 5 [001] .....  1868.003140: sched_wakeup: comm=a',
  ' we[ird-12 [000] ....  1868.003141: sched_wakeup: comm=a',
  '           <...>-12    (-------) [000] ....  1868.003142: sched_wakeup: comm=a',
  '           <...>-12    (-------) [000] ....  1868.003143: sys_read(fd: 3, buf: 0x1, count: 8)',
  '           <...>-12    (-------) [000] ....  1868.003144: sys_read -> 0x8',
  ' comm-1   [0000001] ....  1868.003145: sched_wakeup: comm=a',
  ' comm-1   [000] ' + ' '.repeat(30) + '1868.003146: sched_wakeup: comm=a',
  ' comm-1   [000] ....  1868.0031x7: sched_wakeup: comm=a',
  ' comm-1   [000] ....  1868.003147: sys_write(fd: 3, buf: 0x1, count: 8)',
  ' comm-1   [000] ....  1868.003146: sys_write -> 0x8',
  '',
  'CPU:1 [LOST 12 EVENTS]',
  ' comm-1   [001] ....  1868.003150: sched_wakeup: comm=a',
  '##### CPU 1 buffer started ####',
  ' -12 [000] ....  1868.003151: sched_wakeup: comm=a',
  'x-12 [000] ....  1868.003152: sched_wakeup: comm=a',
];

describe('ftrace text byte fast path', () => {
  it('gives the same sink calls as the string path on crafted lines, in chunks of any size', () => {
    const text = CRAFTED.join('\n') + '\n';
    const slow = run(text, false).log;
    expect(slow.some((l) => l.startsWith('skipped'))).toBe(true);
    expect(slow.some((l) => l.startsWith('malformed'))).toBe(true);
    expect(slow.some((l) => l.startsWith('record'))).toBe(true);
    for (const chunk of [1 << 16, 97, 13]) {
      const fast = run(text, true, chunk);
      expect(fast.bytesLines).toBeGreaterThan(0);
      expect(fast.log).toEqual(slow);
    }
  });

  const dirs = [join(fixturesDir), ...(samplesDir() === undefined ? [] : [join(samplesDir() ?? '', 'ftrace'), join(samplesDir() ?? '', 'uprobe')])];
  const files = dirs.flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.txt')).map((f) => join(d, f)));
  it.each(files)('gives the same sink calls as the string path on %s', (file) => {
    const text = readFileSync(file, 'latin1');
    expect(run(text, true).log).toEqual(run(text, false).log);
  });

  it('byte prefix scan agrees with the string scan on mutated lines', () => {
    // Deterministic mutations of real prefixes: every status (none, bad, ok) occurs.
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = ' -[]():.0123456789abc#';
    const seen = new Set<number>();
    const a = newPrefixScan();
    const b = newPrefixScan();
    for (let i = 0; i < 20_000; i++) {
      const base = CRAFTED[rnd(CRAFTED.length)] ?? '';
      const chars = [...base];
      for (let m = rnd(4); m > 0; m--) {
        const at = rnd(Math.max(1, Math.min(chars.length, 70)));
        if (rnd(2) === 0) chars.splice(at, 1);
        else chars.splice(at, 0, alphabet[rnd(alphabet.length)] ?? ' ');
      }
      const line = chars.join('').replace(/\r$/, '');
      const bytes = Buffer.from(`xx${line}\n`, 'latin1');
      const s = scanEventPrefix(line, a);
      const t = scanEventPrefixBytes(bytes, 2, bytes.length - 1, b);
      seen.add(s);
      expect([line, t]).toEqual([line, s]);
      if (s === 2) expect([line, b]).toEqual([line, a]);
    }
    expect([...seen].sort()).toEqual([0, 1, 2]);
  });
});
