// Golden diff tests (issue 16): every recorded lab fixture and every real sample trace is
// analysed as `migscope analyze --json` would (same code path, same defaults), reduced to
// its verdict (normalize.ts) and compared with the reviewed file in test/golden/expected/.
// A changed verdict fails here with the diff; `UPDATE_GOLDEN=1 npx vitest run test/golden`
// rewrites the files, and the commit that changes them says what changed and why
// (test/golden/README.md). The inputs are in the repo: no tracer or root needed.

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitStatusFor, runAnalysis } from '../../src/cli/analyze.js';
import { InputError } from '../../src/cli/pipeline.js';
import { toJsonValue } from '../../src/report/json.js';
import { labScenarios } from '../../capture/lab/run.js';
import { normalizeAnalysis } from './normalize.js';
import { EXPECTED_DIR, expectedFileFor, filesUnder, labFixtures, REPO_ROOT, SAMPLE_NOT_TRACES, sampleTraces } from './inputs.js';

const UPDATE = process.env['UPDATE_GOLDEN'] === '1';

/** What `migscope analyze --json FILE` says, in golden form, plus its exit status. */
async function goldenOf(input: string): Promise<unknown> {
  const path = join(REPO_ROOT, input);
  try {
    // The flags commander hands analyze when none are given (analyze.ts: --fail-on error,
    // --eagain-limit 3); --quiet only turns off the progress bar.
    const a = await runAnalysis([path], { failOn: 'error', eagainLimit: '3', quiet: true });
    return { exitStatus: exitStatusFor(a, 'error'), ...(normalizeAnalysis(toJsonValue(a), REPO_ROOT) as object) };
  } catch (e) {
    // An input migscope refuses (exit 2) is a verdict too: keep the message.
    if (e instanceof InputError) return { exitStatus: 2, error: e.message.split(`${REPO_ROOT}/`).join('') };
    throw e;
  }
}

const inputs = [...labFixtures(), ...sampleTraces()];

describe('golden: analyze --json of every recorded trace matches its reviewed expected file', () => {
  it('there are lab fixtures and samples to compare', () => {
    expect(labFixtures().length).toBeGreaterThan(0);
    expect(sampleTraces().length).toBeGreaterThan(0);
  });

  for (const input of inputs) {
    it(input, async () => {
      const got = await goldenOf(input);
      const file = expectedFileFor(input);
      if (UPDATE) {
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, JSON.stringify(got, null, 2) + '\n');
      }
      expect(existsSync(file), `no ${relative(REPO_ROOT, file)}: run UPDATE_GOLDEN=1 npx vitest run test/golden and review it`).toBe(true);
      const want: unknown = JSON.parse(readFileSync(file, 'utf8'));
      expect(got, `${input}: the verdict changed; if intended, UPDATE_GOLDEN=1 and review the diff (test/golden/README.md)`).toEqual(want);
    });
  }

  it('every lab scenario of capture/lab/scenarios.json is recorded with bpftrace and ftrace (scripts/record-lab-fixtures.sh)', () => {
    const have = new Set(labFixtures());
    const missing: string[] = [];
    for (const s of [...labScenarios('v1'), ...labScenarios('v2')]) {
      for (const f of [`test/fixtures/lab/bpftrace/${s.name}.txt`, `test/fixtures/lab/ftrace/${s.name}.txt`]) if (!have.has(f)) missing.push(f);
    }
    expect(missing, 'record them: scripts/record-lab-fixtures.sh --tracer bpftrace --tracer ftrace NAME').toEqual([]);
  });

  it('no expected file is left without its input (stale ones are removed on UPDATE_GOLDEN=1)', () => {
    const wanted = new Set(inputs.map((i) => relative(REPO_ROOT, expectedFileFor(i))));
    const stale = existsSync(EXPECTED_DIR) ? filesUnder(relative(REPO_ROOT, EXPECTED_DIR)).filter((f) => !wanted.has(f)) : [];
    if (UPDATE) for (const f of stale) rmSync(join(REPO_ROOT, f));
    else expect(stale).toEqual([]);
  });

  it('every sample left out of the golden set exists and says why (inputs.ts SAMPLE_NOT_TRACES)', () => {
    for (const [f, why] of Object.entries(SAMPLE_NOT_TRACES)) {
      expect(existsSync(join(REPO_ROOT, f)), `${f} is listed as not a trace but does not exist`).toBe(true);
      expect(why.length).toBeGreaterThan(0);
    }
  });
});
