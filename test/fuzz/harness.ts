// Hostile-input fuzzing: the corpus (the real samples), mutations of it, and checked runs
// of every parser in parsers/index.ts and of the whole analyze pipeline. Shared by the
// vitest suite (test/fuzz/*.test.ts, a bounded sample every run) and the long runner
// (test/fuzz/run.ts → `npm run fuzz -- --runs N`).
//
// What every run checks (issue 7, "Hostile input"):
// - no exception escapes, except the documented ones for unusable files
//   (UnusableInputError / TraceDatError from the parsers, InputError from analyzeInputs);
// - bounded work: the sink's calls are counted against a budget proportional to the input
//   (a runaway loop fails the case instead of hanging the suite; no wall-clock asserts);
// - every problem says where: a line number (text) or a byte offset (binary), and a
//   message of bounded length;
// - every record says where it came from.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { FORMATS } from '../../parsers/index.js';
import { UnusableInputError, type InputFormat } from '../../parsers/format.js';
import { feedLines } from '../../parsers/lines.js';
import { bufferSource, TraceDatError } from '../../parsers/tracedat/byte-source.js';
import { parseTraceDatSource } from '../../parsers/tracedat/index.js';
import { checkHostName } from '../../parsers/text/host-name.js';
import type { InputProblem, ParserSink, Source, TraceRecord } from '../../src/record/types.js';

// ---------------------------------------------------------------- corpus

/** The in-repo copy of the recorded samples (test/fixtures/samples), or $MIGSCOPE_SAMPLES. */
export function samplesDir(): string | undefined {
  // From the sources (vitest) or from dist/test/fuzz (npm run fuzz): the same repo copy.
  const env = process.env['MIGSCOPE_SAMPLES'];
  const candidates = env !== undefined ? [env] : [resolve(import.meta.dirname, '../fixtures/samples'), resolve(import.meta.dirname, '../../../test/fixtures/samples')];
  return candidates.find((c) => existsSync(join(c, 'README.md')));
}

export interface Seed {
  readonly name: string;
  /** The FORMATS entry that reads it. */
  readonly format: string;
  readonly bytes: Buffer;
}

function formatOfSample(dir: string, file: string): string | undefined {
  if (file.endsWith('.dat')) return 'trace.dat';
  if (dir === 'bpftrace' && !file.endsWith('stderr.txt')) return 'bpftrace';
  if (dir === 'ftrace' && file.startsWith('ftrace-trace') && !file.includes('all-clocks')) return 'ftrace';
  if (dir === 'uprobe' && file === 'uprobe-trace-libc.txt') return 'ftrace';
  if ((dir === 'trace-cmd' || dir === 'uprobe') && /\.report(-R|-t|-l|-cpu0)?\.txt$/.test(file)) return 'trace-cmd-report';
  return undefined;
}

let corpusCache: Seed[] | undefined;

/** The real samples (and the repo's text fixtures), each with the format that reads it. */
export function corpus(): Seed[] {
  if (corpusCache !== undefined) return corpusCache;
  const out: Seed[] = [];
  const dir = samplesDir();
  if (dir !== undefined) {
    for (const sub of ['ftrace', 'bpftrace', 'trace-cmd', 'uprobe']) {
      const p = join(dir, sub);
      if (!existsSync(p)) continue;
      for (const f of readdirSync(p).sort()) {
        const format = formatOfSample(sub, f);
        if (format === undefined) continue;
        const bytes = readFileSync(join(p, f));
        // The default-zstd v7 sample is 1 MB of kallsyms: keep it, it is the real thing.
        out.push({ name: `${sub}/${f}`, format, bytes });
      }
    }
  }
  // Source tree (vitest) or dist/test/fuzz (the compiled runner): the fixtures are not compiled.
  const fixtures = [resolve(import.meta.dirname, '../fixtures/text'), resolve(import.meta.dirname, '../../../test/fixtures/text')].find((d) => existsSync(join(d, 'qemu-log.txt'))) ?? '';
  const qemu = join(fixtures, 'qemu-log.txt');
  if (existsSync(qemu)) out.push({ name: 'fixtures/qemu-log.txt', format: 'qemu-log', bytes: readFileSync(qemu) });
  for (const f of ['ftrace-malformed.txt', 'ftrace-newer-kernel-user-data.txt', 'ftrace-old-kernel-bare-hex.txt', 'ftrace-syscalls-with-uprobe.txt']) {
    const p = join(fixtures, f);
    if (existsSync(p)) out.push({ name: `fixtures/${f}`, format: 'ftrace', bytes: readFileSync(p) });
  }
  // The QEMU/libvirt/QMP inputs (issue 11): fixtures built from QEMU's and libvirt's
  // formats, and the real QEMU lab's recording.
  const qemuDir = [resolve(import.meta.dirname, '../fixtures/qemu'), resolve(import.meta.dirname, '../../../test/fixtures/qemu')].find((d) => existsSync(join(d, 'README.md')));
  if (qemuDir !== undefined) {
    for (const [f, format] of [
      ['libvirt-destination.log', 'libvirt-log'],
      ['qmp-transcript.jsonl', 'qmp'],
      ['stap.txt', 'qemu-stap'],
      ['log-iso.txt', 'qemu-log'],
      ['simpletrace-v4.bin', 'simpletrace'],
    ] as const) {
      const p = join(qemuDir, f);
      if (existsSync(p)) out.push({ name: `fixtures/qemu/${f}`, format, bytes: readFileSync(p) });
    }
  }
  corpusCache = out;
  return out;
}

export function formatByName(name: string): InputFormat {
  const f = FORMATS.find((x) => x.name === name);
  if (f === undefined) throw new Error(`no format ${name}`);
  return f;
}

// ---------------------------------------------------------------- mutations

/** Byte strings that parsers are likely to trip over. */
const NASTY: readonly Buffer[] = [
  '\0', '\0\0\0\0', '\r', '\r\n', '\n', '\n\n\n', '\t', '\x1b[31m', '\x7f', ' ', '\u2028', '\ufeff',
  '{', '}', '[', ']', '(', ')', '"', '\\', ':', ': ', ', ', '=', '-', '#', '@', '0x', '-0x',
  ' -> 0x', 'sys_pread64(', 'sys_pwrite64(fd: ', 'sys_ioctl -> ', 'tracing_mark_write: ', ': (0x',
  'pos: 0x90000000000', 'count: 0x2000', '#####', '##### CPU 99999999 buffer started ####',
  'CPU:0 [LOST 999999999999999999999 EVENTS]', 'CPU:1 [EVENTS DROPPED]', '[LOST EVENTS]',
  '# migscope-capture v999', '# tracer: nop', 'cpus=2', 'Attaching 1 probe...', 'Lost 18446744073709551615 events',
  '{"type": "printf", "data": "', '{"type": "lost_events", "data": {"events": 1e309}}', '{"type":', '"\\uffffffc3',
  '99999999999999999999999999999999', '0xffffffffffffffffffffffffffffffffffff', '-9223372036854775808', '1e308', 'NaN',
  'vfio_migration_set_state  (0000:65:00.0) state 7', '4711@1608130131.000001:vfio_',
  'pread64 pid=1 tid=1 fd=4 off=0x90000000000 count=4 ret=4 val=0x3 lat_ns=1 comm=q',
  ' [000] .....  1.000000: ', '-1 [000] ', '(-------)',
].map((s) => Buffer.from(s, 'utf8'));

/** Invalid or awkward UTF-8: lone continuation, truncated sequences, overlong, surrogate, > U+10FFFF. */
const BAD_UTF8: readonly Buffer[] = [
  [0x80], [0xbf], [0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80], [0xff], [0xfe, 0xff], [0xef, 0xbf, 0xbd],
].map((b) => Buffer.from(b));

export type Mutation =
  | { readonly t: 'flip'; readonly at: number; readonly bit: number }
  | { readonly t: 'set'; readonly at: number; readonly byte: number }
  | { readonly t: 'truncate'; readonly at: number }
  | { readonly t: 'delete'; readonly at: number; readonly len: number }
  | { readonly t: 'splice'; readonly from: number; readonly len: number; readonly to: number }
  | { readonly t: 'insert'; readonly at: number; readonly what: number }
  | { readonly t: 'utf8'; readonly at: number; readonly what: number }
  | { readonly t: 'control'; readonly at: number; readonly byte: number; readonly count: number }
  | { readonly t: 'number'; readonly at: number; readonly width: 2 | 4 | 8; readonly value: 'max' | 'half' | 'zero' | 'small' }
  | { readonly t: 'longline'; readonly at: number; readonly len: number; readonly byte: number }
  | { readonly t: 'deepjson'; readonly at: number; readonly depth: number; readonly open: string }
  | { readonly t: 'crlf' };

const pos = fc.nat({ max: 0x7fffffff });

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant('flip' as const), at: pos, bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('set' as const), at: pos, byte: fc.integer({ min: 0, max: 255 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('truncate' as const), at: pos }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('delete' as const), at: pos, len: fc.integer({ min: 1, max: 4096 }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('splice' as const), from: pos, len: fc.integer({ min: 1, max: 8192 }), to: pos }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('insert' as const), at: pos, what: fc.nat({ max: NASTY.length - 1 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('utf8' as const), at: pos, what: fc.nat({ max: BAD_UTF8.length - 1 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('control' as const), at: pos, byte: fc.integer({ min: 0, max: 31 }), count: fc.integer({ min: 1, max: 64 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('number' as const),
      at: pos,
      width: fc.constantFrom(2 as const, 4 as const, 8 as const),
      value: fc.constantFrom('max' as const, 'half' as const, 'zero' as const, 'small' as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('longline' as const),
      at: pos,
      // Past MAX_LINE_BYTES (1 MiB) now and then; mostly long but under it.
      len: fc.oneof(fc.integer({ min: 1000, max: 200_000 }), fc.constant((1 << 20) + 17)),
      byte: fc.constantFrom(0x41, 0x20, 0x30, 0x2d, 0x7b, 0x5b, 0x28, 0xff),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('deepjson' as const), at: pos, depth: fc.integer({ min: 1, max: 100_000 }), open: fc.constantFrom('[', '{"a":', '{"type": "printf", "data": [') }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('crlf' as const) }) },
);

/** Start of the line holding `at` (so line-level mutations land at a line start). */
function lineStart(b: Buffer, at: number): number {
  const nl = b.lastIndexOf(0x0a, at - 1);
  return nl < 0 ? 0 : nl + 1;
}

export function applyMutation(b: Buffer, m: Mutation): Buffer {
  const n = b.length;
  const at = (x: number): number => (n === 0 ? 0 : x % (n + 1));
  const atIn = (x: number): number => (n === 0 ? 0 : x % n);
  switch (m.t) {
    case 'flip': {
      if (n === 0) return b;
      const c = Buffer.from(b);
      const i = atIn(m.at);
      c[i] = (c[i] ?? 0) ^ (1 << m.bit);
      return c;
    }
    case 'set': {
      if (n === 0) return b;
      const c = Buffer.from(b);
      c[atIn(m.at)] = m.byte;
      return c;
    }
    case 'truncate':
      return b.subarray(0, at(m.at));
    case 'delete': {
      const i = at(m.at);
      return Buffer.concat([b.subarray(0, i), b.subarray(Math.min(n, i + m.len))]);
    }
    case 'splice': {
      const from = atIn(m.from);
      const piece = b.subarray(from, Math.min(n, from + m.len));
      const to = at(m.to);
      return Buffer.concat([b.subarray(0, to), piece, b.subarray(to)]);
    }
    case 'insert': {
      const i = at(m.at);
      return Buffer.concat([b.subarray(0, i), NASTY[m.what] ?? Buffer.alloc(0), b.subarray(i)]);
    }
    case 'utf8': {
      const i = at(m.at);
      return Buffer.concat([b.subarray(0, i), BAD_UTF8[m.what] ?? Buffer.alloc(0), b.subarray(i)]);
    }
    case 'control': {
      const i = at(m.at);
      return Buffer.concat([b.subarray(0, i), Buffer.alloc(m.count, m.byte), b.subarray(i)]);
    }
    case 'number': {
      // A huge (or zero) length/offset/count field: overwrite `width` bytes in place
      // (binary), or insert the decimal digits of one (text).
      if (n < m.width) return b;
      const c = Buffer.from(b);
      const i = atIn(m.at) - (atIn(m.at) % m.width);
      if (i + m.width > n) return b;
      // little-endian: max = all 0xff, half = 0x7f in the top byte, zero, small = 3
      for (let k = 0; k < m.width; k++) c[i + k] = m.value === 'zero' || m.value === 'small' ? 0 : 0xff;
      if (m.value === 'half') c[i + m.width - 1] = 0x7f;
      if (m.value === 'small') c[i] = 0x03;
      return c;
    }
    case 'longline': {
      const i = lineStart(b, at(m.at));
      return Buffer.concat([b.subarray(0, i), Buffer.alloc(m.len, m.byte), Buffer.from('\n'), b.subarray(i)]);
    }
    case 'deepjson': {
      const i = lineStart(b, at(m.at));
      return Buffer.concat([b.subarray(0, i), Buffer.from(m.open.repeat(m.depth) + '\n'), b.subarray(i)]);
    }
    case 'crlf':
      return Buffer.from(b.toString('latin1').replace(/\n/g, '\r\n'), 'latin1');
  }
}

export function mutate(b: Buffer, ms: readonly Mutation[]): Buffer {
  let out = b;
  for (const m of ms) out = applyMutation(out, m);
  return out;
}

// ---------------------------------------------------------------- checked runs

export interface RunResult {
  records: number;
  skipped: number;
  malformed: number;
  readonly problems: InputProblem[];
  /** The documented "unusable input" error, when thrown. */
  unusable: string | undefined;
}

export class FuzzFailure extends Error {}

function checkSource(src: Source, what: string): void {
  const hasLine = typeof src.line === 'number' && Number.isInteger(src.line) && src.line >= 1;
  const hasOffset = typeof src.byteOffset === 'number' && Number.isInteger(src.byteOffset) && src.byteOffset >= 0;
  if (!hasLine && !hasOffset) throw new FuzzFailure(`${what} without a line number or byte offset: ${JSON.stringify(src)}`);
}

/** Longest message accepted: messages quote excerpts, never whole lines. */
export const MAX_MESSAGE = 4096;

/**
 * A sink that checks every call and counts work: `budget` calls at most (a parser that
 * keeps emitting past it is in a loop).
 */
export function checkingSink(budget: number, keepProblems = 64): { sink: ParserSink; result: RunResult } {
  const result: RunResult = { records: 0, skipped: 0, malformed: 0, problems: [], unusable: undefined };
  let work = 0;
  const spend = (n: number): void => {
    work += n;
    if (work > budget) throw new FuzzFailure(`work budget exceeded: ${work} sink calls for a budget of ${budget}`);
  };
  return {
    result,
    sink: {
      record(r: TraceRecord): void {
        spend(1);
        checkSource(r.src, `record ${r.kind}`);
        result.records++;
      },
      skipped(count = 1): void {
        if (!Number.isInteger(count) || count < 0) throw new FuzzFailure(`skipped(${count})`);
        spend(1);
        result.skipped += count;
      },
      malformed(p: InputProblem): void {
        spend(1);
        checkSource(p.src, 'problem');
        if (typeof p.message !== 'string' || p.message.length === 0) throw new FuzzFailure('problem without a message');
        if (p.message.length > MAX_MESSAGE) throw new FuzzFailure(`problem message of ${p.message.length} chars (unbounded?)`);
        if (isUnreadable(p)) result.malformed++;
        if (result.problems.length < keepProblems) result.problems.push(p);
      },
      clock(name: string): void {
        if (typeof name !== 'string' || name.length === 0 || name.length > 64) throw new FuzzFailure(`clock(${JSON.stringify(name)})`);
      },
      // A host name reaches the report and decides merges: only checked names may pass.
      host(name: string, how: string): void {
        spend(1);
        if (!checkHostName(name).ok) throw new FuzzFailure(`host(${JSON.stringify(name.slice(0, 80))}): not a checked host name`);
        if (how.length === 0 || how.length > MAX_MESSAGE) throw new FuzzFailure(`host how of ${how.length} chars`);
      },
    },
  };
}

/** Split `b` into chunks at the given cut points (exercises partial lines, split UTF-8 and CRLF). */
async function* chunks(b: Buffer, cuts: readonly number[]): AsyncIterable<Buffer> {
  let prev = 0;
  for (const c of [...cuts].map((x) => (b.length === 0 ? 0 : x % b.length)).sort((x, y) => x - y)) {
    if (c > prev) {
      yield b.subarray(prev, c);
      prev = c;
    }
  }
  if (prev < b.length) yield b.subarray(prev);
}

/** Time one fuzz case may spend in the zstd decoder, over all its frames. */
export const FUZZ_ZSTD_BUDGET_MS = 3000;

/** Work budget for an input: every sink call needs at least one input byte, plus slack for end-of-input flushes. */
export function budgetFor(bytes: number): number {
  return 2 * bytes + 1024;
}

/** Run one format's parser over bytes, checking everything; throws FuzzFailure or any escaped exception. */
/** The input of the case being run, kept so a failing case can be saved as a regression fixture. */
export const lastInput: { format: string; bytes: Buffer } = { format: '', bytes: Buffer.alloc(0) };

export async function runFormat(format: InputFormat, bytes: Buffer, cuts: readonly number[] = [], keepProblems = 64): Promise<RunResult> {
  lastInput.format = format.name;
  lastInput.bytes = bytes;
  const { sink, result } = checkingSink(budgetFor(bytes.length), keepProblems);
  if (format.kind === 'lines') {
    const parser = format.create('fuzz', sink);
    await feedLines(chunks(bytes, cuts), parser, { file: 'fuzz', sink });
    return result;
  }
  try {
    // The case's whole time in the zstd decoder is bounded, not each frame's (a mutated file
    // of many hanging frames would cost one 3 s deadline per frame: zstd-guard.ts).
    await parseTraceDatSource(bufferSource(bytes, 'fuzz'), sink, { zstdBudgetMs: FUZZ_ZSTD_BUDGET_MS });
  } catch (e) {
    if (e instanceof TraceDatError || e instanceof UnusableInputError) {
      if (!Number.isInteger(e instanceof TraceDatError ? e.byteOffset : 0)) throw new FuzzFailure(`unusable-input error without an offset: ${e.message}`);
      result.unusable = e.message;
      return result;
    }
    throw e;
  }
  return result;
}

/** Lines of a text sample (without the newline), for line-level edits. */
export function splitLines(b: Buffer): string[] {
  const s = b.toString('utf8');
  const lines = s.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/**
 * A line no format accepts: it has the "COMM-PID [CPU]" shape of an event line but breaks
 * off, so text parsers cannot take it for a continuation or commentary.
 */
export const JUNK_LINE = 'garbage-1 [000] \u0007 not a record';

/** A problem that counts toward input.malformed (a line that could not be read), not a duplicate or a backwards time step. */
export function isUnreadable(p: InputProblem): boolean {
  return p.kind === undefined || p.kind === 'malformed' || p.kind === 'truncated';
}
