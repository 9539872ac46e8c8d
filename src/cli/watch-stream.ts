// The record-handling part of `migscope watch` (watch-run.ts starts the tracer, serves
// metrics and prints the summary): trace lines in, findings and sessions printed as they
// come, sessions and findings exported, the device gauges moved. One function so that a
// test can feed it lines as the tracer would, and watch the same code a host agent runs.
//
// Memory (a host agent runs for months and sees thousands of VMM lifetimes): everything
// here is per live device, and a gone process takes its devices along (onProcessGone
// here, the tracker's and the rules' entries through evictGoneProcesses); what the final
// summary needs is counted, never listed (docs/fleet.md "Memory of a long-running agent").

import { FORMATS } from '../../parsers/index.js';
import type { LineParser } from '../record/types.js';
import type { Finding } from '../check/types.js';
import type { DeviceTimeline, MigrationSession } from '../track/types.js';
import type { Analysis, ClockMapping } from '../analysis/types.js';
import { createAnalysisSession, type LiveEntries, type SessionOptions } from './pipeline.js';
import type { MigscopeExporter } from '../export/index.js';
import { formatSource, formatDuration, formatBytes } from '../report/terminal.js';
import { JSON_SCHEMA_ID } from '../report/json.js';
import { wallTimeIso } from '../report/wall-clock.js';

/** Bounds that keep a watch of hours flat in memory (DESIGN: bounded by devices and open sessions). */
export const WATCH_LIMITS = { maxIntervalsPerDevice: 2_000, maxFindingsKept: 1_000, maxSessionsPerDevice: 100 } as const;

export type WatchAnalysisOptions = Pick<SessionOptions, 'deviceNames' | 'regionOffsets' | 'clockOffsetNs' | 'eagainLimit' | 'downtimeLimitMs' | 'stallIterations' | 'estimateFactor'>;

export interface WatchStreamOptions extends WatchAnalysisOptions {
  readonly host: string;
  readonly exporter: MigscopeExporter;
  /** The input's name in evidence (`<stdin>`, `<live>` or the --save file). */
  readonly file: string;
  readonly jsonLines: boolean;
  readonly color: boolean;
  /** Findings and sessions (a line each). */
  readonly out: (text: string) => void;
  /** Problems with the stream itself. */
  readonly err: (text: string) => void;
}

export interface WatchTotals {
  readonly analysis: Analysis;
  /** Devices seen over the whole run: those still listed in the analysis plus those gone with their process. */
  readonly devices: number;
  readonly sessions: number;
  readonly findings: { readonly error: number; readonly warning: number };
}

export interface WatchStream {
  /** One line of the tracer's output. */
  feed(line: string): void;
  /** Push the input counters to the exporter (watch-run calls it every second). */
  pushCounts(): void;
  /** The stream ended: close what is open, export what waits; the totals for the summary. */
  finish(): Promise<WatchTotals>;
  /** What the run holds per device now (tests of host mode's memory). */
  liveEntries(): LiveEntries & { readonly watch: number; readonly exporter: number; readonly parser: number };
}

export function createWatchStream(opts: WatchStreamOptions): WatchStream {
  const { host, exporter, color } = opts;
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
    if (opts.jsonLines) {
      opts.out(JSON.stringify({ schema: JSON_SCHEMA_ID, type: 'finding', ...whereWhen(f.tsNs), ...f }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');
      return;
    }
    const sev = f.severity === 'error' ? (color ? '\x1b[31;1mERROR\x1b[0m  ' : 'ERROR  ') : color ? '\x1b[33mWARNING\x1b[0m' : 'WARNING';
    const ev = f.evidence.map((e) => formatSource(e.src)).join(', ');
    opts.out(`${new Date().toISOString().slice(11, 23)} ${sev} ${f.rule} blame ${f.blame} ${f.device}${f.certainty === 'uncertain' ? ' (uncertain)' : ''}: ${f.message} [${ev}]\n`);
  };

  const session = createAnalysisSession({
    deviceNames: opts.deviceNames,
    regionOffsets: opts.regionOffsets,
    clockOffsetNs: opts.clockOffsetNs,
    eagainLimit: opts.eagainLimit,
    ...(opts.downtimeLimitMs !== undefined ? { downtimeLimitMs: opts.downtimeLimitMs } : {}),
    ...(opts.stallIterations !== undefined ? { stallIterations: opts.stallIterations } : {}),
    ...(opts.estimateFactor !== undefined ? { estimateFactor: opts.estimateFactor } : {}),
    maxIntervalsPerDevice: WATCH_LIMITS.maxIntervalsPerDevice,
    maxFindingsKept: WATCH_LIMITS.maxFindingsKept,
    maxSessionsPerDevice: WATCH_LIMITS.maxSessionsPerDevice,
    // A gone VMM's devices leave the tracker and the rules' indexes (after onProcessGone
    // below); the summary counts them (evictedDevices).
    evictGoneProcesses: true,
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
        // The findings before deviceGone: each finds the device's sessions (to link to) first.
        for (const f of waiting.get(id) ?? []) track(exporter.finding({ host, clock, finding: f }));
        exporter.deviceGone(host, id);
        decided.delete(id);
        undecidedState.delete(id);
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
      if (opts.jsonLines) {
        const startTime = wallTimeIso(clock, s.startNs);
        opts.out(
          JSON.stringify({ schema: JSON_SCHEMA_ID, type: 'session', ...whereWhen(s.endNs), ...(startTime !== undefined ? { startTime } : {}), device: device.id, ...s }, (_k, v: unknown) =>
            typeof v === 'bigint' ? v.toString() : v,
          ) + '\n',
        );
      } else {
        const dur = s.startNs !== undefined && s.endNs !== undefined ? formatDuration(s.endNs - s.startNs) : '?';
        opts.out(`${new Date().toISOString().slice(11, 23)} session ${s.kind} ${s.outcome} ${device.id}: ${s.states.join(' → ')} in ${dur}, ${formatBytes(s.bytes)}, not running ${formatDuration(s.notRunningNs)}\n`);
      }
    },
  });

  let lastCounts = { records: 0, malformed: 0, lostEvents: 0 };
  const pushCounts = (): void => {
    const c = session.counts();
    exporter.input(host, { records: c.records - lastCounts.records, malformed: c.malformed - lastCounts.malformed, lostEvents: c.lostEvents - lastCounts.lostEvents });
    lastCounts = c;
  };

  const file = opts.file;
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
  if (opts.clockOffsetNs !== undefined) clock = { source: 'offset', clock: undefined, offsetNs: opts.clockOffsetNs };

  let parser: LineParser | undefined;
  let formatName = 'bpftrace';
  const pendingLines: string[] = [];
  let lineNo = 0;

  return {
    feed(line: string): void {
      lineNo++;
      if (parser === undefined) {
        pendingLines.push(line);
        const format = FORMATS.find((f) => f.kind === 'lines' && f.detect(Buffer.from(pendingLines.join('\n')), pendingLines));
        if (format === undefined || format.kind !== 'lines') {
          if (pendingLines.length > 40) {
            opts.err(`migscope watch: ${file}: unrecognised trace format in the first 40 lines\n`);
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
    },
    pushCounts,
    async finish(): Promise<WatchTotals> {
      parser?.end();
      session.endInput(formatName);
      const analysis = session.finish();
      flushEnded();
      pushCounts();
      for (const list of waiting.values()) for (const f of list) track(exporter.finding({ host, clock, finding: f }));
      await Promise.allSettled([...exports]);
      return { analysis, devices: analysis.devices.length + session.evictedDevices(), sessions: sessionsEnded, findings: { ...seen } };
    },
    liveEntries: () => ({ ...session.liveEntries(), watch: waiting.size + lastSessionEnd.size + undecidedState.size + decided.size + endedNow.length, exporter: exporter.liveDevices(), parser: parser?.liveEntries?.() ?? 0 }),
  };
}
