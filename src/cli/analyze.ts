// `migscope analyze`: trace files in, timeline and findings out (terminal or JSON),
// exit status for scripts.

import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { analyzeInputs, InputError, type InputSpec } from './pipeline.js';
import { FORMATS } from '../../parsers/index.js';
import { checkHostName } from '../../parsers/text/host-name.js';
import { collect, parseOffset, parsePidFdAssignment, parsePositiveInt, parsePositiveNumber, parseSecondsToNs, UsageError } from './flags.js';
import { terminalChunks } from '../report/terminal.js';
import { jsonChunks } from '../report/json.js';
import { writeChunks } from './write-chunks.js';
import type { Analysis } from '../analysis/types.js';
import type { DeviceTimeline, MigrationSession } from '../track/types.js';
import { createSessionSliceKeeper } from './session-slices.js';
import { openSpillFile, type SpillFile } from '../track/spill-file.js';
import { EXIT_EXPORT_FAILED, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import { handleStopSignals } from './stop-signals.js';
import { useColor } from './color.js';
// Only the flag parsing is loaded up front; the OpenTelemetry SDK and the OpenMetrics writer
// load when --export / --openmetrics ask for them (start-up time of every analyze).
import { exportOptionsFromFlags, ExportUsageError, registerExportOptions, type ExportFlags } from '../export/cli-options.js';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

export type FailOn = 'error' | 'warning' | 'never';

export interface AnalyzeFlags extends ExportFlags {
  readonly json?: boolean;
  readonly openmetrics?: string;
  readonly failOn: FailOn;
  readonly device?: string[];
  readonly region?: string[];
  readonly format?: string;
  readonly clockOffset?: string;
  readonly host?: string[];
  readonly merge?: boolean;
  readonly quiet?: boolean;
  readonly color?: boolean;
  readonly eagainLimit?: string;
  readonly traceEvents?: string;
  readonly downtimeLimit?: string;
  readonly stallIterations?: string;
  readonly estimateFactor?: string;
}

/** Why an input without a VFIO device exits 2 (the terminal report says the same, report/terminal.ts). */
export const NO_DEVICE_HINT =
  'no VFIO device in this input (migscope looks for VFIO_GROUP_GET_DEVICE_FD, /dev/vfio opens, GET_REGION_INFO replies with a migration region, or the v1 header access pattern; ' +
  'use --device PID:FD=NAME and --region PID:FD=OFFSET when the capture started after the device was opened)';

/** Big inputs get a progress bar on a terminal (issue: progress on long inputs). */
const PROGRESS_MIN_BYTES = 4 * 1024 * 1024;

/**
 * Exit 1 for a CERTAIN finding at or above --fail-on. An uncertain finding (lost events or
 * a malformed record next to its evidence could explain it) is reported, never guessed
 * into a failed run: a clean migration whose trace lost the one record that proves it must
 * not fail a script (DESIGN.md "Knowing versus guessing").
 */
export function exitStatusFor(a: Analysis, failOn: FailOn): number {
  if (failOn === 'never') return EXIT_OK;
  const hit = a.findings.some((f) => f.certainty === 'certain' && (f.severity === 'error' || (failOn === 'warning' && f.severity === 'warning')));
  return hit ? EXIT_FINDINGS : EXIT_OK;
}

/** Shared by analyze, report and export: the flags that shape the analysis itself. */
export function addAnalysisOptions(cmd: Command): Command {
  return cmd
    .option('--device <PID:FD=NAME>', 'name the device behind an fd opened before the capture started (repeatable)', collect)
    .option('--region <PID:FD=OFFSET>', 'migration region offset of a device fd, when no GET_REGION_INFO reply was captured (repeatable)', collect)
    .option('--format <name>', `input format instead of auto-detection (${FORMATS.map((f) => f.name).join(', ')})`)
    .option('--trace-events <file>', "QEMU's trace-events(-all) file for simpletrace inputs (default: one beside the trace)")
    .option('--clock-offset <seconds>', 'wall clock = trace clock + SECONDS, for traces without a clock-sync record')
    .option('--eagain-limit <n>', 'consecutive EAGAIN answers tolerated before V1-EAGAIN warns', '3')
    .option('--downtime-limit <ms>', "downtime limit to judge each device's predicted stop-copy against (default: the migrate-set-parameters downtime-limit the inputs show)")
    .option('--stall-iterations <n>', 'pre-copy iterations without a shrink before MIG-PRECOPY-STALL warns', '3')
    .option('--estimate-factor <x>', "stop-copy data above X times the device's estimate makes MIG-ESTIMATE-WRONG warn", '2')
    .option('-q, --quiet', 'no progress bar');
}

/** For commands over several files (analyze, report): which inputs are one host (src/cli/input-merge.ts). */
export function addMergeOptions(cmd: Command): Command {
  return cmd
    .option('--host <FILE=NAME>', 'the host an input is from: inputs of one host are merged into one timeline (repeatable; default: the host an input names (capture header, trace.dat, libvirt hostname:), else QEMU/libvirt/QMP logs go with the only capture)', collect)
    .option('--no-merge', 'analyse every input on its own, even inputs of one host');
}

/** --downtime-limit, --stall-iterations, --estimate-factor (issue 12), for analyze, report and watch. */
export function convergenceOptionsFromFlags(flags: Pick<AnalyzeFlags, 'downtimeLimit' | 'stallIterations' | 'estimateFactor'>): { downtimeLimitMs?: number; stallIterations?: number; estimateFactor?: number } {
  return {
    ...(flags.downtimeLimit !== undefined ? { downtimeLimitMs: parsePositiveNumber('--downtime-limit', flags.downtimeLimit, 'milliseconds, e.g. 300') } : {}),
    ...(flags.stallIterations !== undefined ? { stallIterations: parsePositiveInt('--stall-iterations', flags.stallIterations) } : {}),
    ...(flags.estimateFactor !== undefined ? { estimateFactor: parsePositiveNumber('--estimate-factor', flags.estimateFactor, 'a factor of at least 1, e.g. 2', 0.999999) } : {}),
  };
}

export async function runAnalysis(
  files: readonly string[],
  flags: AnalyzeFlags,
  stopReading?: Promise<unknown>,
  onSessionEnd?: (device: DeviceTimeline, session: MigrationSession) => void,
  sessionSpill?: SpillFile,
): Promise<Analysis> {
  const deviceNames = new Map<string, string>();
  for (const d of flags.device ?? []) {
    const { key, value } = parsePidFdAssignment('--device', d);
    deviceNames.set(key, value);
  }
  const regionOffsets = new Map<string, bigint>();
  for (const r of flags.region ?? []) {
    const { key, value } = parsePidFdAssignment('--region', r);
    regionOffsets.set(key, parseOffset('--region', value));
  }
  const clockOffsetNs = flags.clockOffset !== undefined ? parseSecondsToNs('--clock-offset', flags.clockOffset) : undefined;
  const eagainLimit = flags.eagainLimit !== undefined ? parsePositiveInt('--eagain-limit', flags.eagainLimit) : undefined;
  const inputs: InputSpec[] = files.map((path) => ({ path, format: flags.format }));
  const hosts = new Map<string, string>();
  for (const h of flags.host ?? []) {
    const eq = h.lastIndexOf('=');
    if (eq <= 0 || eq === h.length - 1) throw new UsageError(`--host expects FILE=NAME (e.g. --host qemu.log=hv-07), got "${h}"`);
    const path = h.slice(0, eq);
    if (!files.includes(path)) throw new UsageError(`--host ${h}: ${path} is not one of the inputs (${files.join(', ')})`);
    // The same check as the names inputs give (they are compared with each other).
    const name = checkHostName(h.slice(eq + 1));
    if (!name.ok) throw new UsageError(`--host ${h}: ${name.error}`);
    hosts.set(path, name.name);
  }
  if (inputs.filter((i) => i.path === '-').length > 1) throw new UsageError('standard input ("-") can be given once');

  const showProgress = flags.quiet !== true && process.stderr.isTTY === true;
  let bar: cliProgress.SingleBar | undefined;
  let barTotal = 0;
  let barMb = 0;
  const onProgress = showProgress
    ? (done: number, total: number | undefined): void => {
        if (total === undefined || total < PROGRESS_MIN_BYTES) return;
        if (bar === undefined || barTotal !== total) {
          bar?.stop();
          barTotal = total;
          bar = new cliProgress.SingleBar(
            { format: 'analyzing [{bar}] {percentage}% | {value}/{total} MB | {rate} MB/s | ETA {eta_formatted}', stream: process.stderr, hideCursor: true },
            cliProgress.Presets.shades_classic,
          );
          bar.start(Math.round(total / 1e6), 0, { rate: '0' });
          barMb = 0;
          startMs = Date.now();
        }
        // Only when the MB shown moves: cli-progress works out the ETA over its last 10
        // updates, and updates within one MB (a chunk is 64 KiB) made it "INF" ("ETA NFs").
        const mb = Math.round(done / 1e6);
        if (mb === barMb) return;
        barMb = mb;
        const secs = (Date.now() - startMs) / 1000;
        bar.update(mb, { rate: secs > 0 ? (done / 1e6 / secs).toFixed(1) : '0' });
      }
    : undefined;
  let startMs = Date.now();
  try {
    return await analyzeInputs(inputs, {
      formats: FORMATS,
      deviceNames,
      regionOffsets,
      clockOffsetNs,
      hosts,
      merge: flags.merge !== false,
      eagainLimit,
      ...convergenceOptionsFromFlags(flags),
      onProgress, traceEvents: flags.traceEvents, stopReading, onSessionEnd,
      ...(sessionSpill !== undefined ? { sessionSpill: { file: sessionSpill } } : {}) });
  } finally {
    bar?.stop();
  }
}

export function registerAnalyzeCommand(program: Command): void {
  const cmd = program
    .command('analyze')
    .description('rebuild each VFIO device\'s migration timeline from trace files and check it against the protocol')
    .argument('<trace...>', 'trace files (bpftrace text/JSON, ftrace text, trace-cmd report, trace.dat, QEMU log), or - for stdin')
    .option('--json', 'print the analysis as JSON (schema: docs/json-schema.md)')
    .addOption(new Option('--fail-on <severity>', 'exit 1 when a certain finding is at or above this severity (uncertain ones are reported, not counted)').choices(['error', 'warning', 'never']).default('error'))
    .option('--no-color', 'no ANSI colours in terminal output')
    .option('--openmetrics <file>', 'also write timestamped OpenMetrics for `promtool tsdb create-blocks-from openmetrics` (needs wall-clock times)');
  addAnalysisOptions(cmd);
  addMergeOptions(cmd);
  registerExportOptions(cmd);
  cmd.addHelpText(
    'after',
    `
Examples:
  migscope analyze mig.trace                     timeline and findings in the terminal
  migscope analyze mig.trace --json > mig.json   the same, for scripts
  migscope analyze src.trace dst.trace           both ends of a migration
  migscope analyze cap.trace qemu.log vm.log     a capture and the same host's QEMU/libvirt logs: one timeline
  migscope analyze a.trace b.trace a-vm.log b-vm.log   two hosts: each libvirt log goes with the capture of the host it names
  migscope analyze a.trace b.trace qemu.log --host a.trace=hv1 --host qemu.log=hv1
  bpftrace capture/migscope.bt ... | migscope analyze -
  migscope analyze late.trace --device 4242:27=0000:65:00.0 --region 4242:27=0x90000000000
  OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318 migscope analyze mig.trace --export otlp --migration-id mig-42
  migscope analyze mig.trace --openmetrics mig.om && promtool tsdb create-blocks-from openmetrics mig.om ./data

Exit status: 0 no certain finding at or above --fail-on (uncertain ones do not count), 1 findings,
2 usage error or unusable input (unreadable, unrecognised or garbage for --format, no VFIO
device in it), 3 the export lost spans or metric points. Ctrl-C or SIGTERM stops reading:
what was read so far is reported (and exported); once the input is read, the output goes on
to its end. A second signal stops at once (exit 2).

ftrace text of 8 MiB or more that is mostly other activity is read on a second thread, which
takes out the lines of no interest (same result); MIGSCOPE_LINE_FILTER=off reads on one.`,
  );
  cmd.action(async (files: string[], flags: AnalyzeFlags) => {
    process.exitCode = await analyzeAction(files, flags);
  });
}

export async function analyzeAction(files: readonly string[], flags: AnalyzeFlags): Promise<number> {
  let exportOpts: ReturnType<typeof exportOptionsFromFlags>;
  try {
    exportOpts = exportOptionsFromFlags(flags);
  } catch (e) {
    if (e instanceof ExportUsageError) {
      process.stderr.write(`migscope: ${e.message}\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
  // The first signal stops reading: the output covers what was read; a second one stops at once.
  // Once the whole trace is read, the first only says so: the output goes on to its end.
  const stage: Stage = { reading: true };
  const signals = handleStopSignals({
    command: 'analyze',
    onStop: (sig) =>
      process.stderr.write(
        stage.reading
          ? `\nmigscope: ${sig}: reading stopped; reporting what was read so far\n`
          : `\nmigscope: ${sig}: the input is read; finishing the output (a second ${sig} stops at once)\n`,
      ),
    exporting: () => exportOpts !== undefined,
  });
  try {
    return await analyzeAndReport(files, flags, exportOpts, signals.stopped, stage);
  } finally {
    signals.dispose();
  }
}

/** Where analyze is, for what a signal's message says. */
interface Stage {
  reading: boolean;
}

async function analyzeAndReport(files: readonly string[], flags: AnalyzeFlags, exportOpts: ReturnType<typeof exportOptionsFromFlags>, stopped: Promise<unknown>, stage: Stage): Promise<number> {
  // An export needs every session's own items, also past the per-device cap (session-slices.ts).
  const slices = exportOpts !== undefined ? createSessionSliceKeeper() : undefined;
  // Without an export, sessions past the latest few per device wait in a temporary file
  // (track/spill-file.ts), not in memory; the export's slices need each session's identity.
  const spill = slices === undefined ? openSpillFile() : undefined;
  try {
    return await reportAnalysis(files, flags, exportOpts, stopped, slices, spill, stage);
  } finally {
    spill?.close();
  }
}

async function reportAnalysis(
  files: readonly string[],
  flags: AnalyzeFlags,
  exportOpts: ReturnType<typeof exportOptionsFromFlags>,
  stopped: Promise<unknown>,
  slices: ReturnType<typeof createSessionSliceKeeper> | undefined,
  spill: SpillFile | undefined,
  stage: Stage,
): Promise<number> {
  let analysis: Analysis;
  try {
    analysis = await runAnalysis(files, flags, stopped, slices?.onSessionEnd, spill);
    stage.reading = false;
  } catch (e) {
    if (e instanceof InputError || e instanceof UsageError || e instanceof ExportUsageError) {
      process.stderr.write(`migscope: ${e.message}\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
  // Both written as they are produced (write-chunks.ts): never one string of the whole output.
  if (flags.json === true) {
    const bar = outputBar(analysis, flags);
    try {
      await writeChunks(process.stdout, withNewline(jsonChunks(analysis, 2, bar?.onSession)));
    } finally {
      bar?.stop();
    }
  } else await writeChunks(process.stdout, terminalChunks(analysis, { color: useColor(flags.color, process.stdout) }));
  let status = exitStatusFor(analysis, flags.failOn);
  if (analysis.devices.length === 0 && (analysis.migrations?.length ?? 0) === 0) {
    // Nothing migscope can check: unusable input (exit 2), whatever --fail-on says. The
    // terminal output carries the hint; with --json it goes to stderr.
    if (flags.json === true) process.stderr.write(`migscope: ${NO_DEVICE_HINT}\n`);
    status = EXIT_USAGE;
  }
  if (flags.openmetrics !== undefined) {
    const written = await writeOpenMetrics(analysis, flags.openmetrics);
    if (written !== undefined) {
      process.stderr.write(`migscope: ${written}\n`);
      return EXIT_USAGE;
    }
  }
  if (exportOpts !== undefined) {
    const { exportAnalysis, formatSummary } = await import('../export/index.js');
    const summary = await exportAnalysis(analysis, exportOpts, slices);
    process.stderr.write(formatSummary(summary));
    if (!summary.ok) status = EXIT_EXPORT_FAILED;
  }
  return status;
}

/** Sessions from which writing the JSON gets a progress bar of its own (2 GB of trace.dat, 559,100 sessions: 35 s of output after the input's bar reached 100 %). */
const OUTPUT_PROGRESS_MIN_SESSIONS = 5_000;

/** Sessions between two updates of the output bar. */
const OUTPUT_PROGRESS_EVERY = 256;

/** The progress of writing the JSON, on a terminal's stderr, for an output of many sessions; undefined otherwise. */
function outputBar(analysis: Analysis, flags: AnalyzeFlags): { onSession: () => void; stop: () => void } | undefined {
  if (flags.quiet === true || process.stderr.isTTY !== true) return undefined;
  const total = analysis.devices.reduce((n, d) => n + d.sessions.length, 0);
  if (total < OUTPUT_PROGRESS_MIN_SESSIONS) return undefined;
  const bar = new cliProgress.SingleBar(
    { format: 'writing JSON [{bar}] {percentage}% | {value}/{total} sessions | ETA {eta_formatted}', stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  let done = 0;
  return {
    onSession: () => {
      if (++done % OUTPUT_PROGRESS_EVERY === 0) bar.update(done);
    },
    stop: () => {
      bar.update(done);
      bar.stop();
    },
  };
}

/** The JSON document and the newline after it. */
function* withNewline(chunks: Iterable<string>): Generator<string> {
  yield* chunks;
  yield '\n';
}

/** Streams the OpenMetrics text to `path`; returns an error message, or undefined when written. */
async function writeOpenMetrics(analysis: Analysis, path: string): Promise<string | undefined> {
  const { openMetricsChunks, OpenMetricsError } = await import('../export/openmetrics.js');
  let chunks: Generator<string>;
  try {
    chunks = openMetricsChunks(analysis);
    const out = createWriteStream(path);
    for (const c of chunks) if (!out.write(c)) await once(out, 'drain');
    out.end();
    await once(out, 'finish');
    return undefined;
  } catch (e) {
    if (e instanceof OpenMetricsError) return `--openmetrics: ${e.message}`;
    if (e instanceof Error && 'code' in e) return `--openmetrics ${path}: ${e.message}`;
    throw e;
  }
}
