// `migscope capture`: record what a VMM does to its VFIO devices, with a tracer from
// capture/tracers.ts (bpftrace by default), into a "migscope-capture v2" file
// (docs/capture-format.md) that `migscope analyze` reads.

import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { DEFAULT_TRACER, TRACERS } from '../../capture/tracers.js';
import { CaptureSetupError, type CaptureHandle, type CaptureResult, type CaptureTarget } from '../../capture/tracer.js';
import { findTracefs } from '../../capture/tracefs.js';
import { removeStaleState } from '../../capture/stale.js';
import { formatBytes } from '../report/terminal.js';
import { handleStopSignals } from './stop-signals.js';
import { FORMATS } from '../../parsers/index.js';
import { analyzeInputs, InputError } from './pipeline.js';
import { EXIT_OK, EXIT_USAGE } from './exit-codes.js';

interface CaptureFlags {
  readonly pid?: string;
  readonly output?: string;
  readonly tracer: string;
  readonly format: 'text' | 'json';
  readonly readWrite: boolean;
  readonly cleanup?: boolean;
  readonly waitCommand: string;
  readonly duration?: string;
  readonly maxSize?: string;
  readonly quiet?: boolean;
}

/**
 * What the finished capture holds, read back with the same parsers `analyze` uses (so the
 * summary is right for every tracer's format): records, devices, findings.
 */
async function captureSummary(file: string): Promise<string> {
  try {
    const a = await analyzeInputs([{ path: file }], { formats: FORMATS });
    const i = a.input;
    const devices = a.devices.map((d) => d.id).join(', ');
    return (
      `${i.records} records (${i.files[0]?.format ?? '?'}${i.malformed > 0 ? `, ${i.malformed} unreadable` : ''}${i.lostEvents > 0 ? `, ${i.lostEvents} LOST events` : ''}); ` +
      `${a.devices.length} VFIO device(s)${devices !== '' ? `: ${devices}` : ''}; ${a.findings.length} finding(s) — run \`migscope analyze ${file}\``
    );
  } catch (e) {
    if (e instanceof InputError) return `a file migscope cannot read back (${e.message})`;
    throw e;
  }
}

function parsePid(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new CaptureSetupError(`--pid expects a process id, got "${text}"`);
  return Number(text);
}

/** Seconds, e.g. "30" or "0.5"; "0" only where `zero` allows it. */
export function parseSeconds(flag: string, text: string, zero: boolean): number {
  if (!/^\d+(\.\d+)?$/.test(text) || (!zero && Number(text) === 0)) throw new CaptureSetupError(`${flag} expects seconds${zero ? ' (0 or more)' : ''}, e.g. 30 or 0.5, got "${text}"`);
  return Number(text);
}

/** A size: bytes, or with a K/M/G suffix (powers of 1024), e.g. 500M. */
export function parseSize(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMG]i?B?|B)?$/i.exec(text.trim());
  if (m === null || Number(m[1]) <= 0) throw new CaptureSetupError(`${flag} expects a size such as 500M, 2G or 1048576, got "${text}"`);
  const unit = (m[2] ?? 'B').toUpperCase()[0];
  const mult = unit === 'K' ? 1024 : unit === 'M' ? 1024 ** 2 : unit === 'G' ? 1024 ** 3 : 1;
  return Math.floor(Number(m[1]) * mult);
}

export function registerCaptureCommand(program: Command): void {
  program
    .command('capture')
    .summary('record a VMM\'s VFIO migration syscalls with a tracer (needs root)')
    .description(
      'Record what a VMM does to its VFIO devices: every pread64/pwrite64 with the value read or\n' +
        'written, VFIO ioctls with their replies (device names, region info), openat/close, and a\n' +
        'clock-sync record, into a versioned capture file (docs/capture-format.md) for `migscope analyze`.\n' +
        'Tracing stops when the traced process exits, or on Ctrl-C / SIGTERM; the file is complete either way.',
    )
    .argument('[command...]', 'command to start and trace (after --)')
    .option('-p, --pid <pid>', 'trace this running process (all its threads)')
    .option('-o, --output <file>', 'capture file to write (required unless --cleanup)')
    .addOption(new Option('--tracer <name>', 'capture back end').choices([...TRACERS.keys()]).default(DEFAULT_TRACER))
    .addOption(new Option('--format <format>', 'tracer output flavour').choices(['text', 'json']).default('text'))
    .option('--no-read-write', 'do not record read()/write() (only needed for protocol v2 data_fd traffic)')
    .option('--duration <seconds>', 'stop after this many seconds')
    .option('--max-size <size>', 'stop once the capture holds this much (e.g. 500M, 2G)')
    .option('--wait-command <seconds>', 'after a stop, how long to wait for a command started after -- to exit (it is never killed)', '1')
    .option('--cleanup', 'only remove tracing state left by killed migscope captures (tracefs instances, uprobes, trace-cmd recorders), say what, and exit')
    .option('-q, --quiet', 'no progress line')
    .addHelpText(
      'after',
      `
Examples:
  sudo migscope capture --pid $(pidof qemu-system-x86_64) -o mig.trace     trace a running VMM; Ctrl-C to stop
  sudo migscope capture -o mig.trace -- qemu-system-x86_64 -incoming ...   start the VMM and trace it from its first syscall
  sudo migscope capture --format json -o mig.json --pid 4242                bpftrace's JSON output instead of text
  migscope analyze mig.trace                                               then: timeline and findings

Tracers: bpftrace (default; sees every value), ftrace (syscall events plus a libc uprobe for
values written; values read are invisible), trace-cmd (the same into a trace.dat). What each can
show: docs/tracers.md.
Needs: root, the tracer (Debian/Ubuntu packages "bpftrace", "trace-cmd"), tracefs (mounted on demand).
Only the given process is traced, not its children. Values are read from user memory, so
accesses through mmap are invisible (docs/capture-format.md, "What the tracer cannot see").

Stopping: tracing stops when the traced process exits, after --duration or --max-size, or on
Ctrl-C / SIGTERM; the file is completed and summarised either way. A second Ctrl-C stops at
once (tracing state is still removed; the file may be cut short). A command started after --
is in migscope's process group, so a terminal's Ctrl-C reaches it too, as with
\`trace-cmd record -- CMD\`; a SIGTERM to migscope alone leaves it running, untraced. migscope
waits --wait-command seconds for it to exit, then says it still runs and exits without it.
Each capture first removes tracing state whose migscope was killed (named with its owner's
pid; a live capture's or another tool's state is never touched) and says what it removed.
Exit status: 0 captured, 2 could not capture (tracer missing, not root, no such process, bad
usage, the tracer failed), or a second signal cut the capture short.`,
    )
    .action(async (command: string[], flags: CaptureFlags) => {
      process.exitCode = await runCapture(command, flags);
    });
}

/** Stale tracing state of killed captures (capture/stale.ts): removed, and said so. */
function removeStale(err: (m: string) => void): number {
  if (typeof process.geteuid === 'function' && process.geteuid() !== 0) return 0;
  const root = findTracefs();
  if (root === undefined) return 0;
  const r = removeStaleState(root);
  for (const m of r.removed) err(`removed tracing state of a killed migscope capture: ${m}`);
  for (const m of r.failed) err(`could not remove tracing state of a killed migscope capture: ${m}`);
  return r.removed.length + r.failed.length;
}

/** Bytes of the capture so far: the file, and trace-cmd's per-CPU files beside it while it records. */
function captureBytes(output: string): number {
  let n = 0;
  try {
    n += statSync(output).size;
  } catch {
    // not yet written (trace-cmd writes it at the end)
  }
  try {
    const dir = dirname(resolve(output));
    const base = basename(output);
    for (const f of readdirSync(dir)) if (f.startsWith(`${base}.cpu`)) n += statSync(join(dir, f)).size;
  } catch {
    // nothing beside it
  }
  return n;
}

/** "CPU:3 [LOST 12 EVENTS]" (ftrace text) / bpftrace's "Lost 12 events" (stderr). */
const LOST = /\bLOST (\d+) EVENTS\b|\bLost (\d+) events\b/;

export async function runCapture(command: readonly string[], flags: CaptureFlags): Promise<number> {
  const err = (m: string): void => {
    if (bar !== undefined) bar.stop();
    bar = undefined;
    process.stderr.write(`migscope capture: ${m}\n`);
  };
  let bar: cliProgress.SingleBar | undefined;
  const progress = { events: 0, lost: 0 };
  try {
    if (flags.cleanup === true) {
      if (command.length > 0 || flags.pid !== undefined || flags.output !== undefined) throw new CaptureSetupError('--cleanup takes no target and no --output');
      if (typeof process.geteuid === 'function' && process.geteuid() !== 0) throw new CaptureSetupError('--cleanup needs root (tracefs)');
      const n = removeStale(err);
      if (n === 0) err('no tracing state of a killed migscope capture found');
      return EXIT_OK;
    }
    let target: CaptureTarget;
    if (flags.output === undefined) throw new CaptureSetupError("required option '-o, --output <file>' not specified");
    const output = flags.output;
    if (flags.pid !== undefined && command.length > 0) throw new CaptureSetupError('give either --pid or a command after --, not both');
    if (flags.pid !== undefined) target = { kind: 'pid', pid: parsePid(flags.pid) };
    else if (command.length > 0) target = { kind: 'command', argv: command };
    else throw new CaptureSetupError('nothing to trace: give --pid PID or a command after -- (see --help)');
    const waitMs = parseSeconds('--wait-command', flags.waitCommand, true) * 1000;
    const durationMs = flags.duration !== undefined ? parseSeconds('--duration', flags.duration, false) * 1000 : undefined;
    const maxBytes = flags.maxSize !== undefined ? parseSize('--max-size', flags.maxSize) : undefined;

    const tracer = TRACERS.get(flags.tracer);
    if (tracer === undefined) throw new CaptureSetupError(`unknown tracer ${flags.tracer}`);
    const avail = await tracer.available();
    if (!avail.ok) throw new CaptureSetupError(avail.reason ?? `${tracer.name} is not usable here`);
    removeStale(err);

    let handle: CaptureHandle | undefined;
    let stopReason: string | undefined;
    const stop = (why: string): void => {
      if (stopReason !== undefined) return;
      stopReason = why;
      err(`${why}: stopping ${tracer.name} and completing ${output} ...`);
      handle?.stop();
    };
    const signals = handleStopSignals({ command: 'capture', onStop: (sig) => stop(sig) });
    const timers: NodeJS.Timeout[] = [];
    try {
      handle = await tracer.start({
        target,
        output,
        format: flags.format,
        readWrite: flags.readWrite,
        commandWaitMs: waitMs,
        log: (m) => {
          const l = LOST.exec(m);
          if (l !== null) progress.lost += Number(l[1] ?? l[2]);
          err(m);
        },
        onLine: (line) => {
          if (line.startsWith('#')) return;
          const l = LOST.exec(line);
          if (l !== null) progress.lost += Number(l[1] ?? l[2]);
          else progress.events++;
        },
      });
      if (stopReason !== undefined) handle.stop();
      await handle.attached;
      err(`tracing pid ${handle.pid} with ${tracer.name} into ${output}${target.kind === 'pid' ? ' (Ctrl-C to stop)' : ''}`);
      if (durationMs !== undefined) timers.push(setTimeout(() => stop(`--duration ${flags.duration ?? ''} s reached`), durationMs));
      const showProgress = flags.quiet !== true && process.stderr.isTTY === true;
      if (showProgress) {
        bar = new cliProgress.SingleBar(
          { format: 'capturing {events} events | {bytes} | {lost} lost | {secs} s', stream: process.stderr, hideCursor: true, noTTYOutput: false },
          cliProgress.Presets.shades_classic,
        );
        bar.start(1, 0, { events: 0, bytes: '0 B', lost: 0, secs: 0 });
      }
      const t0 = Date.now();
      if (maxBytes !== undefined || showProgress) {
        timers.push(
          setInterval(() => {
            const bytes = captureBytes(output);
            if (maxBytes !== undefined && bytes >= maxBytes) stop(`--max-size ${flags.maxSize ?? ''} reached (${formatBytes(bytes)})`);
            bar?.update(0, { events: progress.events, bytes: formatBytes(bytes), lost: progress.lost, secs: Math.round((Date.now() - t0) / 1000) });
          }, 250),
        );
      }
      let res: CaptureResult;
      try {
        res = await handle.done;
      } catch (e) {
        // The tracer failed while recording or writing the file: a capture failure (exit 2), not a bug.
        throw new CaptureSetupError(`${tracer.name} failed: ${e instanceof Error ? e.message : String(e)}`);
      } finally {
        for (const t of timers) clearTimeout(t);
        bar?.stop();
        bar = undefined;
      }
      const why =
        res.stoppedBy === 'target-exited'
          ? target.kind === 'command'
            ? `command exited${res.commandExitCode !== undefined ? ` with status ${res.commandExitCode}` : ''}${res.commandSignal !== undefined ? ` on ${res.commandSignal}` : ''}`
            : `process ${handle.pid} exited`
          : res.stoppedBy === 'stop-requested'
            ? `stopped (${stopReason ?? 'stop requested'})`
            : `${tracer.name} exited (status ${String(res.tracerExitCode)})`;
      if (res.commandRunning === true) {
        err(`the traced command (pid ${handle.pid}) still runs after ${waitMs / 1000} s (--wait-command); migscope leaves it running, untraced`);
      } else if (target.kind === 'command' && res.stoppedBy === 'stop-requested' && (res.commandExitCode !== undefined || res.commandSignal !== undefined)) {
        err(`the traced command exited${res.commandExitCode !== undefined ? ` with status ${res.commandExitCode}` : ''}${res.commandSignal !== undefined ? ` on ${res.commandSignal}` : ''}`);
      }
      err(`${why}; ${output}: ${await captureSummary(output)}${progress.lost > 0 ? ` (the tracer reported ${progress.lost} lost events)` : ''}`);
      return EXIT_OK;
    } finally {
      for (const t of timers) clearTimeout(t);
      signals.dispose();
    }
  } catch (e) {
    if (e instanceof CaptureSetupError) {
      err(e.message);
      return EXIT_USAGE;
    }
    throw e;
  }
}
