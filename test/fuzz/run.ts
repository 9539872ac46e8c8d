// The long fuzz run: `npm run fuzz -- --runs N [--seed S] [--only SUBSTRING] [--skip SUBSTRING]`.
// N cases in total are shared among the properties of test/fuzz/properties.ts by weight,
// in batches with fresh seeds. A failing case is shrunk by fast-check, printed with its
// seed and path (to replay: --only NAME --seed S), and its input bytes are saved under
// test/fuzz/regressions/ (NAME-HASH.bin + .json), where test/fuzz/regressions.test.ts
// replays every saved case on each test run. Exit status 1 when any property failed.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { lastInput } from './harness.js';
import { PROPERTIES } from './properties.js';

interface Args {
  runs: number;
  seed: number | undefined;
  only: string | undefined;
  skip: string | undefined;
  batch: number;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { runs: 10_000, seed: undefined, only: undefined, skip: undefined, batch: 5000 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    const num = (): number => {
      const n = Number(v);
      if (v === undefined || !Number.isSafeInteger(n) || n < 0) throw new Error(`${k} needs a non-negative integer`);
      i++;
      return n;
    };
    if (k === '--runs') a.runs = num();
    else if (k === '--seed') a.seed = num();
    else if (k === '--batch') a.batch = Math.max(1, num());
    else if (k === '--only') {
      a.only = v;
      i++;
    } else if (k === '--skip') {
      a.skip = v;
      i++;
    } else if (k === '--help' || k === '-h') {
      process.stdout.write('usage: npm run fuzz -- [--runs N] [--seed S] [--only SUBSTRING] [--skip SUBSTRING] [--batch B]\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${k}`);
  }
  return a;
}

const REGRESSIONS = resolve(import.meta.dirname, '..', '..', '..', 'test', 'fuzz', 'regressions');

function saveRegression(property: string, error: string): string {
  mkdirSync(REGRESSIONS, { recursive: true });
  const hash = createHash('sha256').update(lastInput.bytes).digest('hex').slice(0, 12);
  const base = `${property.replace(/[^\w.-]+/g, '_')}-${hash}`;
  writeFileSync(join(REGRESSIONS, `${base}.bin`), lastInput.bytes);
  writeFileSync(join(REGRESSIONS, `${base}.json`), JSON.stringify({ property, format: lastInput.format, error: error.slice(0, 2000) }, null, 2) + '\n');
  return join(REGRESSIONS, `${base}.bin`);
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const props = PROPERTIES.filter((p) => (args.only === undefined || p.name.includes(args.only)) && (args.skip === undefined || !p.name.includes(args.skip)));
  if (props.length === 0) throw new Error(`no property matches ${args.only ?? ''}`);
  const totalWeight = props.reduce((n, p) => n + p.weight, 0);
  let seed = args.seed ?? Math.floor(Math.random() * 2 ** 31);
  process.stdout.write(`fuzz: ${args.runs} cases over ${props.length} properties, first seed ${seed}\n`);
  const t0 = Date.now();
  let failed = 0;
  let done = 0;
  for (const p of props) {
    const share = Math.max(1, Math.round((args.runs * p.weight) / totalWeight));
    let left = share;
    let ran = 0;
    const tp = Date.now();
    let status = 'ok';
    while (left > 0) {
      const n = Math.min(left, args.batch);
      const s = seed++;
      let r: fc.RunDetails<unknown[]>;
      try {
        r = await fc.check(p.property(), { numRuns: n, seed: s });
      } catch (e) {
        status = `FAILED to set up: ${e instanceof Error ? e.message : String(e)}`;
        failed++;
        break;
      }
      ran += r.numRuns;
      left -= n;
      if (r.failed) {
        failed++;
        const err = r.errorInstance instanceof Error ? r.errorInstance.message : String(r.errorInstance);
        // Re-run the shrunk counterexample so lastInput holds its bytes.
        try {
          await fc.check(p.property(), { seed: s, path: r.counterexamplePath ?? undefined, numRuns: 1, endOnFailure: true });
        } catch {
          /* the run's own failure */
        }
        const saved = saveRegression(p.name, err);
        status = `FAILED (seed ${s}, path ${r.counterexamplePath ?? '?'}): ${err.split('\n')[0] ?? ''}\n    input saved: ${saved}`;
        break;
      }
    }
    done += ran;
    process.stdout.write(`${status === 'ok' ? 'ok  ' : 'FAIL'} ${p.name.padEnd(32)} ${String(ran).padStart(9)} cases ${((Date.now() - tp) / 1000).toFixed(1).padStart(7)} s${status === 'ok' ? '' : `\n    ${status}`}\n`);
  }
  process.stdout.write(`fuzz: ${done} cases in ${((Date.now() - t0) / 1000).toFixed(0)} s, ${failed} propert${failed === 1 ? 'y' : 'ies'} failed\n`);
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`fuzz: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  },
);
