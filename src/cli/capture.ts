// `migscope capture`: record what a VMM does to its VFIO devices, with a tracer from
// capture/tracers.ts (bpftrace by default), into a "migscope-capture v1" file
// (docs/capture-format.md) that `migscope analyze` reads.

import { Command, Option } from 'commander';
import { DEFAULT_TRACER, TRACERS } from '../../capture/tracers.js';
import { CaptureSetupError, type CaptureTarget } from '../../capture/tracer.js';
import { createBpftraceParser } from '../../parsers/bpftrace.js';
import type { ParserSink, TraceRecordKind } from '../record/types.js';
import { EXIT_OK, EXIT_USAGE } from './exit-codes.js';

interface CaptureFlags {
  readonly pid?: string;
  readonly output: string;
  readonly tracer: string;
  readonly format: 'text' | 'json';
  readonly readWrite: boolean;
}

/** Counts what the capture holds, by running the parser over each line as it is written. */
function recordCounter(file: string): {
  onLine: (line: string) => void;
  summary: () => string;
} {
  const byKind = new Map<TraceRecordKind, number>();
  let lost = 0;
  let malformed = 0;
  let lineNo = 0;
  const sink: ParserSink = {
    record(r) {
      byKind.set(r.kind, (byKind.get(r.kind) ?? 0) + 1);
      if (r.kind === 'lost-events') lost += r.count ?? 0;
    },
    skipped() {
      // not counted in the summary
    },
    malformed() {
      malformed++;
    },
    clock() {
      // the file says
    },
  };
  const parser = createBpftraceParser(file, sink);
  return {
    onLine: (line) => parser.line(line, ++lineNo),
    summary: () => {
      const total = [...byKind.values()].reduce((a, b) => a + b, 0);
      const parts = [...byKind.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`);
      return (
        `${total} records${parts.length > 0 ? ` (${parts.join(', ')})` : ''}` +
        `${lost > 0 ? `, ${lost} events LOST (the tracer's buffer overflowed)` : ', no lost events'}` +
        `${malformed > 0 ? `, ${malformed} unreadable lines` : ''}`
      );
    },
  };
}

function parsePid(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new CaptureSetupError(`--pid expects a process id, got "${text}"`);
  return Number(text);
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
    .requiredOption('-o, --output <file>', 'capture file to write')
    .addOption(new Option('--tracer <name>', 'capture back end').choices([...TRACERS.keys()]).default(DEFAULT_TRACER))
    .addOption(new Option('--format <format>', 'tracer output flavour').choices(['text', 'json']).default('text'))
    .option('--no-read-write', 'do not record read()/write() (only needed for protocol v2 data_fd traffic)')
    .addHelpText(
      'after',
      `
Examples:
  sudo migscope capture --pid $(pidof qemu-system-x86_64) -o mig.trace     trace a running VMM; Ctrl-C to stop
  sudo migscope capture -o mig.trace -- qemu-system-x86_64 -incoming ...   start the VMM and trace it from its first syscall
  sudo migscope capture --format json -o mig.json --pid 4242                bpftrace's JSON output instead of text
  migscope analyze mig.trace                                               then: timeline and findings

Needs: root, bpftrace (Debian/Ubuntu package "bpftrace"), tracefs (mounted on demand).
Only the given process is traced, not its children. Values are read from user memory, so
accesses through mmap are invisible (docs/capture-format.md, "What the tracer cannot see").
Exit status: 0 captured, 2 could not capture (tracer missing, not root, no such process, bad usage).`,
    )
    .action(async (command: string[], flags: CaptureFlags) => {
      process.exitCode = await runCapture(command, flags);
    });
}

export async function runCapture(command: readonly string[], flags: CaptureFlags): Promise<number> {
  const err = (m: string): void => {
    process.stderr.write(`migscope capture: ${m}\n`);
  };
  try {
    let target: CaptureTarget;
    if (flags.pid !== undefined && command.length > 0) throw new CaptureSetupError('give either --pid or a command after --, not both');
    if (flags.pid !== undefined) target = { kind: 'pid', pid: parsePid(flags.pid) };
    else if (command.length > 0) target = { kind: 'command', argv: command };
    else throw new CaptureSetupError('nothing to trace: give --pid PID or a command after -- (see --help)');

    const tracer = TRACERS.get(flags.tracer);
    if (tracer === undefined) throw new CaptureSetupError(`unknown tracer ${flags.tracer}`);
    const avail = await tracer.available();
    if (!avail.ok) throw new CaptureSetupError(avail.reason ?? `${tracer.name} is not usable here`);

    const counter = recordCounter(flags.output);
    const handle = await tracer.start({
      target,
      output: flags.output,
      format: flags.format,
      readWrite: flags.readWrite,
      log: err,
      onLine: counter.onLine,
    });
    let interrupted = 0;
    const onSignal = (sig: NodeJS.Signals): void => {
      interrupted++;
      if (interrupted === 1) err(`${sig}: stopping ${tracer.name} and completing ${flags.output} ...`);
      handle.stop();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      await handle.attached;
      err(`tracing pid ${handle.pid} with ${tracer.name} into ${flags.output}${target.kind === 'pid' ? ' (Ctrl-C to stop)' : ''}`);
      const res = await handle.done;
      const why =
        res.stoppedBy === 'target-exited'
          ? target.kind === 'command'
            ? `command exited${res.commandExitCode !== undefined ? ` with status ${res.commandExitCode}` : ''}${res.commandSignal !== undefined ? ` on ${res.commandSignal}` : ''}`
            : `process ${handle.pid} exited`
          : res.stoppedBy === 'stop-requested'
            ? 'stopped'
            : `${tracer.name} exited (status ${String(res.tracerExitCode)})`;
      err(`${why}; captured ${counter.summary()} in ${flags.output}`);
      return EXIT_OK;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  } catch (e) {
    if (e instanceof CaptureSetupError) {
      err(e.message);
      return EXIT_USAGE;
    }
    throw e;
  }
}
