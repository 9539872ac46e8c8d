// The `migscope analyze` command as a user runs it: the built CLI (dist/, built by
// `npm ci`'s prepare step) on the shipped example and on broken inputs. Exit statuses,
// JSON schema fields, and error messages that say file:line and what to do.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const cli = join(root, 'dist/src/cli/main.js');
const example = join(root, 'examples/failed-migration.trace');
const tmp = mkdtempSync(join(tmpdir(), 'migscope-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', input, cwd: root });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

if (!existsSync(cli)) console.warn('SKIPPED test/cli/analyze-cli.test.ts: dist/ not built (run `npm run build`)');

describe.skipIf(!existsSync(cli))('migscope analyze (built CLI)', () => {
  it('prints each device timeline and the findings of the shipped failed migration', () => {
    const r = run(['analyze', example]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('device 0000:65:00.0');
    expect(r.stdout).toContain('device 0000:65:00.1');
    expect(r.stdout).toMatch(/WARNING V1-REFUSE-VALID\s+blame driver/);
    expect(r.stdout).toMatch(/WARNING V1-GROUP-RECOVER\s+blame vmm/);
    expect(r.stdout).toMatch(/failed-migration\.trace:\d+/);
    // Only warnings: exit 0 with the default --fail-on error, 1 with --fail-on warning.
    expect(r.status).toBe(0);
    expect(run(['analyze', example, '--fail-on', 'warning']).status).toBe(1);
    expect(run(['analyze', example, '--fail-on', 'never']).status).toBe(0);
  });

  it('--json has the documented schema fields', () => {
    const r = run(['analyze', example, '--json']);
    const doc: unknown = JSON.parse(r.stdout);
    expect(doc).toMatchObject({
      schema: 'migscope.analysis/1',
      input: { records: expect.any(Number), malformed: 0, lostEvents: 0 },
      clock: { source: 'sync', clock: 'mono' },
    });
    const d = doc as { devices: { id: string; protocol: string; timeline: { state: string; raw: number; startNs: string; endNs: string }[]; sessions: unknown[] }[]; findings: { rule: string; severity: string; blame: string; device: string; tsNs: string; message: string; evidence: unknown[]; certainty: string }[] };
    expect(d.devices.map((x) => x.id)).toEqual(['0000:65:00.0', '0000:65:00.1']);
    expect(d.devices[0]!.protocol).toBe('v1');
    expect(d.devices[0]!.timeline[0]).toMatchObject({ state: 'RUNNING', raw: 1, startNs: expect.stringMatching(/^\d+$/), endNs: expect.stringMatching(/^\d+$/) });
    expect(d.devices[1]!.sessions).toHaveLength(1);
    expect(d.findings.map((f) => [f.rule, f.blame, f.certainty])).toEqual([
      ['V1-REFUSE-VALID', 'driver', 'certain'],
      ['V1-GROUP-RECOVER', 'vmm', 'certain'],
    ]);
  });

  it('an error finding makes the exit status 1 (stdin input)', () => {
    // The example with the failing write's errno turned into success of a reserved state:
    // craft a small trace in the capture format by editing a copy.
    const text = readFileSync(example, 'utf8');
    const bad = text.replace(/(pwrite64 pid=\d+ tid=\d+ fd=\d+ off=0x90000000000 count=4 ret=)-5 val=0x2/, '$14 val=0x5');
    expect(bad).not.toBe(text);
    const r = run(['analyze', '-'], bad);
    expect(r.stdout).toMatch(/ERROR\s+V1-RESERVED-STATE\s+blame vmm/);
    expect(r.status).toBe(1);
  });

  it('malformed lines are reported with file:line, counted, and the rest is still analysed', () => {
    const lines = readFileSync(example, 'utf8').split('\n');
    lines.splice(60, 0, '1671319999999 pwrite64 pid=oops this line is garbage');
    const f = join(tmp, 'broken.trace');
    writeFileSync(f, lines.join('\n'));
    const r = run(['analyze', f, '--json']);
    const doc = JSON.parse(r.stdout) as { input: { malformed: number; problems: { src: { file: string; line: number }; message: string }[] }; findings: unknown[] };
    expect(doc.input.malformed).toBe(1);
    expect(doc.input.problems[0]?.src).toEqual({ file: f, line: 61 });
    expect(doc.findings).toHaveLength(2);
    const t = run(['analyze', f]);
    expect(t.stdout).toContain(`${f}:61:`);
  });

  it('unusable input or usage: exit 2 with a message that says what to do', () => {
    const missing = run(['analyze', join(tmp, 'nope.trace')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/nope\.trace: cannot read/);
    const junk = join(tmp, 'junk.bin');
    writeFileSync(junk, 'hello, this is not a trace\n');
    const unknown = run(['analyze', junk]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/unrecognised trace format.*--format/);
    const badFlag = run(['analyze', example, '--device', 'x=y']);
    expect(badFlag.status).toBe(2);
    expect(badFlag.stderr).toMatch(/--device expects PID:FD=VALUE/);
  });

  it('--help teaches: examples and exit statuses', () => {
    const r = run(['analyze', '--help']);
    expect(r.stdout).toContain('Examples:');
    expect(r.stdout).toContain('Exit status: 0');
  });
});
