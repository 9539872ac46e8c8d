// `migscope report`: the analysis as one self-contained HTML file for a post-mortem
// (src/report/html; docs/report.md).

import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { Command } from 'commander';
import { addAnalysisOptions, addMergeOptions, NO_DEVICE_HINT, runAnalysis, type AnalyzeFlags } from './analyze.js';
import { handleStopSignals } from './stop-signals.js';
import { InputError } from './pipeline.js';
import { UsageError } from './flags.js';
import { ruleCatalogue } from '../check/index.js';
import { summarize } from '../analysis/summary.js';
import { EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import { openSpillFile } from '../track/spill-file.js';

interface ReportFlags extends Omit<AnalyzeFlags, 'failOn'> {
  readonly output: string;
  readonly title?: string;
}

export function registerReportCommand(program: Command): void {
  const cmd = program
    .command('report')
    .description('write a self-contained HTML post-mortem report (timeline, findings with evidence) to attach to a bug')
    .argument('<trace...>', 'trace files, as for analyze')
    .requiredOption('-o, --output <file>', 'HTML file to write')
    .option('--title <text>', 'report title (default: the trace file names)');
  addAnalysisOptions(cmd);
  addMergeOptions(cmd);
  cmd.addHelpText(
    'after',
    `
Examples:
  migscope report mig.trace -o report.html
  migscope report src-host.trace dst-host.trace -o mig-42.html --title "migration 42, hv-17 → hv-18"

The file loads nothing from the network: it opens from disk or as an e-mail attachment.
Exit status: 0 written, 2 usage error or unusable input (including no VFIO device in it; the
file is still written). Ctrl-C stops reading; the report covers what was read.`,
  );
  cmd.action(async (files: string[], flags: ReportFlags) => {
    process.exitCode = await reportAction(files, flags);
  });
}

export async function reportAction(files: readonly string[], flags: ReportFlags): Promise<number> {
  const signals = handleStopSignals({
    command: 'report',
    onStop: (sig) => process.stderr.write(`\nmigscope report: ${sig}: reading stopped; the report covers what was read so far\n`),
  });
  // Sessions past the latest few per device wait in a temporary file, not in memory (track/spill-file.ts).
  const spill = openSpillFile();
  try {
    const analysis = await runAnalysis(files, { ...flags, failOn: 'never' }, signals.stopped, undefined, spill);
    const { writeHtmlReport } = await import('../report/html/render.js');
    const rules = ruleCatalogue().map((r) => ({ id: r.id, title: r.title, description: r.description, specRef: r.specRef }));
    const { citedLines } = await import('./evidence-lines.js');
    const cited = await citedLines(analysis);
    const opts = { title: flags.title ?? `migscope: ${files.join(', ')}`, rules, evidenceText: cited, spill };
    // Written as it is produced (render.ts writeHtmlReport): the page is never held whole.
    const bytes = await writeToFile(flags.output, (sink) => writeHtmlReport(analysis, opts, sink)).finally(() => cited.close());
    const s = summarize(analysis);
    process.stderr.write(
      `migscope report: ${flags.output} (${(bytes / 1e6).toFixed(1)} MB): ${s.devices} device(s), ${s.sessions} session(s), ` +
        `${s.bySeverity.error} error(s), ${s.bySeverity.warning} warning(s)\n`,
    );
    if (analysis.devices.length === 0 && (analysis.migrations?.length ?? 0) === 0) {
      process.stderr.write(`migscope report: ${NO_DEVICE_HINT}\n`);
      return EXIT_USAGE;
    }
    return EXIT_OK;
  } catch (e) {
    if (e instanceof InputError || e instanceof UsageError) {
      process.stderr.write(`migscope report: ${e.message}\n`);
      return EXIT_USAGE;
    }
    if (e instanceof Error && 'code' in e && typeof e.code === 'string') {
      process.stderr.write(`migscope report: cannot write ${flags.output}: ${e.message}\n`);
      return EXIT_USAGE;
    }
    throw e;
  } finally {
    spill?.close();
    signals.dispose();
  }
}

/** Runs `produce` with a sink into `path` (backpressure respected) and waits until the file is written and closed. */
async function writeToFile<T>(path: string, produce: (sink: (chunk: string) => Promise<void>) => Promise<T>): Promise<T> {
  const ws = createWriteStream(path);
  // An open or write error rejects here; until something awaits, it is held, not unhandled.
  const failed = once(ws, 'error').then(([e]: unknown[]) => Promise.reject(e instanceof Error ? e : new Error(String(e))));
  failed.catch(() => {});
  const sink = async (chunk: string): Promise<void> => {
    if (!ws.write(chunk)) await Promise.race([once(ws, 'drain'), failed]);
  };
  try {
    const result = await Promise.race([produce(sink), failed]);
    ws.end();
    await finished(ws);
    return result;
  } finally {
    ws.destroy();
  }
}
