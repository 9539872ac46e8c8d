// After a SIGKILL of `migscope capture` (nothing of its own can run), its tracing state
// stays: the tracefs instance (tracing_on=1, events, filters, pid filter), the uprobe and,
// with trace-cmd record, a recorder in its own process group. The next capture, or
// `migscope capture --cleanup` alone, must find the state whose migscope is dead, remove
// it and say what; a LIVE capture's state must not be touched (its name carries its owner's
// pid and start time: capture/tracefs.ts ownerMark). Other tests may trace at the same
// time on this machine: assertions look only at the names of the captures started here.
//
// The built CLI (dist/), real tracefs. Skips, with the reason, where tracing cannot run.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LAB_PYTHON } from '../../capture/lab/run.js';
import { ftraceTracer } from '../../capture/ftrace.js';
import { traceCmdTracer } from '../../capture/tracecmd.js';
import { findTracefs, ownerOf, uprobeGroupsWithPrefix } from '../../capture/tracefs.js';

const repo = resolve(import.meta.dirname, '../..');
const cli = join(repo, 'dist/src/cli/main.js');
const ftraceOk = await ftraceTracer.available();
const tcOk = await traceCmdTracer.available();
const ready = existsSync(cli) && existsSync(LAB_PYTHON);
if (!ready) console.warn(`SKIPPED test/capture/stale-cleanup.test.ts: needs dist/ built and ${LAB_PYTHON}`);
for (const [n, a] of [['ftrace', ftraceOk], ['trace-cmd', tcOk]] as const) if (!a.ok) console.warn(`SKIPPED ${n} cases of test/capture/stale-cleanup.test.ts: ${a.reason ?? ''}`);

const tmp = mkdtempSync(join(tmpdir(), 'migscope-stale-test-'));
const children: ChildProcess[] = [];
const pids: number[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // gone
    }
  }
  // whatever a failed assertion left: the CLI's own cleanup (stale by now)
  if (ready) spawnSync(process.execPath, [cli, 'capture', '--cleanup'], { cwd: repo });
  rmSync(tmp, { recursive: true, force: true });
});

function workload(name: string, seconds: number): string {
  const f = join(tmp, `${name}.py`);
  writeFileSync(
    f,
    [
      'import os, time',
      'fd = os.open(os.devnull, os.O_RDWR)',
      `end = time.monotonic() + ${seconds}`,
      'while time.monotonic() < end:',
      "    os.pwrite(fd, (0x101).to_bytes(4, 'little'), 0x90000000000)",
      '    time.sleep(0.02)',
      '',
    ].join('\n'),
  );
  return f;
}

interface Capture {
  readonly p: ChildProcess;
  readonly target: number;
  err(): string;
  readonly exit: Promise<number | null>;
}

async function startCapture(tracer: string, name: string, output: string): Promise<Capture> {
  const p = spawn(process.execPath, [cli, 'capture', '--tracer', tracer, '-o', output, '--', LAB_PYTHON, workload(name, 120)], {
    cwd: repo,
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  children.push(p);
  let err = '';
  p.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const exit = new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
  await until(() => /tracing pid \d+/.test(err) || p.exitCode !== null, `capture ${name} to start`, 60_000);
  const target = Number(/tracing pid (\d+)/.exec(err)?.[1]);
  expect(target, err).toBeGreaterThan(0);
  pids.push(target);
  return { p, target, err: () => err, exit };
}

function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const t0 = Date.now();
  return new Promise((res, rej) => {
    const tick = (): void => {
      if (cond()) res();
      else if (Date.now() - t0 > ms) rej(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 50);
    };
    tick();
  });
}

const root = findTracefs() ?? '/sys/kernel/tracing';
/** Instances of captures of `target` (the name starts with the traced pid). */
function instancesOf(target: number): string[] {
  try {
    return readdirSync(join(root, 'instances')).filter((n) => n.startsWith(`migscope-${target}-`) || n.startsWith(`migscope-tc-${target}-`));
  } catch {
    return [];
  }
}

function cleanup(): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [cli, 'capture', '--cleanup'], { cwd: repo, encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

describe.skipIf(!ready || !ftraceOk.ok)('ftrace: SIGKILL leaves state; --cleanup removes it, a live capture keeps its own', () => {
  it('removes exactly the dead capture\'s instance and uprobe, says what, and the live capture completes', async () => {
    const dead = await startCapture('ftrace', 'dead', join(tmp, 'dead.txt'));
    const live = await startCapture('ftrace', 'live', join(tmp, 'live.txt'));
    const [deadInst] = instancesOf(dead.target);
    const [liveInst] = instancesOf(live.target);
    expect(deadInst).toBeDefined();
    expect(liveInst).toBeDefined();
    // the names carry their owning migscope
    expect(ownerOf(deadInst ?? '')?.pid).toBe(dead.p.pid);
    expect(ownerOf(liveInst ?? '')?.pid).toBe(live.p.pid);
    const deadGroups = uprobeGroupsWithPrefix(root, `migscope_${dead.target}_`);

    dead.p.kill('SIGKILL');
    await dead.exit;
    // nothing of the killed capture ran: its state is all still there, recording
    expect(instancesOf(dead.target)).toEqual([deadInst]);
    expect(readFileSync(join(root, 'instances', deadInst ?? '', 'tracing_on'), 'utf8').trim()).toBe('1');

    const c = cleanup();
    expect(c.status, c.stderr).toBe(0);
    expect(c.stderr).toContain(`removed tracing state of a killed migscope capture: tracefs instance (tracing_on=1,`);
    expect(c.stderr).toContain(deadInst);
    for (const g of deadGroups) expect(c.stderr).toContain(`uprobe ${g}/pwrite64_entry`);
    expect(instancesOf(dead.target)).toEqual([]);
    expect(uprobeGroupsWithPrefix(root, `migscope_${dead.target}_`)).toEqual([]);
    // the live capture's state is untouched, and it still records
    expect(c.stderr).not.toContain(liveInst);
    expect(instancesOf(live.target)).toEqual([liveInst]);
    expect(cleanup().stderr).toContain('no tracing state of a killed migscope capture found');

    live.p.kill('SIGINT');
    expect(await live.exit).toBe(0);
    expect(live.err()).toMatch(/live\.txt: \d+ records/);
    expect(instancesOf(live.target)).toEqual([]);
    expect(readFileSync(join(tmp, 'live.txt'), 'utf8')).toContain('pwrite64');
  }, 180_000);
});

describe.skipIf(!ready || !tcOk.ok)('trace-cmd: SIGKILL, then the next capture removes the state and says what became of the data', () => {
  it('the next capture removes it; a recorder left running is stopped and writes its file', async () => {
    const out = join(tmp, 'killed.dat');
    const dead = await startCapture('trace-cmd', 'tc-dead', out);
    await new Promise((r) => setTimeout(r, 500)); // some events
    dead.p.kill('SIGKILL');
    await dead.exit;
    expect(instancesOf(dead.target).length).toBe(1);
    const next = await startCapture('trace-cmd', 'tc-next', join(tmp, 'next.dat'));
    const said = next.err();
    expect(said).toContain('removed tracing state of a killed migscope capture');
    if (/stopped trace-cmd record pid \d+ of a killed capture/.test(said)) {
      // record mode: the recorder ran on in its own process group; stopped, it wrote the file
      expect(said).toContain(`it wrote what it had recorded to ${out}`);
      expect(statSync(out).size).toBeGreaterThan(0);
    } else {
      // the tracefs + extract fallback: the events were only in the ring buffer, and that is said
      expect(said).toContain('its unextracted events are lost');
    }
    expect(instancesOf(dead.target)).toEqual([]);
    expect(uprobeGroupsWithPrefix(root, `migscope_${dead.target}_`)).toEqual([]);
    next.p.kill('SIGINT');
    expect(await next.exit).toBe(0);
    expect(instancesOf(next.target)).toEqual([]);
    // no 0-byte leftovers beside the outputs
    for (const f of readdirSync(tmp)) if (/\.dat\.cpu\d+$/.test(f)) expect(statSync(join(tmp, f)).size, f).toBeGreaterThan(0);
  }, 240_000);
});
