// Shared by the watch tests and bench/watch-latency.ts: the built CLI, the multi-scenario lab
// runner (test/watch/lab-runner.py), and small process helpers.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LAB_PYTHON, startLab, type RunningLab } from '../../capture/lab/run.js';
import { packageRoot } from '../../capture/package-root.js';

export const REPO = packageRoot();

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * dist/src/cli/main.js, rebuilt with the repository's tsconfig (`npm run build`) when any
 * source is newer. Type errors elsewhere in a shared checkout do not stop tsc from writing
 * the output, so success is judged by the output being fresh, not by tsc's exit status.
 */
export function builtCli(): string {
  const main = join(REPO, 'dist', 'src', 'cli', 'main.js');
  const sources = Math.max(...['src', 'parsers', 'capture'].map((d) => newestMtime(join(REPO, d))));
  if (existsSync(main) && statSync(main).mtimeMs >= sources) return main;
  const r = spawnSync(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(REPO, 'tsconfig.json')], { encoding: 'utf8', cwd: REPO });
  if (!existsSync(main) || statSync(main).mtimeMs < sources) throw new Error(`npm run build did not refresh ${main}: ${r.stdout}${r.stderr}`);
  // Then the bundle, as `npm run build` makes it (scripts/bundle-cli.mjs): the CLI users run.
  const b = spawnSync(process.execPath, [join(REPO, 'scripts', 'bundle-cli.mjs')], { encoding: 'utf8', cwd: REPO });
  if (b.status !== 0) throw new Error(`scripts/bundle-cli.mjs failed: ${b.stdout}${b.stderr}`);
  return main;
}

export const LAB_RUNNER = join(REPO, 'test', 'watch', 'lab-runner.py');

/** A child process with its output collected as it comes. */
export interface Proc {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal's name) once the process exited. */
  readonly exit: Promise<number | string>;
}

export function startProc(
  argv: readonly string[],
  opts: { readonly detached?: boolean; readonly stdin?: 'pipe' | 'ignore'; readonly onStdout?: (chunk: string) => void; readonly env?: NodeJS.ProcessEnv } = {},
): Proc {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error('empty argv');
  const child = spawn(cmd, args, { stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'], detached: opts.detached === true, cwd: REPO, env: opts.env ?? process.env });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
    opts.onStdout?.(c.toString());
  });
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const exit = new Promise<number | string>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  return { child, stdout: () => out, stderr: () => err, exit };
}

export function waitFor(cond: () => boolean, ms: number, what: string, every = 50): Promise<void> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      let ok: boolean;
      try {
        ok = cond();
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
        return;
      }
      if (ok) resolve();
      else if (Date.now() - t0 > ms) reject(new Error(`timed out after ${ms / 1000} s waiting for ${what}`));
      else setTimeout(tick, every);
    };
    tick();
  });
}

/** Kill a process (and, when it leads one, its process group) if it still runs; wait for it. */
export async function kill(p: Proc | undefined, group = false): Promise<void> {
  if (p === undefined || p.child.exitCode !== null || p.child.signalCode !== null) return;
  const pid = p.child.pid;
  const send = (sig: NodeJS.Signals): void => {
    try {
      if (group && pid !== undefined) process.kill(-pid, sig);
      else p.child.kill(sig);
    } catch {
      // already gone
    }
  };
  send('SIGTERM');
  const t = setTimeout(() => send('SIGKILL'), 10_000);
  await p.exit;
  clearTimeout(t);
}

/** Pids of the live processes whose parent is `ppid` and whose comm is `comm`. */
export function childrenNamed(ppid: number, comm: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const m = /^\d+ \((.*)\) (\S) (\d+)/.exec(stat);
      if (m !== null && m[1] === comm && Number(m[3]) === ppid && m[2] !== 'Z') out.push(Number(e));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Is this pid a live (not zombie) process? */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

export interface MultiLab {
  readonly labs: readonly RunningLab[];
  /** [python, lab-runner.py, --run MOUNT:SCENARIO ...] */
  readonly runnerArgv: readonly string[];
  stop(): Promise<void>;
}

/** Mount one emulated device per scenario (in order) and build the runner's command line. */
export async function startLabs(scenarios: readonly string[]): Promise<MultiLab> {
  const labs: RunningLab[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(labs.map((l) => l.stop()));
  };
  try {
    for (const s of scenarios) labs.push(await startLab(s));
  } catch (e) {
    await stop();
    throw e;
  }
  const runs = scenarios.flatMap((s, i) => ['--run', `${labs[i]?.mount ?? ''}:${s}`]);
  return { labs, runnerArgv: [LAB_PYTHON, LAB_RUNNER, ...runs], stop };
}
