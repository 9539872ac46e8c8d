// Issue 15: the HTML report embeds the trace lines its findings cite, so that the file stands
// alone. src/cli/evidence-lines.ts reads them back from the inputs; the report carries them.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runAnalysis } from '../../src/cli/analyze.js';
import { citedLines } from '../../src/cli/evidence-lines.js';
import { spawnSync } from 'node:child_process';
import { builtCli } from '../watch/helpers.js';
import { buildReportModel } from '../../src/report/html/index.js';

const V1 = 'test/fixtures/lab/bpftrace/reserved-state-101-rejected.txt';
const TRACEDAT = 'test/fixtures/lab/trace-cmd/error-state-reset.dat';
const lineOf = (file: string, n: number): string => readFileSync(file, 'utf8').split('\n')[n - 1] ?? '';

describe('citedLines', () => {
  it('gives each cited line of a text input exactly as the file has it', async () => {
    const a = await runAnalysis([V1], { failOn: 'never', quiet: true });
    expect(a.findings.length).toBeGreaterThan(0);
    const text = await citedLines(a);
    let n = 0;
    for (const f of a.findings) {
      for (const e of f.evidence) {
        expect(e.src.line).toBeDefined();
        expect(text(e.src)).toBe(lineOf(V1, e.src.line ?? 0));
        n++;
      }
    }
    expect(n).toBeGreaterThan(0);
    // a line no finding cites is not read back
    expect(text({ file: V1, line: 1 })).toBeUndefined();
  });

  it('gives nothing for binary records (cited by byte offset)', async () => {
    const a = await runAnalysis([TRACEDAT], { failOn: 'never', quiet: true });
    expect(a.findings.length).toBeGreaterThan(0);
    const text = await citedLines(a);
    for (const f of a.findings) for (const e of f.evidence) expect(text(e.src)).toBeUndefined();
  });
});

describe('the HTML report carries them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'migscope-evidence-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('in the model, one per evidence entry, and none when not supplied', async () => {
    const a = await runAnalysis([V1], { failOn: 'never', quiet: true });
    const text = await citedLines(a);
    const m = buildReportModel(a, { evidenceText: text });
    const want = a.findings.flatMap((f) => f.evidence.map((e) => lineOf(V1, e.src.line ?? 0)));
    expect(m.findings.evidenceText).toEqual(want);
    expect(buildReportModel(a).findings.evidenceText).toBeUndefined();
  });

  it('in the file `migscope report` writes', async () => {
    const out = join(dir, 'r.html');
    const r = spawnSync(process.execPath, [builtCli(), 'report', V1, '-o', out], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const html = readFileSync(out, 'utf8');
    const a = await runAnalysis([V1], { failOn: 'never', quiet: true });
    const cited = a.findings[0]?.evidence[0]?.src.line ?? 0;
    // the page's data holds the line (JSON-escaped for the script element)
    const json = /<script type="application\/json" id="report-data" data-encoding="json">([^]*?)<\/script>/.exec(html)?.[1] ?? '';
    expect(JSON.stringify(JSON.parse(json))).toContain(JSON.stringify(lineOf(V1, cited)).slice(1, -1));
  });
});
