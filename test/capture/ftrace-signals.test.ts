// A capture interrupted mid-run by SIGINT (Ctrl-C: the whole process group) or SIGTERM
// (the capture process alone) completes its file and leaves no tracing state behind: no
// instance, no uprobe. Runs the real CLI code (src/cli/capture.ts runCapture) in its own
// node process, compiled with tsc for the purpose. Skips, with the reason, where tracing
// cannot run.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAB_PYTHON } from '../../capture/lab/run.js';
import { ftraceTracer } from '../../capture/ftrace.js';
import { traceCmdTracer } from '../../capture/tracecmd.js';
import { createFtraceTextParser } from '../../parsers/ftrace-text.js';
import { parseTraceDat } from '../../parsers/tracedat/index.js';
import { assertNoTracingLeft, collector } from './lab-helpers.js';

const repo = resolve(import.meta.dirname, '../..');
const ftraceOk = await ftraceTracer.available();
const tcOk = await traceCmdTracer.available();
const pyOk = existsSync(LAB_PYTHON);
for (const [name, a] of [['ftrace', ftraceOk], ['trace-cmd', tcOk]] as const) {
  if (!a.ok) console.warn(`SKIPPED ${name} cases of test/capture/ftrace-signals.test.ts: ${a.reason ?? ''}`);
}
if (!pyOk) console.warn(`SKIPPED test/capture/ftrace-signals.test.ts: ${LAB_PYTHON} missing`);

const tmp = mkdtempSync(join(tmpdir(), 'migscope-signals-test-'));
// inside the repo, so that capture/package-root.ts finds package.json and node finds node_modules
const build = join(repo, 'node_modules', '.cache', `migscope-signals-${process.pid}`);
let runner = '';

beforeAll(() => {
  if (!(ftraceOk.ok || tcOk.ok) || !pyOk) return;
  mkdirSync(build, { recursive: true });
  const r = spawnSync(
    process.execPath,
    [join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '--outDir', build, '--rootDir', repo, '--module', 'NodeNext', '--moduleResolution', 'NodeNext',
      '--target', 'ES2022', '--skipLibCheck', '--types', 'node', '--noCheck', join(repo, 'test', 'capture', 'capture-cli-runner.ts')],
    { encoding: 'utf8', cwd: repo },
  );
  runner = join(build, 'test', 'capture', 'capture-cli-runner.js');
  if (!existsSync(runner)) throw new Error(`tsc did not build the runner: ${r.stdout}${r.stderr}`);
  writeFileSync(join(build, 'package.json'), '{"type":"module"}\n');
}, 180_000);
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  rmSync(build, { recursive: true, force: true });
});

/** Writes device_state-like values every 20 ms for up to `seconds`, then exits 0. */
function workload(seconds: number): string {
  const f = join(tmp, `loop-${seconds}.py`);
  writeFileSync(
    f,
    [
      'import os, sys, time',
      'fd = os.open(os.devnull, os.O_RDWR)',
      `end = time.monotonic() + ${seconds}`,
      'i = 0',
      'while time.monotonic() < end:',
      "    os.pwrite(fd, (0x100 + i).to_bytes(4, 'little'), 0x90000000000)",
      '    os.pread(fd, 4, 0x90000000000)',
      '    i += 1',
      '    time.sleep(0.02)',
      '',
    ].join('\n'),
  );
  return f;
}

function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
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

function exited(p: ChildProcess): Promise<number | null> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve(p.exitCode);
  return new Promise((r) => p.once('exit', (c) => r(c)));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function captureAndSignal(tracer: 'ftrace' | 'trace-cmd', signal: 'SIGINT' | 'SIGTERM', out: string) {
  const seconds = signal === 'SIGINT' ? 30 : 4;
  const p = spawn(process.execPath, [runner, tracer, out, '--', LAB_PYTHON, workload(seconds)], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  p.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  await waitFor(() => /tracing pid \d+/.test(stderr) || p.exitCode !== null, 30_000, 'the capture to start');
  const pid = Number(/tracing pid (\d+)/.exec(stderr)?.[1]);
  expect(pid).toBeGreaterThan(0);
  await new Promise((r) => setTimeout(r, 500)); // let some pwrites happen
  expect(alive(pid)).toBe(true);
  if (signal === 'SIGINT') {
    process.kill(-(p.pid ?? 0), 'SIGINT'); // Ctrl-C in a terminal: the whole process group
  } else {
    process.kill(p.pid ?? 0, 'SIGTERM'); // the capture alone: the workload runs on
    // the tracing state is gone while the traced program still runs
    await waitFor(() => !existsSyncInstance(pid), 15_000, 'the instance to be removed');
    expect(alive(pid)).toBe(true);
    assertNoTracingLeft(pid);
  }
  const code = await exited(p);
  return { code, stderr, pid };
}

function existsSyncInstance(pid: number): boolean {
  const dir = '/sys/kernel/tracing/instances';
  try {
    return spawnSync('ls', [dir], { encoding: 'utf8' }).stdout.split('\n').some((n) => n.startsWith(`migscope-${pid}-`) || n.startsWith(`migscope-tc-${pid}-`));
  } catch {
    return false;
  }
}

describe.skipIf(!ftraceOk.ok || !pyOk)('ftrace capture interrupted', () => {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    it(`${sig}: file complete, nothing left in tracefs`, async () => {
      const out = join(tmp, `ftrace-${sig}.txt`);
      const { code, stderr, pid } = await captureAndSignal('ftrace', sig, out);
      expect(code, stderr).toBe(0);
      expect(stderr).toMatch(new RegExp(`${sig}: stopping ftrace`));
      assertNoTracingLeft(pid);
      const { sink, got } = collector();
      const parser = createFtraceTextParser(out, sink);
      readFileSync(out, 'utf8').split('\n').forEach((l, i) => parser.line(l, i + 1));
      parser.end();
      expect(got.malformed).toEqual([]);
      const writes = got.records.filter((r) => r.kind === 'access' && r.op === 'pwrite' && r.pid === pid);
      expect(writes.length).toBeGreaterThan(3);
      // consecutive values 0x100, 0x101, ... : the uprobe saw every write
      writes.forEach((w, i) => expect(w.kind === 'access' && w.value).toBe(BigInt(0x100 + i)));
      expect(got.records.filter((r) => r.kind === 'clock-sync')).toHaveLength(2);
    });
  }
});

describe.skipIf(!tcOk.ok || !pyOk)('trace-cmd capture interrupted', () => {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    it(`${sig}: trace.dat complete, nothing left in tracefs`, async () => {
      const out = join(tmp, `tc-${sig}.dat`);
      const { code, stderr, pid } = await captureAndSignal('trace-cmd', sig, out);
      expect(code, stderr).toBe(0);
      assertNoTracingLeft(pid);
      const { sink, got } = collector();
      await parseTraceDat(out, sink);
      const writes = got.records.filter((r) => r.kind === 'access' && r.op === 'pwrite' && r.offset === 0x90000000000n);
      expect(writes.length).toBeGreaterThan(3);
      writes.forEach((w, i) => expect(w.kind === 'access' && w.value).toBe(BigInt(0x100 + i)));
      expect(got.records.filter((r) => r.kind === 'clock-sync')).toHaveLength(2);
    });
  }
});
