// Post-mortem metrics: an Analysis as timestamped OpenMetrics text, for
// `promtool tsdb create-blocks-from openmetrics FILE DIR` (issue 5, "Post-mortem metrics"),
// so a customer's old trace fills the same dashboards as a live `migscope watch`.
//
// Same names, labels and buckets as the live metrics (metric-names.ts; recorded the same way
// as metrics.ts records them), with trace times turned into wall-clock times:
//   - counters: cumulative `_total` samples, 0 just before the trace starts, +1 (or +bytes) at
//     each session end / finding time;
//   - histograms: `_bucket`/`_count`/`_sum` after each observation (at the session end);
//   - the device state set: at each state interval's start, 1 on the series of the state
//     entered and 0 on the one left (metric-names.ts deviceState), as watch mode sets it;
//   - the pending-bytes gauge: each pending-bytes sample of a session (v1 pending_bytes,
//     v2 PRECOPY_INFO initial + dirty) at its time, as watch mode sets it live.
// Between changes every series repeats its value on a fixed grid (series.ts says why) up to
// the end of the trace; the gauge of a device closed before the end stops at the close.
//
// What promtool (Prometheus 2.42's OpenMetrics parser + TSDB appender) insists on, and how it
// is met here: the `# EOF` terminator; every sample carries a timestamp (seconds); the
// samples of a series in strictly increasing time (no two values at one millisecond);
// metric families contiguous, each with its TYPE (counter families named without `_total`);
// UNIT only where it is the name's suffix (the parser checks that).

import type { Analysis } from '../analysis/types.js';
import type { DeviceTimeline, MigrationSession } from '../track/types.js';
import { LABEL, METRICS, UNKNOWN_HOST, type LabelKey, type MetricSpec } from './metric-names.js';
import { createDeviceLabeler, DEFAULT_MAX_DEVICES_PER_HOST, OVERFLOW_DEVICE } from './device-labels.js';
import { stateLabel } from './device-state.js';
import { planSession, sessionBounds } from './session-plan.js';
import { nsToSeconds, type WallClock } from './time.js';
import { sampleSeries, type Change } from './openmetrics/series.js';
import { escapeOm, formatLabels, sampleLine, type Labels } from './openmetrics/text.js';

/** Why an Analysis cannot become OpenMetrics; the message says what to do. */
export type OpenMetricsProblem = 'relative-clock' | 'no-timestamps' | 'before-epoch' | 'out-of-range' | 'bad-option';

export class OpenMetricsError extends Error {
  constructor(
    readonly problem: OpenMetricsProblem,
    message: string,
  ) {
    super(message);
    this.name = 'OpenMetricsError';
  }
}

export interface OpenMetricsOptions {
  /**
   * wall = trace + offset, ns. Wins over analysis.clock when given. Needed when the
   * analysis clock is 'relative' (no clock-sync record, no --clock-offset): its times are
   * trace-clock times, and written as if they were wall-clock times they would land in 1970
   * (outside any retention) or, worse, at a plausible but wrong date.
   */
  readonly clockOffsetNs?: bigint | undefined;
  /**
   * Grid of repeated samples, ms; default 15 s, like a scrape interval: Grafana's
   * $__rate_interval (4 x the data source's 15 s scrape interval) then always holds several
   * samples, and anything under Prometheus' 5 min lookback keeps series visible.
   */
  readonly sampleIntervalMs?: number | undefined;
  /** Device label cap per host, as the live metrics have it (device-labels.ts; default 256). */
  readonly maxDevicesPerHost?: number | undefined;
}

export const DEFAULT_SAMPLE_INTERVAL_MS = 15_000;

const NS_PER_MS = 1_000_000n;

/** The wall-clock offset to use, or an OpenMetricsError the CLI prints as is. */
export function openMetricsOffsetNs(analysis: Pick<Analysis, 'clock'>, opts: OpenMetricsOptions = {}): bigint {
  if (opts.clockOffsetNs !== undefined) return opts.clockOffsetNs;
  const c = analysis.clock;
  if (c.source !== 'relative' && c.offsetNs !== undefined) return c.offsetNs;
  throw new OpenMetricsError(
    'relative-clock',
    `the trace has no clock-sync record${c.clock !== undefined ? ` (trace clock "${c.clock}")` : ''}, so its times are not wall-clock times and cannot be backfilled into Prometheus; ` +
      'pass --clock-offset SECONDS (wall clock = trace clock + SECONDS), e.g. the wall-clock time of the capture minus the trace time of its first record',
  );
}

// ---------------------------------------------------------------------------------------
// Families

interface HistState {
  /** Per bucket (not cumulative); the last slot is +Inf. */
  readonly counts: readonly number[];
  readonly count: number;
  readonly sumNs: bigint;
}

interface SeriesBuild<T> {
  readonly labels: Labels;
  readonly changes: Change<T>[];
  /** Gauge only: where the series stops (device closed); Infinity or undefined: the trace end. */
  endMs: number | undefined;
}

interface Family<T> {
  readonly spec: MetricSpec;
  readonly series: Map<string, SeriesBuild<T>>;
}

function family<T>(spec: MetricSpec): Family<T> {
  return { spec, series: new Map() };
}

function labelsFor(spec: MetricSpec, values: Partial<Record<LabelKey, string>>): Labels {
  return spec.labels.map((k) => {
    const v = values[k];
    // A programming error (a label of metric-names.ts not filled here), not bad input.
    if (v === undefined) throw new Error(`openmetrics: label "${k}" of ${spec.prometheus} has no value`);
    return [k, v] as const;
  });
}

function seriesOf<T>(f: Family<T>, labels: Labels): SeriesBuild<T> {
  const key = formatLabels(labels);
  let s = f.series.get(key);
  if (s === undefined) {
    s = { labels, changes: [], endMs: undefined };
    f.series.set(key, s);
  }
  return s;
}

function add(f: Family<number>, labels: Labels, ms: number, delta: number): void {
  seriesOf(f, labels).changes.push({ ms, apply: (v) => (v ?? 0) + delta });
}

function observe(f: Family<HistState>, labels: Labels, ms: number, ns: bigint): void {
  const buckets = f.spec.buckets ?? [];
  const seconds = nsToSeconds(ns);
  // Upper bounds are inclusive (Prometheus `le`, OTel explicit buckets alike).
  let idx = buckets.findIndex((b) => seconds <= b);
  if (idx < 0) idx = buckets.length;
  seriesOf(f, labels).changes.push({
    ms,
    apply: (h) => {
      const before = h ?? emptyHist(buckets.length);
      return { counts: before.counts.map((c, i) => (i === idx ? c + 1 : c)), count: before.count + 1, sumNs: before.sumNs + ns };
    },
  });
}

function emptyHist(n: number): HistState {
  return { counts: new Array<number>(n + 1).fill(0), count: 0, sumNs: 0n };
}

function setGauge(f: Family<number>, labels: Labels, ms: number, value: number): SeriesBuild<number> {
  const s = seriesOf(f, labels);
  s.changes.push({ ms, apply: () => value });
  return s;
}

// ---------------------------------------------------------------------------------------
// Rendering

/** The family name in TYPE/UNIT/HELP: a counter's samples carry `_total`, its family does not. */
function familyName(spec: MetricSpec): string {
  if (spec.kind !== 'counter') return spec.prometheus;
  if (!spec.prometheus.endsWith('_total')) throw new Error(`openmetrics: counter ${spec.prometheus} does not end in _total`);
  return spec.prometheus.slice(0, -'_total'.length);
}

function header(spec: MetricSpec): string {
  const name = familyName(spec);
  const type = spec.kind === 'histogram' ? 'histogram' : spec.kind === 'counter' ? 'counter' : 'gauge';
  let out = `# TYPE ${name} ${type}\n`;
  // The parser rejects a UNIT that is not a suffix of the family name; {annotation} units have no OpenMetrics form.
  for (const unit of ['seconds', 'bytes']) if (name.endsWith(`_${unit}`)) out += `# UNIT ${name} ${unit}\n`;
  out += `# HELP ${name} ${escapeOm(spec.description)}\n`;
  return out;
}

interface Frame {
  readonly startMs: number;
  readonly endMs: number;
  readonly stepMs: number;
}

function sortedSeries<T>(f: Family<T>): SeriesBuild<T>[] {
  return [...f.series.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, s]) => s);
}

function* counterText(f: Family<number>, frame: Frame): Generator<string> {
  if (f.series.size === 0) return;
  yield header(f.spec);
  for (const s of sortedSeries(f)) {
    const labels = formatLabels(s.labels);
    let out = '';
    // 0 one millisecond before the trace: increase()/rate() then count the first event too.
    for (const [ms, v] of sampleSeries({ initial: 0, initialMs: frame.startMs - 1, changes: s.changes, endMs: frame.endMs, stepMs: frame.stepMs })) {
      out += sampleLine(f.spec.prometheus, labels, v, ms);
    }
    yield out;
  }
}

function* histogramText(f: Family<HistState>, frame: Frame): Generator<string> {
  if (f.series.size === 0) return;
  yield header(f.spec);
  const name = f.spec.prometheus;
  const bounds = [...(f.spec.buckets ?? []).map((b) => String(b)), '+Inf'];
  for (const s of sortedSeries(f)) {
    // `le` goes last, as the OTel Prometheus exporter writes it; its values are String(bound)
    // like that exporter's, so live and backfilled series of one histogram share `le` values.
    const bucketLabels = bounds.map((le) => formatLabels([...s.labels, ['le', le]]));
    const labels = formatLabels(s.labels);
    let out = '';
    const initial = emptyHist(bounds.length - 1);
    for (const [ms, h] of sampleSeries({ initial, initialMs: frame.startMs - 1, changes: s.changes, endMs: frame.endMs, stepMs: frame.stepMs })) {
      let cumulative = 0;
      h.counts.forEach((c, i) => {
        cumulative += c;
        out += sampleLine(`${name}_bucket`, bucketLabels[i] ?? '', cumulative, ms);
      });
      out += sampleLine(`${name}_count`, labels, h.count, ms);
      out += sampleLine(`${name}_sum`, labels, nsToSeconds(h.sumNs), ms);
    }
    yield out;
  }
}

function* gaugeText(f: Family<number>, frame: Frame): Generator<string> {
  if (f.series.size === 0) return;
  yield header(f.spec);
  for (const s of sortedSeries(f)) {
    const labels = formatLabels(s.labels);
    let out = '';
    const endMs = s.endMs !== undefined && s.endMs < frame.endMs ? s.endMs : frame.endMs;
    for (const [ms, v] of sampleSeries({ initial: undefined, initialMs: 0, changes: s.changes, endMs, stepMs: frame.stepMs })) {
      out += sampleLine(f.spec.prometheus, labels, v, ms);
    }
    yield out;
  }
}

// ---------------------------------------------------------------------------------------

function sessionEndNs(device: DeviceTimeline, s: MigrationSession, traceEndNs: bigint): bigint {
  return s.endNs ?? sessionBounds(device, s)?.endNs ?? traceEndNs;
}

/** Earliest and latest trace time anything in the analysis carries. */
function traceSpan(a: Analysis): { readonly first: bigint; readonly last: bigint } | undefined {
  let first: bigint | undefined;
  let last: bigint | undefined;
  const see = (t: bigint | undefined): void => {
    if (t === undefined) return;
    if (first === undefined || t < first) first = t;
    if (last === undefined || t > last) last = t;
  };
  see(a.input.firstTsNs);
  see(a.input.lastTsNs);
  for (const d of a.devices) {
    for (const iv of d.timeline) {
      see(iv.startNs);
      see(iv.endNs);
    }
    for (const s of d.sessions) {
      see(s.startNs);
      see(s.endNs);
    }
  }
  for (const f of a.findings) see(f.tsNs);
  return first !== undefined && last !== undefined ? { first, last } : undefined;
}

/**
 * The OpenMetrics text of an analysis, in chunks (a long trace gives more text than one
 * string should hold; write the chunks to a file as they come). Throws OpenMetricsError
 * before yielding anything when the analysis cannot be backfilled.
 */
export function openMetricsChunks(analysis: Analysis, opts: OpenMetricsOptions = {}): Generator<string> {
  // Validate eagerly (a generator body would only run at the first next()).
  const offsetNs = openMetricsOffsetNs(analysis, opts);
  const stepMs = opts.sampleIntervalMs ?? DEFAULT_SAMPLE_INTERVAL_MS;
  if (!Number.isSafeInteger(stepMs) || stepMs < 1) throw new OpenMetricsError('bad-option', `sample interval ${String(stepMs)} ms is not a positive whole number of milliseconds`);
  const span = traceSpan(analysis);
  if (span === undefined) throw new OpenMetricsError('no-timestamps', 'the trace holds no timestamps, so there is nothing to place in time');
  const wallMs = (traceNs: bigint): number => {
    const ns = traceNs + offsetNs;
    // floor division for negatives too, so the check below sees them
    const ms = ns >= 0n ? ns / NS_PER_MS : -((-ns + NS_PER_MS - 1n) / NS_PER_MS);
    return Number(ms);
  };
  // The zero samples sit 1 ms before the first record; that must still be after the epoch.
  if (wallMs(span.first) < 1) {
    throw new OpenMetricsError('before-epoch', `with clock offset ${offsetNs} ns the trace starts before 1970-01-01; check --clock-offset`);
  }
  if (!Number.isSafeInteger(wallMs(span.last))) {
    throw new OpenMetricsError('out-of-range', `with clock offset ${offsetNs} ns the trace ends beyond any representable time; check --clock-offset`);
  }
  return render(analysis, { startMs: wallMs(span.first), endMs: wallMs(span.last), stepMs }, span.last, wallMs, offsetNs, opts.maxDevicesPerHost ?? DEFAULT_MAX_DEVICES_PER_HOST);
}

function* render(a: Analysis, frame: Frame, traceEndNs: bigint, wallMs: (ns: bigint) => number, offsetNs: bigint, maxDevices: number): Generator<string> {
  const host = a.host ?? UNKNOWN_HOST;
  const migrations = family<number>(METRICS.migrations);
  const findings = family<number>(METRICS.findings);
  const stateDuration = family<HistState>(METRICS.stateDuration);
  const notRunning = family<HistState>(METRICS.notRunning);
  const stopCopy = family<HistState>(METRICS.stopCopy);
  const transferred = family<number>(METRICS.transferredBytes);
  const deviceState = family<number>(METRICS.deviceState);
  const pendingBytes = family<number>(METRICS.pendingBytes);
  const records = family<number>(METRICS.records);
  const malformed = family<number>(METRICS.malformed);
  const lost = family<number>(METRICS.lostEvents);
  const overflow = family<number>(METRICS.deviceLabelOverflow);
  const wall: WallClock = { source: 'offset', clockName: a.clock.clock, offsetNs };
  let folded = 0;
  const labeler = createDeviceLabeler(maxDevices, () => folded++);
  // The state each state set shows as 1, per series key: several timelines of one device id
  // (closed and opened again) share one state set.
  const stateNow = new Map<string, string>();

  for (const d of a.devices) {
    const device = labeler.label(host, d.id);
    const dev = { [LABEL.host]: host, [LABEL.device]: device, [LABEL.protocol]: d.protocol };
    d.sessions.forEach((s, sessionIndex) => {
      const ms = wallMs(sessionEndNs(d, s, traceEndNs));
      const withKind = { ...dev, [LABEL.kind]: s.kind };
      const withOutcome = { ...withKind, [LABEL.outcome]: s.outcome };
      add(migrations, labelsFor(migrations.spec, withOutcome), ms, 1);
      observe(notRunning, labelsFor(notRunning.spec, withOutcome), ms, s.notRunningNs);
      const sc = s.convergence?.actualStopCopyNs;
      if (sc !== undefined) observe(stopCopy, labelsFor(stopCopy.spec, { ...dev, [LABEL.outcome]: s.outcome }), ms, sc);
      add(transferred, labelsFor(transferred.spec, withKind), ms, s.bytes);
      // The same state intervals (clipped to the session) as the live histogram records.
      const plan = planSession({ host: a.host, clock: a.clock, device: d, session: s, findings: [] }, { wall, sessionIndex, migrationId: undefined });
      for (const st of plan.states) observe(stateDuration, labelsFor(stateDuration.spec, { ...withKind, [LABEL.state]: st.state }), ms, st.durationNs);
    });
    let pendingGauge: SeriesBuild<number> | undefined;
    for (const s of d.sessions) {
      for (const p of s.pending) {
        if (p.tsNs === undefined) continue;
        pendingGauge = setGauge(pendingBytes, labelsFor(pendingBytes.spec, dev), wallMs(p.tsNs), Number(p.bytes));
      }
    }
    // The state set: 1 on the state entered, 0 on the one left (the overflow series of many
    // devices is not zeroed: another device may still be in that state).
    const stateSeries: SeriesBuild<number>[] = [];
    const stateKey = `${device}\0${d.protocol}`;
    let before = stateNow.get(stateKey);
    for (const iv of d.timeline) {
      if (iv.startNs === undefined) continue;
      const state = stateLabel(d.protocol, iv.raw);
      if (state === before) continue;
      const ms = wallMs(iv.startNs);
      if (before !== undefined && device !== OVERFLOW_DEVICE) stateSeries.push(setGauge(deviceState, labelsFor(deviceState.spec, { ...dev, [LABEL.state]: before }), ms, 0));
      stateSeries.push(setGauge(deviceState, labelsFor(deviceState.spec, { ...dev, [LABEL.state]: state }), ms, 1));
      before = state;
    }
    if (before !== undefined) stateNow.set(stateKey, before);
    // A device closed before the trace ended stops reporting at the close. Several timelines
    // of one device id (closed and opened again) share the series: it lasts as long as the
    // last of them, and to the end of the trace if one is still open.
    const lastIv = d.timeline[d.timeline.length - 1];
    const closedMs = lastIv?.endNs !== undefined && lastIv.openAtEnd !== true ? wallMs(lastIv.endNs) : Infinity;
    // The pending-bytes gauge of a device lasts as long as its state gauge.
    for (const g of [...stateSeries, pendingGauge]) if (g !== undefined) g.endMs = Math.max(g.endMs ?? -Infinity, closedMs);
  }
  for (const f of a.findings) {
    const labels = labelsFor(findings.spec, {
      [LABEL.host]: host,
      [LABEL.device]: labeler.label(host, f.device),
      [LABEL.rule]: f.rule,
      [LABEL.severity]: f.severity,
      [LABEL.blame]: f.blame,
      [LABEL.certainty]: f.certainty,
    });
    add(findings, labels, wallMs(f.tsNs ?? traceEndNs), 1);
  }
  // Input counts are totals over the whole trace: they land at its end.
  const hostLabels = { [LABEL.host]: host };
  add(records, labelsFor(records.spec, hostLabels), frame.endMs, a.input.records);
  add(malformed, labelsFor(malformed.spec, hostLabels), frame.endMs, a.input.malformed);
  add(lost, labelsFor(lost.spec, hostLabels), frame.endMs, a.input.lostEvents);
  add(overflow, labelsFor(overflow.spec, hostLabels), frame.endMs, folded);

  yield* counterText(migrations, frame);
  yield* counterText(findings, frame);
  yield* histogramText(stateDuration, frame);
  yield* histogramText(notRunning, frame);
  yield* histogramText(stopCopy, frame);
  yield* counterText(transferred, frame);
  yield* gaugeText(deviceState, frame);
  yield* gaugeText(pendingBytes, frame);
  yield* counterText(records, frame);
  yield* counterText(malformed, frame);
  yield* counterText(lost, frame);
  yield* counterText(overflow, frame);
  yield '# EOF\n';
}

/**
 * The whole OpenMetrics text of an analysis (see openMetricsChunks for long traces).
 * Throws OpenMetricsError (print its message; a usage error) when the analysis clock is
 * relative and no clockOffsetNs is given, or when there is no time to place samples at.
 */
export function renderOpenMetrics(analysis: Analysis, opts: OpenMetricsOptions = {}): string {
  let out = '';
  for (const chunk of openMetricsChunks(analysis, opts)) out += chunk;
  return out;
}
