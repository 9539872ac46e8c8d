// `migscope watch`: capture and analyse live. Findings are printed as they are found,
// sessions are exported as spans when they end, and Prometheus metrics are served on
// 127.0.0.1:9464/metrics by default. The work is in watch-run.ts.

import { Command, Option } from 'commander';
import { TRACERS, DEFAULT_TRACER } from '../../capture/tracers.js';
import { addAnalysisOptions } from './analyze.js';
import { registerExportOptions } from '../export/cli-options.js';
import type { WatchFlags } from './watch-run.js';

export function registerWatchCommand(program: Command): void {
  const cmd = program
    .command('watch')
    .description('capture and analyse live: findings as they happen, spans as sessions end, Prometheus /metrics')
    .argument('[command...]', 'a command to start and trace (after --), or - to read a live trace from stdin')
    .option('-p, --pid <pid>', 'trace this running process (the VMM)')
    .option('--all', 'trace every VMM on the host, those started later included (QEMU unless --match; bpftrace)')
    .option('--match <regex>', "with --all: which processes are VMMs, by the leader's comm or program name (default: ^(qemu-system-.+|qemu-kvm)$)")
    .option('-t, --tracer <name>', `tracer to run (${[...TRACERS.keys()].join(', ')})`, DEFAULT_TRACER)
    .option('--save <file>', 'also keep the raw capture in this file (for a later `migscope analyze` or a bug report)')
    .option('--no-metrics', 'do not serve Prometheus metrics')
    .option('--metrics-address <host:port>', 'where to serve /metrics (use 0.0.0.0:PORT to listen on all interfaces)', '127.0.0.1:9464')
    .option('--json-lines', 'print each finding and session as one JSON object per line (for scripts)')
    .addOption(new Option('--fail-on <severity>', 'exit 1 when a finding at or above this severity was seen').choices(['error', 'warning', 'never']).default('error'))
    .option('--no-color', 'no ANSI colours');
  addAnalysisOptions(cmd);
  registerExportOptions(cmd);
  cmd.addHelpText(
    'after',
    `
Examples:
  sudo migscope watch --pid $(pidof qemu-system-x86_64)            live findings; metrics on 127.0.0.1:9464/metrics
  sudo migscope watch --all --metrics-address 0.0.0.0:9464          every QEMU on the host, now and later (the fleet agent)
  sudo migscope watch --all --match '^cloud-hyperviso'              cloud-hypervisor instead (comm is cut to 15 bytes)
  sudo migscope watch --export otlp --migration-id mig-42 -- qemu-system-x86_64 ...
  bpftrace capture/migscope.bt ... | migscope watch -              analyse a live stream from another tracer run

Ctrl-C stops tracing, flushes the export, and prints the summary.`,
  );
  cmd.action(async (command: string[], flags: WatchFlags) => {
    const { watchAction } = await import('./watch-run.js');
    process.exitCode = await watchAction(command, flags);
  });
}

