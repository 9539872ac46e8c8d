// The work of `migscope watch` (registered in watch.ts and loaded only when it runs, so other
// commands do not pay for the OpenTelemetry SDK at start-up).
// `migscope watch`: capture and analyse live. Findings are printed as they are found,
// sessions are exported as spans when they end, and Prometheus metrics are served on
// 127.0.0.1:9464/metrics by default (a new series shows 0 on its first scrape: see
// ZeroFirstPrometheusExporter). Ctrl-C (or SIGTERM) stops the tracer, flushes and exits;
// the tracer's own cleanup runs in its runner (capture/); a command watch started runs on
// if the signal did not reach it (SIGTERM to watch alone).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { waitForOutput } from './output-backpressure.js';
import { TRACERS } from '../../capture/tracers.js';
import { DEFAULT_VMM_MATCH } from '../../capture/vmm-registry.js';
import { CaptureSetupError, type CaptureHandle, type CaptureTarget } from '../../capture/tracer.js';
import { createWatchStream } from './watch-stream.js';
import { convergenceOptionsFromFlags, NO_DEVICE_HINT, type AnalyzeFlags, type FailOn } from './analyze.js';
import { parseOffset, parsePidFdAssignment, parsePositiveInt, parseSecondsToNs, UsageError } from './flags.js';
import { createExporter, exportOptionsFromFlags, ExportUsageError, formatSummary, type MigscopeExporter } from '../export/index.js';
import { EXIT_EXPORT_FAILED, EXIT_FINDINGS, EXIT_USAGE } from './exit-codes.js';
import { handleStopSignals } from './stop-signals.js';
import { useColor } from './color.js';
import { notJudgedLines } from '../report/not-judged-text.js';
import { hostname } from 'node:os';

import { ZeroFirstPrometheusExporter } from '../export/zero-first-prometheus-exporter.js';

export interface WatchFlags extends Omit<AnalyzeFlags, 'json' | 'openmetrics' | 'failOn'> {
  readonly failOn: FailOn;
  readonly pid?: string;
  readonly all?: boolean;
  readonly match?: string;
  readonly tracer: string;
  readonly save?: string;
  readonly metrics: boolean;
  readonly metricsAddress: string;
  readonly jsonLines?: boolean;
}

/** The capture runners' closing clock-sync line (bpftrace text: `clocksync ... at=end`; ftrace: `migscope-clocksync ... at=end`). */
const END_SYNC = /clocksync .*\bsource=runner at=end\b/;

/**
 * After a stop request, how long to wait for the tracer to finish before flushing anyway:
 * longer than capture/bpftrace.ts takes to SIGKILL a bpftrace that ignores SIGINT (20 s).
 */
const STOP_GRACE_MS = 25_000;


function parseAddress(text: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(text);
  if (m === null || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new UsageError(`--metrics-address expects HOST:PORT (e.g. 127.0.0.1:9464), got "${text}"`);
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

export async function watchAction(command: readonly string[], flags: WatchFlags): Promise<number> {
  let target: CaptureTarget | 'stdin';
  let exportOpts;
  let address: { host: string; port: number } | undefined;
  const deviceNames = new Map<string, string>();
  const regionOffsets = new Map<string, bigint>();
  let clockOffsetNs: bigint | undefined;
  let eagainLimit: number | undefined;
  let convergence: ReturnType<typeof convergenceOptionsFromFlags> = {};
  try {
    if (flags.match !== undefined && flags.all !== true) throw new UsageError('--match chooses the processes of --all; give --all too');
    if (flags.all === true) {
      if (flags.pid !== undefined || command.length > 0) throw new UsageError('--all traces every VMM on the host: give no --pid, command or -');
      let match = DEFAULT_VMM_MATCH;
      if (flags.match !== undefined) {
        try {
          match = new RegExp(flags.match);
        } catch (e) {
          throw new UsageError(`--match: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      target = { kind: 'all', match };
    } else if (command.length === 1 && command[0] === '-') {
      if (flags.pid !== undefined) throw new UsageError('give either --pid or - (stdin), not both');
      target = 'stdin';
    } else if (command.length > 0) {
      if (flags.pid !== undefined) throw new UsageError('give either --pid or a command after --, not both');
      target = { kind: 'command', argv: command };
    } else if (flags.pid !== undefined) {
      target = { kind: 'pid', pid: parsePositiveInt('--pid', flags.pid) };
    } else {
      throw new UsageError('what to watch? --all, --pid PID, -- COMMAND ARGS..., or - for a live trace on stdin');
    }
    exportOpts = exportOptionsFromFlags(flags);
    address = flags.metrics ? parseAddress(flags.metricsAddress) : undefined;
    for (const d of flags.device ?? []) {
      const { key, value } = parsePidFdAssignment('--device', d);
      deviceNames.set(key, value);
    }
    for (const r of flags.region ?? []) {
      const { key, value } = parsePidFdAssignment('--region', r);
      regionOffsets.set(key, parseOffset('--region', value));
    }
    if (flags.clockOffset !== undefined) clockOffsetNs = parseSecondsToNs('--clock-offset', flags.clockOffset);
    if (flags.eagainLimit !== undefined) eagainLimit = parsePositiveInt('--eagain-limit', flags.eagainLimit);
    convergence = convergenceOptionsFromFlags(flags);
  } catch (e) {
    if (e instanceof UsageError || e instanceof ExportUsageError) {
      process.stderr.write(`migscope watch: ${e.message}\n`);
      return EXIT_USAGE;
    }
    throw e;
  }

  const host = hostname();
  const color = useColor(flags.color, process.stdout);
  let listening: Promise<Error | undefined> = Promise.resolve(undefined);
  let prometheus: ZeroFirstPrometheusExporter | undefined;
  if (address !== undefined) {
    const at = address;
    listening = new Promise((resolve) => {
      prometheus = new ZeroFirstPrometheusExporter({ host: at.host, port: at.port }, (err) => resolve(err instanceof Error ? err : undefined));
    });
  }
  const exporter: MigscopeExporter = createExporter({
    ...(exportOpts ?? { traces: ['none'], metrics: ['none'] }),
    metricReaders: prometheus !== undefined ? [prometheus] : [],
    // Findings are counted as they are found (watch-stream.ts onFinding), not when their session ends.
    countFindingsOnSight: true,
  });
  const listenError = await listening;
  if (listenError !== undefined && address !== undefined) {
    // An operator who asked for metrics (the default) gets none: say so and stop, rather
    // than watch for hours with a dashboard that stays empty.
    process.stderr.write(`migscope watch: cannot serve metrics on ${address.host}:${address.port}: ${listenError.message} (use --metrics-address HOST:PORT or --no-metrics)\n`);
    await exporter.shutdown();
    return EXIT_USAGE;
  }
  if (address !== undefined) process.stderr.write(`migscope watch: metrics on http://${address.host}:${address.port}/metrics\n`);

  const file = target === 'stdin' ? '<stdin>' : (flags.save ?? '<live>');
  let outputBlocked = false;
  const stream = createWatchStream({
    host,
    exporter,
    file,
    jsonLines: flags.jsonLines === true,
    color,
    deviceNames,
    regionOffsets,
    clockOffsetNs,
    eagainLimit,
    ...convergence,
    out: (t) => {
      // A reader slower than watch (a script behind a pipe) makes stdout queue in memory:
      // remembered here, waited for in the stdin loop below (output-backpressure.ts).
      if (!process.stdout.write(t)) outputBlocked = true;
    },
    err: (t) => process.stderr.write(t),
  });
  const countsTimer = setInterval(stream.pushCounts, 1000);

  // The capture runners write a closing clock-sync line once the tracer has stopped and
  // its tracing state is gone (capture/bpftrace.ts after bpftrace exited; capture/ftrace.ts
  // just before its synchronous cleanup).
  let tracerFinished: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (tracerFinished = resolve));
  const feed = (line: string): void => {
    if (END_SYNC.test(line)) tracerFinished();
    stream.feed(line);
  };

  let handle: CaptureHandle | undefined;
  let tmpDir: string | undefined;
  let rl: ReturnType<typeof createInterface> | undefined;
  const signals = handleStopSignals({
    command: 'watch',
    onStop: () => {
      process.stderr.write('\nmigscope watch: stopping…\n');
      handle?.stop();
      // Ending the readline loop takes rl.close(): destroying stdin alone does not end a
      // `for await` over the interface (issue 14: watch - hung here until SIGKILL).
      rl?.close();
      if (target === 'stdin') process.stdin.destroy();
    },
    exporting: () => exportOpts !== undefined,
  });
  const stopSignal = signals.stopped.then(() => undefined);
  const stopRequested = (): boolean => signals.requested;

  let status = 0;
  try {
    if (target === 'stdin') {
      rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
      if (signals.requested) rl.close();
      try {
        for await (const line of rl) {
          feed(line);
          if (outputBlocked) {
            await waitForOutput(process.stdout, stopSignal);
            outputBlocked = false;
          }
        }
      } catch {
        // stdin destroyed by Ctrl-C: fall through to the summary
      }
    } else {
      const tracer = TRACERS.get(flags.tracer);
      if (tracer === undefined) throw new UsageError(`unknown tracer "${flags.tracer}"; known: ${[...TRACERS.keys()].join(', ')}`);
      // trace-cmd writes its trace.dat only when the capture ends: nothing to watch live.
      if (tracer.name === 'trace-cmd') throw new UsageError('trace-cmd writes its file at the end of the capture; watch with --tracer bpftrace or ftrace (or capture with trace-cmd and analyze)');
      const avail = await tracer.available();
      if (!avail.ok) throw new CaptureSetupError(avail.reason ?? `${tracer.name} is not available`);
      let output = flags.save;
      if (output === undefined) {
        tmpDir = mkdtempSync(join(tmpdir(), 'migscope-watch-'));
        output = join(tmpDir, 'live.trace');
      }
      handle = await tracer.start({
        target,
        output,
        format: 'text',
        readWrite: true,
        log: (m) => process.stderr.write(`migscope watch: ${m}\n`),
        onLine: feed,
      });
      if (stopRequested()) handle.stop();
      await handle.attached.catch(() => undefined);
      const what = target.kind === 'all' ? `every process matching /${target.match.source}/` : `pid ${String(handle.pid)}`;
      process.stderr.write(`migscope watch: tracing ${what} with ${tracer.name}; Ctrl-C to stop\n`);
      const h = handle;
      // A stop (Ctrl-C, SIGTERM) ends tracing at once, but the runners resolve `done` only
      // when a command they started has exited too, to report its status; with SIGTERM to
      // watch alone that command (a VMM!) rightly runs on. So once the tracer is finished,
      // watch goes on to flush and exit without waiting for the command.
      const tracerOff = stopSignal.then(() =>
        Promise.race([finished.then(() => new Promise<void>((r) => setImmediate(r))), new Promise<void>((r) => setTimeout(r, STOP_GRACE_MS).unref())]),
      );
      const ended = await Promise.race([h.done.then(() => 'done' as const), tracerOff.then(() => 'stopped' as const)]);
      if (ended === 'stopped') {
        h.done.catch(() => undefined);
        // The runner completes the --save file right after its closing line, but says so
        // only together with the command's exit: give the last write a moment.
        if (flags.save !== undefined) await new Promise((r) => setTimeout(r, 500));
        if (target.kind === 'command') process.stderr.write(`migscope watch: tracing stopped; the traced command (pid ${String(h.pid)}) runs on untraced\n`);
      }
    }
  } catch (e) {
    if (e instanceof UsageError || e instanceof CaptureSetupError) {
      process.stderr.write(`migscope watch: ${e.message}\n`);
      status = EXIT_USAGE;
    } else {
      throw e;
    }
  } finally {
    // The signal handlers stay until the summary is out: a second signal during the final
    // export stops at once (stop-signals.ts) instead of Node's default kill.
    clearInterval(countsTimer);
  }

  const totals = await stream.finish();
  const summary = await exporter.shutdown();
  await prometheus?.shutdown().catch(() => undefined);
  if (tmpDir !== undefined) rmSync(tmpDir, { recursive: true, force: true });

  const c = totals.analysis.input;
  const seen = totals.findings;
  // Counted as they were found and ended: the analysis keeps only the latest findings and
  // timeline items in watch mode (WATCH_LIMITS), and only the devices of processes still
  // live (a gone VMM's devices are evicted, and counted), so its lists are not the totals.
  process.stderr.write(
    `migscope watch: ${totals.devices} device(s), ${totals.sessions} session(s), ` +
      `${seen.error + seen.warning} finding(s) (${seen.error} error, ${seen.warning} warning); input ${c.records} records, ${c.malformed} malformed, ${c.lostEvents} lost events\n`,
  );
  for (const l of notJudgedLines(totals.analysis)) process.stderr.write(`migscope watch: ${l}\n`);
  if (exportOpts !== undefined) process.stderr.write(formatSummary(summary));
  signals.dispose();
  if (status !== 0) return status;
  if (exportOpts !== undefined && !summary.ok) return EXIT_EXPORT_FAILED;
  // A host agent that saw no VMM with a VFIO device did nothing wrong (a host without
  // migrations); for one process or a stream, no device means a wrong target or filter.
  if (totals.devices === 0 && target !== 'stdin' && target.kind === 'all') {
    process.stderr.write('migscope watch: no VFIO device was seen on this host\n');
  } else if (totals.devices === 0) {
    process.stderr.write(`migscope watch: ${NO_DEVICE_HINT}\n`);
    return EXIT_USAGE;
  }
  const failOn: FailOn = flags.failOn;
  // Counted as they came: the analysis keeps only the latest findings in watch mode.
  if (failOn === 'never') return 0;
  return seen.error > 0 || (failOn === 'warning' && seen.warning > 0) ? EXIT_FINDINGS : 0;
}

