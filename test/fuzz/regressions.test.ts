// Every input a fuzz run found crashing (test/fuzz/regressions/NAME-HASH.bin with its .json:
// the property and format) is replayed here: it must now parse (or be refused with the
// documented unusable-input error) without any other exception.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FORMATS } from '../../parsers/index.js';
import { analyzeInputs, InputError } from '../../src/cli/pipeline.js';
import { formatByName, runFormat } from './harness.js';

const dir = join(import.meta.dirname, 'regressions');
const cases = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : [];
const tmp = mkdtempSync(join(tmpdir(), 'migscope-regress-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function meta(file: string): { property: string; format: string } {
  const j: unknown = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  if (typeof j !== 'object' || j === null || !('format' in j) || !('property' in j) || typeof j.format !== 'string' || typeof j.property !== 'string') {
    throw new Error(`${file}: not a regression description`);
  }
  return { property: j.property, format: j.format };
}

describe('fuzz regressions', () => {
  it('the fixture directory holds complete pairs', () => {
    for (const f of cases) expect(existsSync(join(dir, f.replace(/\.json$/, '.bin'))), f).toBe(true);
  });
  for (const f of cases) {
    it(f.replace(/\.json$/, ''), async () => {
      const m = meta(f);
      const bytes = readFileSync(join(dir, f.replace(/\.json$/, '.bin')));
      if (m.format === 'analyze') {
        const path = join(tmp, f.replace(/\.json$/, ''));
        writeFileSync(path, bytes);
        try {
          const a = await analyzeInputs([{ path }], { formats: FORMATS });
          expect(a.input.malformed + a.input.duplicates + a.input.timeBackwards).toBe(a.input.problems.length + a.input.problemsDropped);
        } catch (e) {
          if (!(e instanceof InputError)) throw e;
        }
        return;
      }
      // runFormat throws on any escaped exception or broken report (harness.ts checks).
      await expect(runFormat(formatByName(m.format), bytes)).resolves.toBeDefined();
    });
  }
});
