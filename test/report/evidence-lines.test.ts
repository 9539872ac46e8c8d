// Issue 15: the HTML report embeds the trace lines its findings cite, so that the file stands
// alone. src/cli/evidence-lines.ts reads them back from the inputs; the report carries them.

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runAnalysis } from '../../src/cli/analyze.js';
import { citedLines } from '../../src/cli/evidence-lines.js';
import { spawnSync } from 'node:child_process';
import { builtCli } from '../watch/helpers.js';
import { buildReportModel } from '../../src/report/html/index.js';
import { writeFileSync } from 'node:fs';
import type { Analysis } from '../../src/analysis/types.js';

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

  it('reads lines across 1 MB read chunks, CRLF, multi-byte text and an unterminated last line as a split of the whole file does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'migscope-lines-'));
    try {
      const file = join(dir, 'crafted.txt');
      const rows: string[] = [];
      // ~3 MB of lines of varied length, so that many lines straddle a chunk boundary.
      for (let i = 0, size = 0; size < 3_200_000; i++, size += (rows.at(-1)?.length ?? 0) + 1) {
        const kind = i % 7;
        if (kind === 0) rows.push('');
        else if (kind === 1) rows.push(`crlf line ${i}\r`);
        else if (kind === 2) rows.push(`long ${i} ${'é✓𝄞'.repeat(300)}`); // 2-, 3- and 4-byte UTF-8, past the 400-character cut
        else rows.push(`line ${i} ${'x'.repeat((i * 7919) % 3000)}`);
      }
      rows.push('last line, no newline');
      writeFileSync(file, rows.join('\n'));
      const want = readFileSync(file, 'utf8').split('\n');
      const cited = want.map((_, i) => i + 1).filter((n) => n % 3 !== 0 || n === want.length);
      const a = { findings: [{ evidence: cited.map((line) => ({ src: { file, line }, what: 'x' })) }] } as unknown as Analysis;
      const text = await citedLines(a);
      for (const n of cited) {
        const w = (want[n - 1] ?? '').replace(/\r$/, '');
        expect(text({ file, line: n }), `line ${n}`).toBe(w.length > 400 ? `${w.slice(0, 400)}…` : w);
      }
      expect(text({ file, line: 3 })).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads a cited line when asked for, not all of them up front, and closes the file on close()', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'migscope-lines-'));
    try {
      const file = join(dir, 'lazy.txt');
      writeFileSync(file, 'one\ntwo\nthree\nfour\n');
      const a = { findings: [{ evidence: [2, 4].map((line) => ({ src: { file, line }, what: 'x' })) }] } as unknown as Analysis;
      const text = await citedLines(a);
      // The scan noted where lines 2 and 4 are; their bytes are read at lookup time.
      writeFileSync(file, 'one\nTWO\nthree\nFOUR\n');
      expect(text({ file, line: 2 })).toBe('TWO');
      const fds = (): number => readdirSync('/proc/self/fd').length;
      const open = fds();
      text.close();
      expect(fds()).toBe(open - 1);
      // Shortened since the scan: what is left of the line, then nothing.
      writeFileSync(file, 'one\ntwo\nthree\nfo');
      expect(text({ file, line: 4 })).toBe('fo');
      writeFileSync(file, 'one\n');
      expect(text({ file, line: 4 })).toBeUndefined();
      text.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
