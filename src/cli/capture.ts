// `migscope capture`: record what a VMM does to its VFIO devices, with a tracer from
// capture/tracers.ts (bpftrace by default), into a "migscope-capture v2" file
// (docs/capture-format.md) that `migscope analyze` reads.

import { Command, Option } from 'commander';
import { DEFAULT_TRACER, TRACERS } from '../../capture/tracers.js';
import { CaptureSetupError, type CaptureTarget } from '../../capture/tracer.js';
import { FORMATS } from '../../parsers/index.js';
import { analyzeInputs, InputError } from './pipeline.js';
import { EXIT_OK, EXIT_USAGE } from './exit-codes.js';

interface CaptureFlags {
  readonly pid?: string;
  readonly output: string;
  readonly tracer: string;
  readonly format: 'text' | 'json';
  readonly readWrite: boolean;
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

Tracers: bpftrace (default; sees every value), ftrace (syscall events plus a libc uprobe for
values written; values read are invisible), trace-cmd (the same into a trace.dat). What each can
show: docs/tracers.md.
Needs: root, the tracer (Debian/Ubuntu packages "bpftrace", "trace-cmd"), tracefs (mounted on demand).
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

    const handle = await tracer.start({
      target,
      output: flags.output,
      format: flags.format,
      readWrite: flags.readWrite,
      log: err,
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
      err(`${why}; ${flags.output}: ${await captureSummary(flags.output)}`);
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
