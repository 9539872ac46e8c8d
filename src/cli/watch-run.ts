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
import { TRACERS } from '../../capture/tracers.js';
import { DEFAULT_VMM_MATCH } from '../../capture/vmm-registry.js';
import { CaptureSetupError, type CaptureHandle, type CaptureTarget } from '../../capture/tracer.js';
import { FORMATS } from '../../parsers/index.js';
import type { LineParser } from '../record/types.js';
import type { Finding } from '../check/types.js';
import type { DeviceTimeline, MigrationSession } from '../track/types.js';
import { createAnalysisSession } from './pipeline.js';
import { convergenceOptionsFromFlags, NO_DEVICE_HINT, type AnalyzeFlags, type FailOn } from './analyze.js';
import { parseOffset, parsePidFdAssignment, parsePositiveInt, parseSecondsToNs, UsageError } from './flags.js';
import { createExporter, exportOptionsFromFlags, ExportUsageError, formatSummary, type MigscopeExporter } from '../export/index.js';
import { formatSource, formatDuration, formatBytes } from '../report/terminal.js';
import { EXIT_EXPORT_FAILED, EXIT_FINDINGS, EXIT_USAGE } from './exit-codes.js';
import { handleStopSignals } from './stop-signals.js';
import { useColor } from './color.js';
import type { ClockMapping } from '../analysis/types.js';
import { hostname } from 'node:os';
import { JSON_SCHEMA_ID } from '../report/json.js';
import { wallTimeIso } from '../report/wall-clock.js';

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

/** Bounds that keep a watch of hours flat in memory (DESIGN: bounded by devices and open sessions). */
const WATCH_LIMITS = { maxIntervalsPerDevice: 2_000, maxFindingsKept: 1_000 } as const;

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
    // Findings are counted as they are found (onFinding below), not when their session ends.
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

  let clock: ClockMapping = { source: 'relative', clock: undefined, offsetNs: undefined };
  // Findings wait per device until a session of that device ends (then they become its
  // span events) or until the end (then spans of their own). Bounded per device.
  const waiting = new Map<string, Finding[]>();
  const seen = { error: 0, warning: 0 };
  let sessionsEnded = 0;
  // Exports in flight; each removes itself when settled (a watch of hours must not keep them).
  const exports = new Set<Promise<void>>();
  const track = (p: Promise<void>): void => {
    const t: Promise<void> = p.then(
      () => undefined,
      () => undefined,
    );
    exports.add(t);
    void t.then(() => exports.delete(t));
  };
  /** End of the latest ended session per device: a finding at or before it joins no later session. */
  const lastSessionEnd = new Map<string, bigint>();
  // The state gauge is labelled with the protocol. A device's first states are reported
  // before its protocol is known (RUNNING inferred at open, protocol "unknown"); exported
  // as such they would leave a protocol="unknown" series behind that never changes again.
  // So they wait here until onProtocol says which protocol they belong to.
  const undecidedState = new Map<string, number | undefined>();
  const decided = new Set<string>();

  // Sessions that ended during the record being processed: exported once the record is
  // done, so that a finding the same record produces (the check at the SET or close that
  // ends the session) becomes its span event, as `analyze --export` attaches it, rather
  // than a span of its own (issue 14: watch and analyze must send the same spans).
  const endedNow: { device: DeviceTimeline; session: MigrationSession; findings: Finding[] }[] = [];
  const flushEnded = (): void => {
    for (const e of endedNow.splice(0)) track(exporter.session({ host, clock, device: e.device, session: e.session, findings: e.findings }));
  };
  /**
   * Where and when, for a JSON line: the host, and the wall-clock time of the trace time
   * `tsNs` through the capture's clock mapping (timeSource "trace"), or, when the mapping
   * or the time is unknown, the moment watch reported it (timeSource "observed").
   */
  const whereWhen = (tsNs: bigint | undefined): { host: string; time: string; timeSource: 'trace' | 'observed' } => {
    const t = wallTimeIso(clock, tsNs);
    return t !== undefined ? { host, time: t, timeSource: 'trace' } : { host, time: new Date().toISOString(), timeSource: 'observed' };
  };
  const printFinding = (f: Finding): void => {
    if (flags.jsonLines === true) {
      process.stdout.write(JSON.stringify({ schema: JSON_SCHEMA_ID, type: 'finding', ...whereWhen(f.tsNs), ...f }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');
      return;
    }
    const sev = f.severity === 'error' ? (color ? '\x1b[31;1mERROR\x1b[0m  ' : 'ERROR  ') : color ? '\x1b[33mWARNING\x1b[0m' : 'WARNING';
    const ev = f.evidence.map((e) => formatSource(e.src)).join(', ');
    process.stdout.write(`${new Date().toISOString().slice(11, 23)} ${sev} ${f.rule} blame ${f.blame} ${f.device}${f.certainty === 'uncertain' ? ' (uncertain)' : ''}: ${f.message} [${ev}]\n`);
  };

  const session = createAnalysisSession({
    deviceNames,
    regionOffsets,
    clockOffsetNs,
    eagainLimit,
    ...convergence,
    maxIntervalsPerDevice: WATCH_LIMITS.maxIntervalsPerDevice,
    maxFindingsKept: WATCH_LIMITS.maxFindingsKept,
    onFinding: (f) => {
      printFinding(f);
      seen[f.severity]++;
      exporter.countFinding(host, f);
      // A session that ended in this same record waits for its findings (flushEnded).
      const ended = endedNow.find((e) => e.device.id === f.device && f.tsNs !== undefined && (e.session.startNs === undefined || f.tsNs >= e.session.startNs) && (e.session.endNs === undefined || f.tsNs <= e.session.endNs));
      if (ended !== undefined) {
        ended.findings.push(f);
        return;
      }
      const end = lastSessionEnd.get(f.device);
      if (f.tsNs !== undefined && end !== undefined && f.tsNs <= end) {
        // Found after its session ended (e.g. the drain check at the SET that ends a save):
        // no later session can take it, so its span goes now, under that session's span.
        track(exporter.finding({ host, clock, finding: f }));
        return;
      }
      const list = waiting.get(f.device) ?? [];
      if (list.length < WATCH_LIMITS.maxFindingsKept) list.push(f);
      waiting.set(f.device, list);
    },
    onStateChange: (id, raw, _state, protocol) => {
      if (protocol === 'v1' || protocol === 'v2') {
        decided.add(id);
        undecidedState.delete(id);
        exporter.deviceState(host, { id, protocol }, raw);
      } else if (!decided.has(id)) {
        undecidedState.set(id, raw);
      }
    },
    onProtocol: (id, protocol) => {
      if (decided.has(id)) return;
      decided.add(id);
      if (undecidedState.has(id)) exporter.deviceState(host, { id, protocol }, undecidedState.get(id));
      undecidedState.delete(id);
    },
    onPending: (id, protocol, bytes) => {
      exporter.pendingBytes(host, { id, protocol }, bytes);
    },
    // A VMM that exited (host mode) takes its devices' gauge series with it; a device closed
    // by a VMM that lives on keeps them (its last state, its last pending bytes). Its
    // findings still waiting for a session (found outside any) will never get one: their
    // spans go now rather than when watch stops, which for a host agent may be months away.
    onProcessGone: (_pid, ids) => {
      flushEnded(); // the sessions its exit ended, with their findings, first
      for (const id of ids) {
        exporter.deviceGone(host, id);
        decided.delete(id);
        undecidedState.delete(id);
        for (const f of waiting.get(id) ?? []) track(exporter.finding({ host, clock, finding: f }));
        waiting.delete(id);
        lastSessionEnd.delete(id);
      }
    },
    onSessionEnd: (device: DeviceTimeline, s: MigrationSession) => {
      sessionsEnded++;
      if (s.endNs !== undefined) lastSessionEnd.set(device.id, s.endNs);
      const list = waiting.get(device.id) ?? [];
      const end = s.endNs;
      const mine = list.filter((f) => f.tsNs === undefined || end === undefined || f.tsNs <= end);
      waiting.set(device.id, list.filter((f) => !mine.includes(f)));
      const inWindow = mine.filter((f) => s.startNs === undefined || f.tsNs === undefined || f.tsNs >= s.startNs);
      const before = mine.filter((f) => !inWindow.includes(f));
      for (const f of before) track(exporter.finding({ host, clock, finding: f }));
      endedNow.push({ device, session: s, findings: [...inWindow] });
      if (flags.jsonLines === true) {
        const startTime = wallTimeIso(clock, s.startNs);
        process.stdout.write(
          JSON.stringify({ schema: JSON_SCHEMA_ID, type: 'session', ...whereWhen(s.endNs), ...(startTime !== undefined ? { startTime } : {}), device: device.id, ...s }, (_k, v: unknown) =>
            typeof v === 'bigint' ? v.toString() : v,
          ) + '\n',
        );
      } else {
        const dur = s.startNs !== undefined && s.endNs !== undefined ? formatDuration(s.endNs - s.startNs) : '?';
        process.stdout.write(
          `${new Date().toISOString().slice(11, 23)} session ${s.kind} ${s.outcome} ${device.id}: ${s.states.join(' → ')} in ${dur}, ${formatBytes(s.bytes)}, not running ${formatDuration(s.notRunningNs)}\n`,
        );
      }
    },
  });

  let lastCounts = { records: 0, malformed: 0, lostEvents: 0 };
  const pushCounts = (): void => {
    const c = session.counts();
    exporter.input(host, { records: c.records - lastCounts.records, malformed: c.malformed - lastCounts.malformed, lostEvents: c.lostEvents - lastCounts.lostEvents });
    lastCounts = c;
  };
  const countsTimer = setInterval(pushCounts, 1000);

  const file = target === 'stdin' ? '<stdin>' : (flags.save ?? '<live>');
  const sink = session.beginInput(file);
  // The sink learns the clock mapping from the capture's clock-sync record; spans need it
  // as soon as sessions end, so keep a live copy.
  const liveSink = {
    ...sink,
    record: (r: Parameters<typeof sink.record>[0]) => {
      if (r.kind === 'clock-sync' && clock.source === 'relative') clock = { source: 'sync', clock: r.clock, offsetNs: r.wallNs - r.traceNs };
      sink.record(r);
      if (endedNow.length > 0) flushEnded();
    },
  };
  if (clockOffsetNs !== undefined) clock = { source: 'offset', clock: undefined, offsetNs: clockOffsetNs };

  let parser: LineParser | undefined;
  let formatName = 'bpftrace';
  const pendingLines: string[] = [];
  let lineNo = 0;
  // The capture runners write a closing clock-sync line once the tracer has stopped and
  // its tracing state is gone (capture/bpftrace.ts after bpftrace exited; capture/ftrace.ts
  // just before its synchronous cleanup).
  let tracerFinished: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (tracerFinished = resolve));
  const feed = (line: string): void => {
    lineNo++;
    if (END_SYNC.test(line)) tracerFinished();
    if (parser === undefined) {
      pendingLines.push(line);
      const format = FORMATS.find((f) => f.kind === 'lines' && f.detect(Buffer.from(pendingLines.join('\n')), pendingLines));
      if (format === undefined || format.kind !== 'lines') {
        if (pendingLines.length > 40) {
          process.stderr.write(`migscope watch: ${file}: unrecognised trace format in the first 40 lines\n`);
          pendingLines.length = 0;
        }
        return;
      }
      formatName = format.name;
      parser = format.create(file, liveSink);
      const first = lineNo - pendingLines.length + 1;
      pendingLines.forEach((l, i) => parser?.line(l, first + i));
      pendingLines.length = 0;
      return;
    }
    parser.line(line, lineNo);
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
        for await (const line of rl) feed(line);
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

  parser?.end();
  session.endInput(formatName);
  const analysis = session.finish();
  flushEnded();
  pushCounts();
  for (const list of waiting.values()) for (const f of list) track(exporter.finding({ host, clock, finding: f }));
  await Promise.allSettled([...exports]);
  const summary = await exporter.shutdown();
  await prometheus?.shutdown().catch(() => undefined);
  if (tmpDir !== undefined) rmSync(tmpDir, { recursive: true, force: true });

  const c = analysis.input;
  // Counted as they were found and ended: the analysis keeps only the latest findings and
  // timeline items in watch mode (WATCH_LIMITS), so its lists are not the totals.
  process.stderr.write(
    `migscope watch: ${analysis.devices.length} device(s), ${sessionsEnded} session(s), ` +
      `${seen.error + seen.warning} finding(s) (${seen.error} error, ${seen.warning} warning); input ${c.records} records, ${c.malformed} malformed, ${c.lostEvents} lost events\n`,
  );
  if (exportOpts !== undefined) process.stderr.write(formatSummary(summary));
  signals.dispose();
  if (status !== 0) return status;
  if (exportOpts !== undefined && !summary.ok) return EXIT_EXPORT_FAILED;
  // A host agent that saw no VMM with a VFIO device did nothing wrong (a host without
  // migrations); for one process or a stream, no device means a wrong target or filter.
  if (analysis.devices.length === 0 && target !== 'stdin' && target.kind === 'all') {
    process.stderr.write('migscope watch: no VFIO device was seen on this host\n');
  } else if (analysis.devices.length === 0) {
    process.stderr.write(`migscope watch: ${NO_DEVICE_HINT}\n`);
    return EXIT_USAGE;
  }
  const failOn: FailOn = flags.failOn;
  // Counted as they came: the analysis keeps only the latest findings in watch mode.
  if (failOn === 'never') return 0;
  return seen.error > 0 || (failOn === 'warning' && seen.warning > 0) ? EXIT_FINDINGS : 0;
}

