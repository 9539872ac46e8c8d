// `migscope analyze` on what production hosts keep (docs/input-formats.md), as a user runs
// it: the built CLI detects each format, prints the migrations section, puts it in --json,
// reads simpletrace with --trace-events, and reports bad lines with file:line.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const cli = join(root, 'dist/src/cli/main.js');
const q = (n: string): string => join('test/fixtures/qemu', n);
const lab = (n: string): string => join('test/fixtures/qemu-lab/timestamped', n);

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: root });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

if (!existsSync(cli)) console.warn('SKIPPED test/cli/analyze-qemu-cli.test.ts: dist/ not built (run `npm run build`)');

describe.skipIf(!existsSync(cli))('migscope analyze on QEMU, libvirt and QMP inputs (built CLI)', () => {
  it('both hosts of the lab run: formats detected, each migration completed with QEMU\'s downtime and its phases', () => {
    const r = run(['analyze', lab('source.log'), lab('source-qmp.jsonl'), lab('destination.log'), lab('destination-qmp.jsonl')]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('(qemu-log, clock realtime)');
    expect(r.stdout).toContain('(qmp, clock realtime)');
    expect(r.stdout).toMatch(/Migration source-1 completed/);
    expect(r.stdout).toMatch(/Migration destination-1 completed/);
    expect(r.stdout).toMatch(/QEMU \(query-migrate, .*source-qmp\.jsonl:\d+\): setup \d+ ms, downtime \d+ ms, total \d+ ms/);
    expect(r.stdout).toMatch(/phases: setup [\d.]+ ms, precopy [\d.]+ ms, stop-copy [\d.]+ ms/);
    expect(r.stdout).not.toContain('unrecognised trace format');
  });

  it('--json carries the migrations section', () => {
    const r = run(['analyze', '--json', q('qmp-transcript.jsonl'), q('libvirt-destination.log')]);
    const doc = JSON.parse(r.stdout) as { migrations: { id: string; outcome: string; downtimeMs?: number }[]; input: { malformed: number; problems: { src: { line: number } }[] } };
    expect(doc.migrations.map((m) => [m.id, m.outcome])).toEqual([
      ['source-1', 'completed'],
      ['destination-1', 'completed'],
    ]);
    expect(doc.migrations[0]?.downtimeMs).toBe(121);
    // One broken line in each file, cited by line.
    expect(doc.input.malformed).toBe(2);
    expect(doc.input.problems.map((p) => p.src.line)).toEqual([25, 18]);
  });

  it('simpletrace with --trace-events; without it the problem says what to pass', () => {
    const ok = run(['analyze', q('simpletrace-v4.bin'), '--trace-events', q('trace-events')]);
    expect(ok.stdout).toContain('(simpletrace, clock mono)');
    expect(ok.stdout).toMatch(/Migration source-1 completed/);
    expect(ok.stdout).toMatch(/3 lost events/);
    const bad = run(['analyze', q('simpletrace-v4.bin'), '--trace-events', 'no/such/file']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/cannot read the trace-events file/);
  });
});
