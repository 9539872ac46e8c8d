// The export flags shared by `migscope analyze` and (later) `migscope watch`, and their
// translation to ExportOptions. The CLI registers them and calls exportAnalysis:
//
//   registerExportOptions(cmd);                         // in registerAnalyzeCommand
//   const opts = exportOptionsFromFlags(flags);         // undefined without --export
//   if (opts !== undefined) {
//     const summary = await exportAnalysis(analysis, opts);
//     process.stderr.write(formatSummary(summary));
//     if (!summary.ok) status = EXIT_EXPORT_FAILED;
//   }
//
// Everything else (endpoint, protocol, headers, service name, resource attributes,
// per-signal exporters) is configured with the standard OTEL_* variables.

import { Option, type Command } from 'commander';
import type { ExportOptions } from './exporter.js';

export interface ExportFlags {
  readonly export?: string | undefined;
  readonly migrationId?: string | undefined;
  readonly linkDevice?: readonly string[] | undefined;
  readonly exportTimeout?: string | undefined;
}

/** A bad export flag; the message says what was expected (the CLI prints it and exits 2). */
export class ExportUsageError extends Error {}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function registerExportOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--export <target>', 'send spans and metrics to OpenTelemetry: otlp (configured by OTEL_* variables, default http://localhost:4318) or console').choices([
        'otlp',
        'console',
      ]),
    )
    .option('--migration-id <id>', 'the migration id given to both hosts: their sessions land in one trace (default: W3C TRACEPARENT if set)')
    .option('--link-device <ID=NAME>', 'name a device for linking the destination\'s resume to the source\'s save when the hosts see it under different ids (repeatable)', collect)
    .option('--export-timeout <seconds>', 'give up flushing the export after this long (default: twice OTEL_EXPORTER_OTLP_TIMEOUT + 5 s)');
}

/** ExportOptions for the flags, or undefined when --export was not given. */
export function exportOptionsFromFlags(flags: ExportFlags): ExportOptions | undefined {
  if (flags.export === undefined) {
    if (flags.migrationId !== undefined) throw new ExportUsageError('--migration-id needs --export otlp (or console)');
    return undefined;
  }
  if (flags.export !== 'otlp' && flags.export !== 'console') throw new ExportUsageError(`--export expects otlp or console, got "${flags.export}"`);
  const deviceLinkNames = new Map<string, string>();
  for (const item of flags.linkDevice ?? []) {
    const m = /^([^=]+)=(.+)$/.exec(item);
    if (m === null || m[1] === undefined || m[2] === undefined) throw new ExportUsageError(`--link-device expects ID=NAME (e.g. 0000:65:00.0=nic0), got "${item}"`);
    deviceLinkNames.set(m[1], m[2]);
  }
  let shutdownTimeoutMs: number | undefined;
  if (flags.exportTimeout !== undefined) {
    const t = flags.exportTimeout.trim();
    if (!/^\d+(\.\d+)?$/.test(t) || Number(t) <= 0) throw new ExportUsageError(`--export-timeout expects seconds > 0, got "${flags.exportTimeout}"`);
    shutdownTimeoutMs = Math.ceil(Number(t) * 1000);
  }
  if (flags.migrationId !== undefined && flags.migrationId.trim() === '') throw new ExportUsageError('--migration-id is empty');
  return {
    migrationId: flags.migrationId,
    deviceLinkNames,
    shutdownTimeoutMs,
    // --export console: both signals to the console, whatever OTEL_*_EXPORTER says.
    ...(flags.export === 'console' ? { traces: ['console'] as const, metrics: ['console'] as const } : {}),
  };
}
