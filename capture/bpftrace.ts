// The bpftrace capture back end: runs capture/migscope.bt against one process and writes
// the "migscope-capture v2" file (docs/capture-format.md).
//
// The file is written by this runner, not by `bpftrace -o`, so that it can begin with the
// runner's header and clock-sync lines and end with a second clock-sync line; bpftrace's
// stdout is copied into it line by line, put back in timestamp order (capture/reorder.ts). bpftrace's stderr goes to the log, minus the
// harmless RLIMIT_MEMLOCK complaint (LAB-NOTES: it cannot be raised here and bpftrace works).
//
// Host mode (target `all`, `migscope watch --all`): one bpftrace for every VMM on the host;
// capture/vmm-registry.ts decides which processes are VMMs and registers them with the
// program as they appear (the program drops them as they exit). It runs until stop().
//
// Targets: a pid, or a command. bpftrace's own `-c` cannot be used with a pid filter
// (`cpid` is unknown before the run and `$1` must be fixed), so a command is started here
// as `sh -c 'read <&3; exec "$@"'`: its pid is known at once, it waits until bpftrace is
// attached, then execs the command under the same pid. Either way the capture stops when
// the traced process exits (or on stop()).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, type WriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { readClockPair, type ClockPair } from './clock.js';
import { bpftraceLineSource, createReorderer } from './reorder.js';
import { shippedFile } from './package-root.js';
import { createCdevAnnouncer } from './vfio-cdev.js';
import { childExited } from './child-exit.js';
import { hostField } from './host-field.js';
import { isVmm, parseExecLine, registerVmm, runningVmms, unregisterVmm } from './vmm-registry.js';
import {
  CaptureSetupError,
  type Availability,
  type CaptureHandle,
  type CaptureOptions,
  type CaptureResult,
  type Tracer,
} from './tracer.js';

/** v2: `vfiodev` records name iommufd cdevs by PCI address (docs/capture-format.md). */
export const CAPTURE_FORMAT_VERSION = 2;

/** How long a line may wait for earlier ones from other CPUs' buffers (capture/reorder.ts). */
const REORDER_HOLD_NS = 250_000_000n;

/** The bpftrace program, located in the source tree (works from dist/ too). */
export function bpftraceProgramPath(): string {
  return shippedFile('capture', 'migscope.bt');
}

const TRACEFS_CANDIDATES = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'] as const;

function tracefsHasSyscalls(): boolean {
  return TRACEFS_CANDIDATES.some((d) => existsSync(`${d}/events/syscalls/sys_enter_pread64`));
}

/** bpftrace needs tracefs for tracepoint formats; it is not mounted at boot here (LAB-NOTES). */
function ensureTracefs(): string | undefined {
  if (tracefsHasSyscalls()) return undefined;
  const r = spawnSync('mount', ['-t', 'tracefs', 'nodev', '/sys/kernel/tracing'], { encoding: 'utf8' });
  if (tracefsHasSyscalls()) return undefined;
  return `tracefs with syscall tracepoints is not available (mount -t tracefs nodev /sys/kernel/tracing: ${
    r.error?.message ?? (r.stderr.trim() || `exit ${String(r.status)}`)
  })`;
}

export async function bpftraceAvailable(): Promise<Availability> {
  const v = spawnSync('bpftrace', ['--version'], { encoding: 'utf8' });
  if (v.error !== undefined) {
    return { ok: false, reason: 'bpftrace is not installed or not on PATH (Debian/Ubuntu: apt-get install bpftrace)' };
  }
  if (typeof process.geteuid === 'function' && process.geteuid() !== 0) {
    return { ok: false, reason: 'bpftrace needs root (run migscope capture with sudo)' };
  }
  const t = ensureTracefs();
  if (t !== undefined) return { ok: false, reason: t };
  if (!existsSync(bpftraceProgramPath())) {
    return { ok: false, reason: `the bpftrace program is missing: ${bpftraceProgramPath()}` };
  }
  return { ok: true };
}

/** True while `pid` exists and is not a zombie. */
/** After the target exits: stop once bpftrace's output has been quiet this long… */
const QUIET_MS = 300;
/** …but never wait longer than this. */
const MAX_DRAIN_MS = 3_000;

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM means it exists but is not ours to signal
    return e instanceof Error && 'code' in e && e.code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The runner's first line (docs/capture-format.md); `hostName` is this host's unless a test says otherwise. */
export function headerLine(o: Pick<CaptureOptions, 'target' | 'format' | 'readWrite'>, pid: number | undefined, hostName?: string): string {
  const target = o.target.kind === 'all' ? `all match=${JSON.stringify(o.target.match.source)}` : o.target.kind === 'pid' ? `pid:${String(pid)}` : `command:${String(pid)}`;
  // host= before target=: a host-mode target's match="REGEX" is free text (the parser reads host= only before it).
  return `# migscope-capture v${CAPTURE_FORMAT_VERSION} tracer=bpftrace format=${o.format} runner=migscope${hostField(hostName)} target=${target} read_write=${o.readWrite ? 1 : 0}`;
}

function clockSyncLine(c: ClockPair, where: 'start' | 'end'): string {
  return `${c.traceNs} clocksync clock=mono wall_ns=${c.wallNs} uncertainty_ns=${c.uncertaintyNs} source=runner at=${where}`;
}

/** In JSON mode the runner's own lines are wrapped like bpftrace's printf records. */
function wrap(format: 'text' | 'json', line: string): string {
  // same spacing as bpftrace 0.17's own JSON lines
  return format === 'json' ? `{"type": "printf", "data": ${JSON.stringify(`${line}\n`)}}` : line;
}

function isBeginLine(line: string): boolean {
  return /# migscope-capture v\d+ tracer=bpftrace program=migscope\.bt/.test(line);
}

const MEMLOCK_NOISE = /couldn't set RLIMIT_MEMLOCK/;

function splitLines(onLine: (l: string) => void): { push(chunk: Buffer): void; flush(): void } {
  let rest = '';
  return {
    push(chunk) {
      const text = rest + chunk.toString('utf8');
      const parts = text.split('\n');
      rest = parts.pop() ?? '';
      for (const p of parts) onLine(p);
    },
    flush() {
      if (rest !== '') onLine(rest);
      rest = '';
    },
  };
}

function startCommand(argv: readonly string[]): { child: ChildProcess; release: () => void } {
  if (argv.length === 0) throw new CaptureSetupError('no command given');
  // fd 3 is a pipe the wrapper waits on; `exec 3<&-` closes it before the command runs.
  const child = spawn('/bin/sh', ['-c', 'read _ <&3; exec 3<&-; exec "$@"', 'migscope-capture', ...argv], {
    stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
  });
  const gate = child.stdio[3];
  return {
    child,
    release: () => {
      if (gate !== null && gate !== undefined && 'write' in gate) {
        const w: Writable = gate;
        w.end('\n');
      }
    },
  };
}

async function start(o: CaptureOptions): Promise<CaptureHandle> {
  const log = o.log ?? ((): void => undefined);
  const avail = await bpftraceAvailable();
  if (!avail.ok) throw new CaptureSetupError(avail.reason ?? 'bpftrace unavailable');

  let pid: number | undefined;
  let command: { child: ChildProcess; release: () => void } | undefined;
  const hostMode = o.target.kind === 'all' ? o.target.match : undefined;
  if (o.target.kind === 'all') {
    // exec records are decided on as text (vmm-registry.ts) before they reach the file
    if (o.format !== 'text') throw new CaptureSetupError('tracing every VMM (--all) writes the text format only');
    pid = undefined;
  } else if (o.target.kind === 'pid') {
    pid = o.target.pid;
    if (!Number.isInteger(pid) || pid <= 0 || !processAlive(pid)) throw new CaptureSetupError(`no such process: ${pid}`);
  } else {
    command = startCommand(o.target.argv);
    const p = command.child.pid;
    if (p === undefined) throw new CaptureSetupError(`cannot start ${o.target.argv.join(' ')}`);
    pid = p;
  }

  const out: WriteStream = createWriteStream(o.output);
  await new Promise<void>((resolve, reject) => {
    out.once('open', () => resolve());
    out.once('error', (e) => reject(new CaptureSetupError(`cannot write ${o.output}: ${e.message}`)));
  });
  let lines = 0;
  const write = (line: string): void => {
    out.write(`${line}\n`);
    lines++;
    o.onLine?.(line);
  };
  // An openat of /dev/vfio/devices/vfioN is preceded by the vfiodev record naming that cdev,
  // when the start-of-capture list did not already name it so (capture/vfio-cdev.ts).
  const cdevs = createCdevAnnouncer(o.sysfsRoot);
  const emit = (line: string): void => {
    const named = cdevs.before(line);
    if (named !== undefined) write(wrap(o.format, named));
    write(line);
  };
  write(wrap(o.format, headerLine(o, pid)));
  const startSync = readClockPair();
  write(wrap(o.format, clockSyncLine(startSync, 'start')));
  for (const l of cdevs.initial(startSync.traceNs)) write(wrap(o.format, l));

  const flags = (o.readWrite ? 1 : 0) | (hostMode !== undefined ? 2 : 0);
  // 128: the longest string (path, device name) that keeps migscope.bt within the 512-byte BPF stack
  // 1024 pages (4 MiB) of perf ring buffer per CPU instead of 64: a VMM's 8-byte data-section
  // syscalls come in bursts of thousands, and a lost record is a hole in the protocol.
  const env = {
    ...process.env,
    BPFTRACE_STRLEN: '128',
    BPFTRACE_PERF_RB_PAGES: process.env['BPFTRACE_PERF_RB_PAGES'] ?? '1024',
  };
  // Own process group: a terminal Ctrl-C reaches us, and we stop bpftrace exactly once.
  const bt = spawn('bpftrace', ['-f', o.format, bpftraceProgramPath(), String(pid ?? 0), String(flags), String(hostMode !== undefined ? process.pid : 0)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    env,
  });

  // bpftrace runs in its own process group, so it would outlive a migscope that exits
  // without stopping it (a second Ctrl-C, an exception): stop it on the way out.
  const killOnExit = (): void => {
    if (bt.exitCode === null && bt.signalCode === null) bt.kill('SIGINT');
  };
  process.on('exit', killOnExit);
  bt.once('exit', () => process.off('exit', killOnExit));

  let attachedResolve: () => void = () => undefined;
  let attachedReject: (e: Error) => void = () => undefined;
  const attached = new Promise<void>((res, rej) => {
    attachedResolve = res;
    attachedReject = rej;
  });
  attached.catch(() => undefined); // observed through `done` as well
  let isAttached = false;
  let stderrTail: string[] = [];

  const reorder = createReorderer(bpftraceLineSource, emit, REORDER_HOLD_NS);
  const ticker = setInterval(() => reorder.tick(), 50);
  const traced = new Set<number>();
  /** Host mode: trace this process from now on (it exists: checked after the kernel took it). */
  const adopt = (p: number, name: string): void => {
    if (traced.has(p) || !registerVmm(p)) return;
    // It may have exited between the decision and the registration (then the program's
    // exit probe ran before it was in the map): take it back out.
    if (!processAlive(p)) return void unregisterVmm(p);
    traced.add(p);
    log(`tracing pid ${p} (${name})`);
  };
  const VMM_GONE = /^\d+ vmmexit pid=(\d+) .*why=(\w+)/;
  const stdoutLines = splitLines((line) => {
    if (hostMode !== undefined) {
      // Every exec on the host is reported; only a VMM's is kept (and registered at once:
      // until then its syscalls are not traced, migscope.bt counts what that misses).
      const ex = parseExecLine(line);
      if (ex !== undefined) {
        if (!isVmm(hostMode, ex)) return;
        adopt(ex.pid, ex.comm);
      }
      const gone = VMM_GONE.exec(line);
      if (gone !== null && traced.delete(Number(gone[1]))) log(`pid ${gone[1]} no longer traced (${gone[2] ?? ''})`);
    }
    reorder.push(line);
    if (!isAttached && isBeginLine(line)) {
      isAttached = true;
      attachedResolve();
      if (hostMode !== undefined) {
        const exclude = new Set([process.pid, bt.pid ?? -1]);
        for (const v of runningVmms(hostMode, exclude)) adopt(v.pid, v.comm);
        if (traced.size === 0) log('no VMM running yet; waiting for one to start');
      }
    }
  });
  bt.stdout?.on('data', (c: Buffer) => stdoutLines.push(c));
  const stderrLines = splitLines((line) => {
    if (line.trim() === '' || MEMLOCK_NOISE.test(line)) return;
    stderrTail = [...stderrTail.slice(-19), line];
    log(`bpftrace: ${line}`);
  });
  bt.stderr?.on('data', (c: Buffer) => stderrLines.push(c));

  let stoppedBy: CaptureResult['stoppedBy'] = 'tracer-exited';
  let stopSent = false;
  let targetExitSeen = false;
  let lastOutputAt = Date.now();
  bt.stdout?.on('data', () => {
    lastOutputAt = Date.now();
  });
  const stopTracer = (why: CaptureResult['stoppedBy']): void => {
    if (stopSent) return;
    if (why === 'target-exited' && !targetExitSeen) {
      // The target's last syscalls may still sit in bpftrace's per-CPU buffers (a loaded
      // machine drains them late, and bpftrace does not drain them after SIGINT): wait
      // until its output has been quiet for a moment (at most a few seconds) first.
      targetExitSeen = true;
      const t0 = Date.now();
      const poll = setInterval(() => {
        if (Date.now() - lastOutputAt >= QUIET_MS || Date.now() - t0 >= MAX_DRAIN_MS) {
          clearInterval(poll);
          stopTracer(why);
        }
      }, 50);
      return;
    }
    stopSent = true;
    stoppedBy = why;
    try {
      bt.kill('SIGINT');
    } catch {
      // already gone
    }
    // bpftrace normally needs well under a second to run END and exit
    setTimeout(() => bt.exitCode === null && bt.signalCode === null && bt.kill('SIGTERM'), 10_000).unref();
    setTimeout(() => bt.exitCode === null && bt.signalCode === null && bt.kill('SIGKILL'), 20_000).unref();
  };

  let commandExitCode: number | undefined;
  let commandSignal: string | undefined;
  let watcher: NodeJS.Timeout | undefined;
  if (command !== undefined) {
    command.child.on('exit', (code, signal) => {
      commandExitCode = code ?? undefined;
      commandSignal = signal ?? undefined;
      stopTracer('target-exited');
    });
  } else if (pid !== undefined) {
    const p = pid;
    watcher = setInterval(() => {
      if (!processAlive(p)) stopTracer('target-exited');
    }, 100);
  }

  const done = new Promise<CaptureResult>((resolve, reject) => {
    bt.on('error', (e) => {
      if (watcher !== undefined) clearInterval(watcher);
      clearInterval(ticker);
      reject(new CaptureSetupError(`cannot run bpftrace: ${e.message}`));
    });
    bt.on('close', (code) => {
      if (watcher !== undefined) clearInterval(watcher);
      stdoutLines.flush();
      stderrLines.flush();
      clearInterval(ticker);
      reorder.flush();
      let why = '';
      if (!isAttached) {
        why =
          stoppedBy === 'stop-requested'
            ? 'stopped before bpftrace had attached (it takes a few seconds to compile and attach)'
            : stderrTail.length > 0
              ? stderrTail.join('\n')
              : `bpftrace exited with status ${String(code ?? bt.signalCode)}`;
        attachedReject(new CaptureSetupError(`bpftrace did not attach: ${why}`));
        // a command that never got its go signal: do not leave it waiting
        command?.child.kill('SIGTERM');
      }
      write(wrap(o.format, clockSyncLine(readClockPair(), 'end')));
      out.end(() => {
        if (!isAttached) {
          reject(new CaptureSetupError(`bpftrace did not attach: ${why}`));
          return;
        }
        // report the command's status once it is known (after a stop: within commandWaitMs)
        void childExited(command?.child, stoppedBy === 'stop-requested' ? o.commandWaitMs : undefined).then((exited) =>
          resolve({
            output: o.output,
            lines,
            commandExitCode: command?.child.exitCode ?? commandExitCode,
            commandSignal: command?.child.signalCode ?? commandSignal,
            tracerExitCode: code ?? undefined,
            stoppedBy,
            commandRunning: !exited,
          }),
        );
      });
    });
  });
  done.catch(() => undefined);

  attached.then(
    () => command?.release(),
    () => undefined,
  );

  return {
    pid,
    attached,
    done,
    stop: () => stopTracer('stop-requested'),
  };
}

export const bpftraceTracer: Tracer = {
  name: 'bpftrace',
  description: 'bpftrace 0.17+ program capture/migscope.bt: values read and written, ioctl replies (default)',
  available: bpftraceAvailable,
  start,
};
