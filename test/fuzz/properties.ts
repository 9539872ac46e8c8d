// The fuzz properties, by name, shared by the vitest suite (bounded runs) and the long
// runner (test/fuzz/run.ts). Each property returns normally or throws (FuzzFailure, or an
// exception that escaped a parser: a bug).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { FORMATS } from '../../parsers/index.js';
import { analyzeInputs, InputError } from '../../src/cli/pipeline.js';
import { corpus, formatByName, FuzzFailure, isUnreadable, lastInput, JUNK_LINE, MAX_MESSAGE, mutate, mutationArb, runFormat, splitLines, type Seed } from './harness.js';

export interface FuzzProperty {
  readonly name: string;
  /** Share of a total run budget (`npm run fuzz -- --runs N`) this property gets. */
  readonly weight: number;
  readonly property: () => fc.IAsyncProperty<never> | fc.IAsyncProperty<[unknown]> | fc.IAsyncPropertyWithHooks<unknown[]>;
}

const cutsArb = fc.array(fc.nat({ max: 0x7fffffff }), { maxLength: 6 });

function seedsOf(format: string): Seed[] {
  return corpus().filter((s) => s.format === format);
}

/** trace.dat magic + version, so random bytes get past the first check now and then. */
const DAT_HEADS = [Buffer.from('\x17\x08\x44tracing7\0\0\x08\0\x10\0\0none\0\0', 'latin1'), Buffer.from('\x17\x08\x44tracing6\0\0\x08\0\x10\0\0', 'latin1')];

function randomBytesProperty(format: string): FuzzProperty {
  const f = formatByName(format);
  return {
    name: `random-bytes/${format}`,
    weight: 1,
    property: () =>
      fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), fc.nat({ max: 2 }), cutsArb, async (raw, head, cuts) => {
        let bytes = Buffer.from(raw);
        if (f.kind === 'file' && head < DAT_HEADS.length) bytes = Buffer.concat([DAT_HEADS[head] ?? Buffer.alloc(0), bytes]);
        await runFormat(f, bytes, cuts);
      }),
  };
}

function mutatedSamplesProperty(format: string): FuzzProperty {
  const f = formatByName(format);
  return {
    name: `mutated-samples/${format}`,
    weight: 4,
    property: () => {
      const seeds = seedsOf(format);
      if (seeds.length === 0) throw new FuzzFailure(`no samples for ${format}`);
      return fc.asyncProperty(fc.nat({ max: seeds.length - 1 }), fc.array(mutationArb, { minLength: 1, maxLength: 4 }), cutsArb, async (i, ms, cuts) => {
        const seed = seeds[i];
        if (seed === undefined) return;
        await runFormat(f, mutate(seed.bytes, ms), cuts);
      });
    },
  };
}

/** Formats that report any unrecognised line as malformed (qemu-log skips foreign lines: QEMU's logs mix in other text). */
const STRICT = new Set(['ftrace', 'bpftrace', 'trace-cmd-report']);

/**
 * One bad line in a clean sample: reported once, with its line number, and the good
 * records around it kept (the record count drops by at most the one record the line was).
 */
function oneBadLineProperty(format: string): FuzzProperty {
  const f = formatByName(format);
  return {
    name: `one-bad-line/${format}`,
    weight: 2,
    property: () => {
      // Latency-format output is refused line by line (unsupported input), so a header
      // line replaced by junk changes every verdict: not a "clean sample".
      const seeds = seedsOf(format).filter((s) => !s.name.includes('latency'));
      if (seeds.length === 0) throw new FuzzFailure(`no samples for ${format}`);
      const clean = new Map<string, Awaited<ReturnType<typeof runFormat>>>();
      return fc.asyncProperty(fc.nat({ max: seeds.length - 1 }), fc.nat(), async (i, lineSel) => {
        const seed = seeds[i];
        if (seed === undefined) return;
        const lines = splitLines(seed.bytes);
        if (lines.length === 0) return;
        const at = lineSel % lines.length;
        // bpftrace -k warnings swallow the two source-context lines after them: replacing
        // the warning turns those into junk too. Not one bad line; skip those positions.
        if (/: WARNING: /.test(lines[at] ?? '') || /: WARNING: /.test(lines[at - 1] ?? '') || /: WARNING: /.test(lines[at - 2] ?? '')) return;
        let before = clean.get(seed.name);
        if (before === undefined) {
          before = await runFormat(f, seed.bytes, [], 1 << 20);
          clean.set(seed.name, before);
        }
        const edited = lines.slice();
        edited[at] = JUNK_LINE;
        const after = await runFormat(f, Buffer.from(edited.join('\n') + '\n', 'utf8'));
        // The replaced line may itself have been a problem (stray output in a sample).
        // Only unreadable lines count (harness.ts): a backwards time step can move to the next line.
        const wasBad = before.problems.some((p) => p.src.line === at + 1 && isUnreadable(p)) ? 1 : 0;
        const extra = after.malformed - before.malformed + wasBad;
        if (STRICT.has(format) ? extra !== 1 : extra < 0 || extra > 1) {
          throw new FuzzFailure(`${seed.name}: line ${at + 1} replaced by junk gave ${extra - wasBad} more problems (expected ${STRICT.has(format) ? 1 - wasBad : '0 or 1'})`);
        }
        if (STRICT.has(format) && !after.problems.some((p) => p.src.line === at + 1)) {
          throw new FuzzFailure(`${seed.name}: the junk line ${at + 1} is not among the problems: ${JSON.stringify(after.problems.slice(0, 3))}`);
        }
        if (after.records < before.records - 1) {
          throw new FuzzFailure(`${seed.name}: one bad line (${at + 1}) lost ${before.records - after.records} records`);
        }
        if (after.records + after.skipped < before.records + before.skipped - 1) {
          throw new FuzzFailure(`${seed.name}: one bad line (${at + 1}) lost ${before.records + before.skipped - after.records - after.skipped} records/skips`);
        }
      });
    },
  };
}

let tmp: string | undefined;
function tmpDir(): string {
  if (tmp === undefined) {
    tmp = mkdtempSync(join(tmpdir(), 'migscope-fuzz-'));
    const dir = tmp;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return tmp;
}

/** The whole analyze pipeline (detect, parse, decode, track, check) over a mutated sample. */
const analyzeProperty: FuzzProperty = {
  name: 'analyze/mutated-samples',
  weight: 2,
  property: () => {
    const seeds = corpus();
    if (seeds.length === 0) throw new FuzzFailure('no samples');
    let n = 0;
    return fc.asyncProperty(fc.nat({ max: seeds.length - 1 }), fc.array(mutationArb, { minLength: 0, maxLength: 3 }), async (i, ms) => {
      const seed = seeds[i];
      if (seed === undefined) return;
      const path = join(tmpDir(), `case-${n++ % 4}`);
      const bytes = mutate(seed.bytes, ms);
      lastInput.format = 'analyze';
      lastInput.bytes = bytes;
      writeFileSync(path, bytes);
      let a;
      try {
        a = await analyzeInputs([{ path }], { formats: FORMATS });
      } catch (e) {
        if (e instanceof InputError) return; // unusable file: the documented refusal
        throw e;
      }
      const inp = a.input;
      // Every problem is counted once, by its kind (src/record/types.ts InputProblemKind).
      if (inp.malformed + inp.duplicates + inp.timeBackwards !== inp.problems.length + inp.problemsDropped) {
        throw new FuzzFailure(`malformed ${inp.malformed} + duplicates ${inp.duplicates} + backwards ${inp.timeBackwards} but ${inp.problems.length} kept + ${inp.problemsDropped} dropped`);
      }
      for (const p of inp.problems) {
        if (p.src.line === undefined && p.src.byteOffset === undefined) throw new FuzzFailure(`problem without a place: ${p.message}`);
        if (p.message.length > MAX_MESSAGE) throw new FuzzFailure(`problem message of ${p.message.length} chars`);
      }
      for (const f of a.findings) {
        for (const e of f.evidence) {
          if (e.src.line === undefined && e.src.byteOffset === undefined) throw new FuzzFailure(`finding ${f.rule} cites evidence without a place`);
        }
      }
    });
  },
};

const TEXT_FORMATS = FORMATS.filter((f) => f.kind === 'lines').map((f) => f.name);

export const PROPERTIES: readonly FuzzProperty[] = [
  ...FORMATS.map((f) => randomBytesProperty(f.name)),
  ...FORMATS.map((f) => mutatedSamplesProperty(f.name)),
  ...TEXT_FORMATS.map((f) => oneBadLineProperty(f)),
  analyzeProperty,
];
