// A bounded sample of the fuzz properties on every test run (test/fuzz/properties.ts);
// `npm run fuzz -- --runs N` runs the same properties for longer. Runs per property:
// MIGSCOPE_FUZZ_RUNS (default 60). Seeded by fast-check per run; a failure prints the
// seed and path to replay it.
import { describe, it } from 'vitest';
import fc from 'fast-check';
import { corpus, samplesDir } from './harness.js';
import { PROPERTIES } from './properties.js';

const RUNS = Number(process.env['MIGSCOPE_FUZZ_RUNS'] ?? '60');
const haveSamples = samplesDir() !== undefined && corpus().length > 0;
if (!haveSamples) console.warn('test/fuzz: test/fixtures/samples (or $MIGSCOPE_SAMPLES) not found: sample-based properties skipped');

describe('fuzz: hostile input never crashes, hangs or loses its place', () => {
  for (const p of PROPERTIES) {
    const needsSamples = !p.name.startsWith('random-bytes/');
    it.skipIf(needsSamples && !haveSamples)(p.name, async () => {
      await fc.assert(p.property(), { numRuns: Math.max(1, Math.round(RUNS * (p.name.startsWith('analyze') ? 0.5 : 1))) });
    });
  }
});
