// A finding next to a malformed record or a lost-events window is uncertain, and the line
// that makes it so is cited (issue 16). The same trace without the damage: certain.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FORMATS } from '../../parsers/index.js';
import { analyzeInputs } from '../../src/cli/pipeline.js';

const example = readFileSync(resolve(import.meta.dirname, '../../examples/failed-migration.trace'), 'utf8').split('\n');
const dir = mkdtempSync(join(tmpdir(), 'migscope-health-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The example with `extra` inserted after line `after` (1-based). */
async function refuseValid(after: number | undefined, extra: string) {
  const lines = after === undefined ? example : [...example.slice(0, after), extra, ...example.slice(after)];
  const path = join(dir, `t${after ?? 'clean'}-${extra.length}.trace`);
  writeFileSync(path, lines.join('\n'));
  const a = await analyzeInputs([{ path }], { formats: FORMATS });
  return a.findings.find((f) => f.rule === 'V1-REFUSE-VALID');
}

describe('findings next to damaged input are uncertain', () => {
  it('certain on the clean trace', async () => {
    const f = await refuseValid(undefined, '');
    expect(f?.certainty).toBe('certain');
    expect(f?.evidence.map((e) => e.src.line)).toEqual([72, 73]);
  });

  it('a garbled line right after the failed write: uncertain, and the malformed line is cited', async () => {
    const f = await refuseValid(73, '1671331981999 pwrite64 pid=7813 tid=7831 fd=4 off=0x9000000#@!garbled');
    expect(f?.certainty).toBe('uncertain');
    expect(f?.evidence.at(-1)?.src.line).toBe(74);
    expect(f?.evidence.at(-1)?.what).toMatch(/malformed record next to the evidence/);
  });

  it('lost events right before the evidence: uncertain, the window cited', async () => {
    const f = await refuseValid(71, 'Lost 12 events');
    expect(f?.certainty).toBe('uncertain');
    expect(f?.evidence.map((e) => e.what).join('\n')).toMatch(/12 events lost here/);
  });

  it('damage far from the evidence leaves it certain', async () => {
    const f = await refuseValid(10, 'garbage line that is not a record at all');
    expect(f?.certainty).toBe('certain');
  });
});

describe('uncertain findings do not fail the run', () => {
  it('the overflow sample (ERROR V1-SAVE-ORDER across a lost window) exits 0; the same rule certain would exit 1', async () => {
    const { exitStatusFor } = await import('../../src/cli/analyze.js');
    const a = await analyzeInputs([{ path: resolve(import.meta.dirname, '../fixtures/samples/ftrace/ftrace-trace_pipe-overflow.txt') }], { formats: FORMATS });
    expect(a.findings.map((f) => `${f.rule} ${f.severity} ${f.certainty}`)).toEqual(['V1-SAVE-ORDER error uncertain']);
    expect(exitStatusFor(a, 'error')).toBe(0);
    expect(exitStatusFor({ ...a, findings: a.findings.map((f) => ({ ...f, certainty: 'certain' as const })) }, 'error')).toBe(1);
  });
});
