// Exit statuses of every command (README "Exit status"): 0 clean, 1 findings, 2 usage error
// or unusable input, 3 export lost data; never another. The built CLI, as scripts run it.

import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { useColor } from '../../src/cli/color.js';

const root = resolve(import.meta.dirname, '../..');
const cli = join(root, 'dist/src/cli/main.js');
const example = join(root, 'examples/failed-migration.trace');
const tmp = mkdtempSync(join(tmpdir(), 'migscope-exit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const garbage = join(tmp, 'garbage.txt');
writeFileSync(garbage, 'hello\nthis is not a trace\n');

function run(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', input: opts.input, cwd: root, env: { ...process.env, ...opts.env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

if (!existsSync(cli)) console.warn('SKIPPED test/cli/exit-codes.test.ts: dist/ not built (run `npm run build`)');

describe.skipIf(!existsSync(cli))('exit statuses (built CLI)', () => {
  it('migscope: --help and --version 0; no command or an unknown one 2', () => {
    expect(run(['--help']).status).toBe(0);
    expect(run(['--version']).status).toBe(0);
    expect(run([]).status).toBe(2);
    expect(run(['frobnicate']).status).toBe(2);
    expect(run(['--help']).stdout).toMatch(/Exit status \(every command\): 0 .*1 findings; 2 usage error/s);
  });

  it('analyze: 0 clean, 1 findings, 2 usage errors and unusable input', () => {
    expect(run(['analyze', example]).status).toBe(0);
    expect(run(['analyze', example, '--fail-on', 'warning']).status).toBe(1);
    // commander's own usage errors: 2, not its default 1 (the status for findings)
    expect(run(['analyze', example, '--bogus']).status).toBe(2);
    expect(run(['analyze', example, '--fail-on', 'sometimes']).status).toBe(2);
    expect(run(['analyze']).status).toBe(2);
    expect(run(['analyze', join(tmp, 'missing.trace')]).status).toBe(2);
    // unrecognised garbage, and garbage read with --format: unusable input, with the hint
    expect(run(['analyze', garbage]).status).toBe(2);
    const forced = run(['analyze', garbage, '--format', 'bpftrace']);
    expect(forced.status).toBe(2);
    expect(forced.stdout).toContain('No VFIO device found in this trace');
    const json = run(['analyze', garbage, '--format', 'bpftrace', '--json']);
    expect(json.status).toBe(2);
    expect(json.stderr).toContain('no VFIO device in this input');
    expect(run(['analyze', '--help']).stdout).toMatch(/Exit status: 0 .* 1 findings,\s+2 usage error or unusable input/s);
  });

  it('report: 0 written, 2 usage errors and an input without a device (file still written)', () => {
    const out = join(tmp, 'r.html');
    expect(run(['report', example, '-o', out]).status).toBe(0);
    expect(run(['report', example]).status).toBe(2); // -o missing
    expect(run(['report', example, '-o', out, '--bogus']).status).toBe(2);
    const none = join(tmp, 'none.html');
    const r = run(['report', garbage, '--format', 'bpftrace', '-o', none]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('no VFIO device in this input');
    expect(readFileSync(none, 'utf8')).toContain('<html');
    // An output that cannot be written: exit 2, and the message names the file and why.
    const unwritable = run(['report', example, '-o', join(tmp, 'no-such-dir', 'r.html')]);
    expect(unwritable.status).toBe(2);
    expect(unwritable.stderr).toMatch(/cannot write .*no-such-dir.*ENOENT/);
    expect(run(['report', example, '-o', tmp]).stderr).toContain('EISDIR');
  });

  it.skipIf(!existsSync('/dev/full'))('standard output on a full disk (/dev/full): exit 2 and one line saying so, no stack, for analyze --json, analyze and watch', () => {
    for (const args of [['analyze', example, '--json'], ['analyze', example], ['watch', '-', '--no-metrics']]) {
      const full = openSync('/dev/full', 'w');
      try {
        const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: root, input: readFileSync(example, 'utf8'), stdio: ['pipe', full, 'pipe'] });
        expect(r.status, args.join(' ')).toBe(2);
        expect(r.stderr).toContain('migscope: cannot write to standard output: ENOSPC');
        expect(r.stderr).toContain('the disk is full');
        expect(r.stderr).not.toMatch(/\n\s+at /);
      } finally {
        closeSync(full);
      }
    }
  });

  it('watch -: 0 clean, 1 findings, 2 usage errors and no device', () => {
    const trace = readFileSync(example, 'utf8');
    const ok = run(['watch', '-', '--no-metrics'], { input: trace });
    expect(ok.status, ok.stderr).toBe(0);
    expect(run(['watch', '-', '--no-metrics', '--fail-on', 'warning'], { input: trace }).status).toBe(1);
    expect(run(['watch', '-', '--no-metrics', '--bogus'], { input: trace }).status).toBe(2);
    expect(run(['watch', '--no-metrics']).status).toBe(2); // nothing to watch
    const none = run(['watch', '-', '--no-metrics'], { input: 'hello\nnot a trace\n' });
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('no VFIO device in this input');
  });

  it('capture: 2 for usage errors (before any tracing)', () => {
    expect(run(['capture', '--bogus']).status).toBe(2);
    expect(run(['capture', '-o', join(tmp, 'x.trace')]).status).toBe(2); // no target
    expect(run(['capture', '--pid', '1', '-o', join(tmp, 'x.trace'), '--', 'true']).status).toBe(2);
    expect(run(['capture', '--cleanup', '--pid', '1']).status).toBe(2);
    expect(run(['capture', '--pid', '1', '-o', join(tmp, 'x.trace'), '--duration', 'soon']).status).toBe(2);
    expect(run(['capture', '--pid', '1', '-o', join(tmp, 'x.trace'), '--max-size', 'big']).status).toBe(2);
    expect(run(['capture', '--help']).stdout).toMatch(/Exit status: 0 captured, 2 could not capture/);
  });
});

describe.skipIf(!existsSync(cli))('NO_COLOR and FORCE_COLOR (built CLI, stdout a pipe)', () => {
  it('FORCE_COLOR colours a pipe; --no-color and FORCE_COLOR=0 do not; plain by default', () => {
    expect(run(['analyze', example], { env: { FORCE_COLOR: '1' } }).stdout).toContain('\x1b[');
    expect(run(['analyze', example, '--no-color'], { env: { FORCE_COLOR: '1' } }).stdout).not.toContain('\x1b[');
    expect(run(['analyze', example], { env: { FORCE_COLOR: '0' } }).stdout).not.toContain('\x1b[');
    expect(run(['analyze', example]).stdout).not.toContain('\x1b[');
  });
});

describe('useColor on a terminal', () => {
  const tty = { isTTY: true, hasColors: () => true } as unknown as NodeJS.WriteStream;
  it('a colour terminal gets colours; NO_COLOR (non-empty) and --no-color turn them off', () => {
    expect(useColor(undefined, tty, {})).toBe(true);
    expect(useColor(undefined, tty, { NO_COLOR: '1' })).toBe(false);
    expect(useColor(undefined, tty, { NO_COLOR: '' })).toBe(true); // no-color.org: empty means unset
    expect(useColor(false, tty, {})).toBe(false);
    expect(useColor(undefined, tty, { FORCE_COLOR: '0' })).toBe(false);
  });
});
