#!/usr/bin/env node
// migscope's command line. Each command lives in its own file; this wires them up.

import { Command } from 'commander';
import { VERSION } from './version.js';
import { registerAnalyzeCommand } from './analyze.js';
import { registerCaptureCommand } from './capture.js';
import { registerWatchCommand } from './watch.js';
import { registerReportCommand } from './report.js';
import { EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import { addConfigSupport } from './config-file.js';

// `migscope analyze … | head`: a closed stdout is the reader's choice, not an error. Any
// other write error (`--json > out.json` on a full disk: ENOSPC) is the output lost: said
// in one line, exit 2. It was rethrown, and Node printed its stack and exited 1, the
// status that means findings.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  const hint = e.code === 'ENOSPC' ? ' (the disk is full: free space, or send the output elsewhere)' : '';
  process.stderr.write(`migscope: cannot write to standard output: ${e.message}${hint}; the output is incomplete\n`);
  process.exit(EXIT_USAGE);
});

const program = new Command();
program
  .name('migscope')
  .version(VERSION)
  .description(
    'migscope watches VFIO devices live-migrate. It reads what a tracer recorded (bpftrace, ftrace,\n' +
      'trace-cmd, QEMU trace events), rebuilds each device\'s migration state timeline, checks every\n' +
      'step against the VFIO migration protocol, and says who is at fault: the VMM or the vendor driver.',
  )
  .showHelpAfterError('(run with --help for usage)')
  // Usage errors exit 2, not commander's 1 (which is the status for findings); --help and
  // --version exit 0. Set before the commands are added: they inherit it.
  .exitOverride((e) => process.exit(e.exitCode === 0 ? EXIT_OK : EXIT_USAGE))
  .addHelpText(
    'after',
    `
Quick start:
  sudo migscope capture -o mig.trace --pid $(pidof qemu-system-x86_64)   record (Ctrl-C to stop)
  migscope analyze mig.trace                                             timeline + findings

Exit status (every command): 0 done, nothing at or above --fail-on; 1 findings; 2 usage error,
unusable input (unreadable, unrecognised, no VFIO device in it), a capture that could not run,
output that could not be written (disk full), or a stop forced by a second signal; 3 the export
lost spans or metric points.

Docs: README.md, docs/capture-format.md, docs/json-schema.md, docs/telemetry.md`,
  );

registerCaptureCommand(program);
registerAnalyzeCommand(program);
registerWatchCommand(program);
registerReportCommand(program);
// After every command is registered: --config, MIGSCOPE_* variables, file values (config-file.ts).
addConfigSupport(program);

program
  .parseAsync(process.argv)
  .then(() => {
    // Exporters can keep a socket or timer alive briefly after a timed-out shutdown; the
    // command is done, so exit once stdout has drained (a piped --json must not be cut).
    process.stdout.write('', () => process.exit(process.exitCode ?? 0));
  })
  .catch((e: unknown) => {
    process.stderr.write(`migscope: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.stderr.write('This is a bug in migscope; please report it with the command line and, if you can, the input.\n');
    // The documented statuses are 0-3 only (README "Exit status"): a bug means the input
    // could not be handled, so 2.
    process.exitCode = EXIT_USAGE;
  });
