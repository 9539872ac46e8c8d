// Backfill, proven against the real thing (issue 5, acceptance): the OpenMetrics of a
// hand-built lab analysis goes through Debian's promtool (`tsdb create-blocks-from
// openmetrics`), a real Prometheus serves those blocks on a loopback port, and EVERY PromQL
// expression of the dashboards (read from the built dashboards, dashboards/queries.ts) runs
// through the HTTP API with the template variables substituted, returning the series and
// values the fixture implies. Expected values come from the fixture's inputs and a table
// written by hand, never from the renderer.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderOpenMetrics } from '../../src/export/openmetrics.js';
import { NOT_RUNNING_BUCKETS } from '../../src/export/metric-names.js';
import type { Analysis } from '../../src/analysis/types.js';
import { allDashboardQueries } from '../../dashboards/index.js';
import { interpolatePromQL, parseLabelValues, type DashboardQuery, type PromVariables } from '../../dashboards/queries.js';
import { PROMETHEUS, PROMTOOL, bucketQuantile as quantileOf, dataOf, promApi, seconds, startPrometheus, toolAvailable, type PromVector, type RunningPrometheus } from '../helpers/prometheus.js';
import { DEV, HOST, INPUT, TRACE_S, at, labAnalysis, labDevices, labFindings, syncClockAt } from './openmetrics-fixtures.js';

const haveTools = toolAvailable(PROMTOOL) && toolAvailable(PROMETHEUS);
if (!haveTools) console.warn(`openmetrics-prometheus: skipped: ${PROMTOOL} or ${PROMETHEUS} is missing (Debian package "prometheus")`);

// The trace starts on a whole minute 30 minutes ago: inside any retention, and the end of
// the trace (where the queries run) is a whole second.
const START_MS = Math.floor(Date.now() / 60_000) * 60_000 - 30 * 60_000;
const END_MS = START_MS + TRACE_S * 1000;
const wallMs = (s: number): number => START_MS + Math.round(s * 1000);
/** $__range and $__rate_interval: one hour, the whole trace; so increase()/rate() see every event. */
const WINDOW_S = 3600;

// ---------------------------------------------------------------------------------------
// Facts of the fixture (its inputs) and hand-computed state stays

interface SessionFact {
  readonly device: string;
  readonly protocol: string;
  readonly kind: string;
  readonly outcome: string;
  readonly bytes: number;
  readonly notRunningS: number;
  /** The save's timed stop-copy, s (-1: none). */
  readonly stopCopyS: number;
}

const SESSIONS: readonly SessionFact[] = labDevices().flatMap((d) =>
  d.sessions.map((s) => ({ device: d.id, protocol: d.protocol, kind: s.kind, outcome: s.outcome, bytes: s.bytes, notRunningS: Number(s.notRunningNs) / 1e9, stopCopyS: s.convergence?.actualStopCopyNs === undefined ? -1 : Number(s.convergence.actualStopCopyNs) / 1e9 })),
);

/** Time inside each session per state interval (by hand from openmetrics-fixtures.ts): device → state → [seconds…]. */
const STAYS: Readonly<Record<string, Readonly<Record<string, readonly number[]>>>> = {
  [DEV.v1Save]: { PRE_COPY: [2], SAVING: [0.2], STOP: [0] },
  [DEV.v1Resume]: { RESUMING: [0.5], RUNNING: [0] },
  [DEV.v1Failed]: { PRE_COPY: [1], ERROR: [0] },
  [DEV.v2Save]: { PRE_COPY: [2], STOP_COPY: [0.15], STOP: [0] },
  [DEV.v2Error]: { STOP_COPY: [0.5], ERROR: [0] },
};

/**
 * The state of each device from a time on (s after the first record), by hand from the raw
 * values of openmetrics-fixtures.ts: v1 §2.2 (low three bits), v2 §5.3 (2 RUNNING, 6
 * PRE_COPY, 3 STOP_COPY, 1 STOP, 0 ERROR); the unknown device's state is never seen.
 */
const STATE_CHANGES: Readonly<Record<string, { readonly protocol: string; readonly changes: readonly (readonly [number, string])[] }>> = {
  [DEV.v1Save]: { protocol: 'v1', changes: [[0, 'RUNNING'], [10, 'PRE_COPY'], [12, 'SAVING'], [12.2, 'STOP']] },
  [DEV.v1Resume]: { protocol: 'v1', changes: [[0, 'STOP'], [3, 'RESUMING'], [3.5, 'RUNNING']] },
  [DEV.v1Failed]: { protocol: 'v1', changes: [[0, 'RUNNING'], [20, 'PRE_COPY'], [21, 'ERROR'], [25, 'RUNNING']] },
  [DEV.v2Save]: { protocol: 'v2', changes: [[0, 'RUNNING'], [30, 'PRE_COPY'], [32, 'STOP_COPY'], [32.15, 'STOP']] },
  [DEV.v2Error]: { protocol: 'v2', changes: [[0, 'RUNNING'], [40, 'STOP_COPY'], [40.5, 'ERROR'], [45, 'RUNNING']] },
  [DEV.unknown]: { protocol: 'v1', changes: [[0, 'UNKNOWN']] },
};

/**
 * Pending-bytes samples added to the fixture's sessions (s after the first record, bytes):
 * a v1 save draining to 0, a failed v1 save left with data, a v2 save draining to 0.
 */
const PENDING: Readonly<Record<string, { readonly protocol: string; readonly samples: readonly (readonly [number, number])[] }>> = {
  [DEV.v1Save]: { protocol: 'v1', samples: [[10, 3_145_728], [11, 1_048_576], [12.1, 0]] },
  [DEV.v1Failed]: { protocol: 'v1', samples: [[20.5, 65_536]] },
  [DEV.v2Save]: { protocol: 'v2', samples: [[30.5, 4_194_304], [31, 2_097_152], [32.1, 0]] },
};

function withPending(a: Analysis): Analysis {
  return {
    ...a,
    devices: a.devices.map((d) => {
      const p = PENDING[d.id];
      if (p === undefined) return d;
      return { ...d, sessions: d.sessions.map((s) => ({ ...s, pending: p.samples.map(([t, bytes]) => ({ tsNs: at(t), bytes: BigInt(bytes) })) })) };
    }),
  };
}

function pendingAt(device: string, ms: number): number | undefined {
  let v: number | undefined;
  for (const [s, bytes] of PENDING[device]?.samples ?? []) if (wallMs(s) <= ms) v = bytes;
  return v;
}

function stateAt(device: string, ms: number): string | undefined {
  let v: string | undefined;
  for (const [s, raw] of STATE_CHANGES[device]?.changes ?? []) if (wallMs(s) <= ms) v = raw;
  return v;
}

// ---------------------------------------------------------------------------------------
// Expected results

interface ExpectedSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  /** For quantiles: the bucket the value must lie in. */
  readonly within?: readonly [number, number];
}

type Row = Readonly<Record<string, string | number>>;

function groupSum(rows: readonly Row[], by: readonly string[], value: (r: Row) => number): ExpectedSeries[] {
  const out = new Map<string, { labels: Record<string, string>; value: number }>();
  for (const r of rows) {
    const labels: Record<string, string> = {};
    for (const k of by) labels[k] = String(r[k]);
    const key = JSON.stringify(labels);
    const e = out.get(key) ?? { labels, value: 0 };
    e.value += value(r);
    out.set(key, e);
  }
  return [...out.values()];
}

function bucketQuantile(q: number, observations: readonly number[]): { value: number; within: readonly [number, number] } {
  return quantileOf(q, NOT_RUNNING_BUCKETS, observations);
}

function quantiles(q: number, rows: readonly (SessionFact & { readonly host: string })[], by: readonly (keyof SessionFact | 'host')[]): ExpectedSeries[] {
  const groups = new Map<string, { labels: Record<string, string>; obs: number[] }>();
  for (const r of rows) {
    const labels: Record<string, string> = {};
    for (const k of by) labels[k] = String(r[k]);
    const key = JSON.stringify(labels);
    const g = groups.get(key) ?? { labels, obs: [] };
    g.obs.push(r.notRunningS);
    groups.set(key, g);
  }
  return [...groups.values()].map((g) => {
    const r = bucketQuantile(q, g.obs);
    return { labels: g.labels, value: r.value, within: r.within };
  });
}

interface Selection {
  readonly name: string;
  /** undefined: "All". */
  readonly devices: readonly string[] | undefined;
}

function expectedFor(q: DashboardQuery, sel: Selection): ExpectedSeries[] | 'state-timeline' | 'pending' {
  const inSel = (device: string): boolean => sel.devices === undefined || sel.devices.includes(device);
  const sessions = SESSIONS.filter((s) => inSel(s.device)).map((s) => ({ ...s, host: HOST }));
  const findings = labFindings()
    .filter((f) => inSel(f.device))
    .map((f) => ({ host: HOST, device: f.device, rule: f.rule, severity: f.severity, blame: f.blame, certainty: f.certainty }));
  const one = (): number => 1;
  const key = `${q.dashboard}/${q.panel}/${q.refId}`;
  const pq = (p: number): ((s: DashboardQuery) => boolean) => (s) => s.expr.startsWith(`histogram_quantile(${p},`);
  switch (key) {
    case 'migscope-fleet/Migrations by outcome/A':
    case 'migscope-fleet/Migrations over time by outcome/A':
      return groupSum(sessions, ['outcome'], one);
    case 'migscope-fleet/Time not running per session (p50 / p95 / p99)/A':
    case 'migscope-fleet/Time not running per session (p50 / p95 / p99)/B':
    case 'migscope-fleet/Time not running per session (p50 / p95 / p99)/C': {
      const p = [0.5, 0.95, 0.99].find((x) => pq(x)(q));
      if (p === undefined) throw new Error(`unexpected quantile in ${q.expr}`);
      return quantiles(p, sessions, ['kind']);
    }
    case 'migscope-fleet/Time not running, p95 over the range/A':
      return quantiles(0.95, sessions, ['kind']);
    case 'migscope-fleet/Devices that dominate downtime/A':
      return groupSum(
        sessions.filter((s) => s.stopCopyS >= 0),
        ['host', 'device'],
        (r) => Number(r['stopCopyS']),
      );
    case 'migscope-fleet/Findings by rule/A':
    case 'migscope-fleet/Findings over time by rule/A':
      return groupSum(findings, ['rule'], one);
    case 'migscope-fleet/Findings by blame/A':
      return groupSum(findings, ['blame'], one);
    case 'migscope-fleet/Findings by severity and certainty/A':
      return groupSum(findings, ['severity', 'certainty'], one);
    case 'migscope-fleet/Migration data rate/A':
      return groupSum(sessions, ['host', 'kind'], (r) => Number(r['bytes']) / WINDOW_S);
    case 'migscope-fleet/Bytes moved in the range/A':
      return groupSum(sessions, ['kind'], (r) => Number(r['bytes']));
    case 'migscope-fleet/Trace input in the range/A':
      return [{ labels: {}, value: INPUT.records }];
    case 'migscope-fleet/Trace input in the range/B':
      return [{ labels: {}, value: INPUT.malformed }];
    case 'migscope-fleet/Trace input in the range/C':
      return [{ labels: {}, value: INPUT.lostEvents }];
    case 'migscope-fleet/Trace input in the range/D':
      return [{ labels: {}, value: 0 }]; // six devices, far under the label cap
    case 'migscope-fleet/Devices by current state/A':
      return groupSum(
        Object.keys(STATE_CHANGES)
          .filter(inSel)
          .map((d) => ({ state: stateAt(d, END_MS) ?? '' })),
        ['state'],
        one,
      );
    case 'migscope-device/Device state/A':
      return 'state-timeline';
    case 'migscope-device/Current state/A':
      return Object.entries(STATE_CHANGES)
        .filter(([d]) => inSel(d))
        .map(([device, c]) => ({ labels: { host: HOST, device, protocol: c.protocol, state: stateAt(device, END_MS) ?? '' }, value: 1 }));
    case 'migscope-device/Pending bytes/A':
      return 'pending';
    case 'migscope-device/Sessions in the range/A':
      return groupSum(sessions, ['host', 'device', 'kind', 'outcome'], one);
    case 'migscope-device/Time not running per session, p95/A':
      return quantiles(0.95, sessions, ['host', 'device', 'kind']);
    case 'migscope-device/Mean time per state interval in the range/A':
      return Object.entries(STAYS)
        .filter(([d]) => inSel(d))
        .flatMap(([device, states]) => Object.entries(states).map(([state, stays]) => ({ labels: { device, state }, value: stays.reduce((a, b) => a + b, 0) / stays.length })));
    case 'migscope-device/Migration data rate/A':
      return groupSum(sessions, ['host', 'device', 'kind'], (r) => Number(r['bytes']) / WINDOW_S);
    case 'migscope-device/Findings in the range/A':
      return groupSum(findings, ['host', 'device', 'rule', 'severity', 'blame', 'certainty'], one);
    case 'migscope-device/Findings over time/A':
      return groupSum(findings, ['device', 'rule'], one);
    default:
      throw new Error(`no expectation for dashboard query ${key}: ${q.expr} (add one when adding a panel)`);
  }
}

// ---------------------------------------------------------------------------------------
// Prometheus

let dir = '';
let prom: RunningPrometheus | undefined;
let base = '';

const api = (path: string, params: Record<string, string>): Promise<unknown> => promApi(base, path, params);

const ALL_QUERIES: readonly DashboardQuery[] = allDashboardQueries();
const PROMQL = ALL_QUERIES.filter((q) => q.language === 'promql');
const LABEL_VALUES = ALL_QUERIES.filter((q) => q.language === 'label_values');

const SELECTIONS: readonly Selection[] = [
  { name: 'all devices', devices: undefined },
  // Two devices: Grafana's multi-value form, regex-escaped (the dots in PCI addresses).
  { name: 'two devices', devices: [DEV.v1Failed, DEV.v2Error] },
];

describe.skipIf(!haveTools)('backfilled OpenMetrics in a real Prometheus answer every dashboard query', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'migscope-om-'));
    const file = join(dir, 'lab.om');
    writeFileSync(file, renderOpenMetrics(withPending(labAnalysis(syncClockAt(START_MS))), { sampleIntervalMs: 15_000 }));
    const data = join(dir, 'data');
    const made = spawnSync(PROMTOOL, ['tsdb', 'create-blocks-from', 'openmetrics', file, data], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`promtool refused the OpenMetrics (exit ${made.status}): ${made.stderr}${made.stdout}`);
    const config = join(dir, 'prometheus.yml');
    // No scrape targets: Prometheus only serves the backfilled blocks.
    writeFileSync(config, 'global:\n  scrape_interval: 1m\nscrape_configs: []\n');
    // Far longer than the data's age: retention must not delete the blocks on start.
    prom = await startPrometheus({ configFile: config, dataDir: data, args: ['--storage.tsdb.retention.time=3650d'] });
    base = prom.base;
  });

  afterAll(async () => {
    await prom?.stop();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('the dashboards have PromQL queries and template variables to run', () => {
    expect(PROMQL.length).toBeGreaterThan(15);
    expect(LABEL_VALUES.length).toBeGreaterThanOrEqual(2);
  });

  it('answers the label_values() of the host and device variables', async () => {
    for (const q of LABEL_VALUES) {
      const lv = parseLabelValues(q.expr);
      expect(lv, q.expr).toBeDefined();
      const params: Record<string, string> = { start: seconds(START_MS - 60_000), end: seconds(END_MS + 60_000) };
      if (lv!.selector !== undefined) params['match[]'] = interpolatePromQL(lv!.selector, { host: [HOST], range: '1h', rateInterval: '1h' });
      const body = await api(`/api/v1/label/${lv!.label}/values`, params);
      const values = typeof body === 'object' && body !== null ? Reflect.get(body, 'data') : undefined;
      const want = lv!.label === 'host' ? [HOST] : Object.values(DEV).slice().sort();
      expect(values, `${q.dashboard} ${q.panel}`).toEqual(want);
    }
  });

  for (const sel of SELECTIONS) {
    it(`answers every PromQL expression at the end of the trace (${sel.name})`, async () => {
      const vars: PromVariables = { host: [HOST], device: sel.devices, range: `${WINDOW_S}s`, rateInterval: `${WINDOW_S}s` };
      let checked = 0;
      for (const q of PROMQL) {
        const expected = expectedFor(q, sel);
        const expr = interpolatePromQL(q.expr, vars);
        const where = `${q.dashboard} / ${q.panel} / ${q.refId}: ${expr}`;
        if (expected === 'state-timeline') {
          await checkStateTimeline(q, expr, sel, where);
          checked++;
          continue;
        }
        if (expected === 'pending') {
          await checkPending(expr, sel, where);
          checked++;
          continue;
        }
        const { resultType, result } = dataOf(await api('/api/v1/query', { query: expr, time: seconds(END_MS) }));
        expect(resultType, where).toBe('vector');
        const got = result.map((r) => {
          const { __name__: _name, ...labels } = r.metric;
          return { labels, value: Number(r.value?.[1]) };
        });
        const norm = (l: Readonly<Record<string, string>>): string => JSON.stringify(Object.entries(l).sort());
        expect(got.map((g) => norm(g.labels)).sort(), where).toEqual(expected.map((e) => norm(e.labels)).sort());
        for (const e of expected) {
          const g = got.find((x) => norm(x.labels) === norm(e.labels))!;
          expect(g.value, `${where} ${norm(e.labels)}`).toBeCloseTo(e.value, 6);
          if (e.within !== undefined) {
            expect(g.value, `${where}: in bucket`).toBeGreaterThanOrEqual(e.within[0]);
            expect(g.value, `${where}: in bucket`).toBeLessThanOrEqual(e.within[1]);
          }
        }
        checked++;
      }
      expect(checked).toBe(PROMQL.length);
    });
  }

  /**
   * The state-timeline panel: a range query over the trace; at every step each device has
   * exactly one series with a point (its state set's 1), and its `state` label is the state
   * the fixture was in. v1 and v2 devices in the same panel.
   */
  async function checkStateTimeline(_q: DashboardQuery, expr: string, sel: Selection, where: string): Promise<void> {
    const stepMs = 50;
    const { resultType, result } = dataOf(await api('/api/v1/query_range', { query: expr, start: seconds(START_MS), end: seconds(END_MS), step: String(stepMs / 1000) }));
    expect(resultType, where).toBe('matrix');
    const want = Object.keys(STATE_CHANGES)
      .filter((d) => sel.devices === undefined || sel.devices.includes(d))
      .sort();
    expect([...new Set(result.map((r) => r.metric['device']))].sort(), where).toEqual(want);
    const seen = new Map<string, Map<number, string[]>>();
    for (const r of result) {
      const device = r.metric['device'] ?? '';
      expect(r.metric['protocol'], where).toBe(STATE_CHANGES[device]?.protocol);
      const byMs = seen.get(device) ?? new Map<number, string[]>();
      seen.set(device, byMs);
      for (const [t, v] of r.values ?? []) {
        expect(Number(v), where).toBe(1);
        const ms = Math.round(t * 1000);
        byMs.set(ms, [...(byMs.get(ms) ?? []), r.metric['state'] ?? '']);
      }
    }
    for (const device of want) {
      const byMs = seen.get(device)!;
      expect(byMs.size, `${where} ${device}`).toBe((END_MS - START_MS) / stepMs + 1);
      for (const [ms, states] of byMs) expect(states, `${where} ${device} at +${(ms - START_MS) / 1000}s`).toEqual([stateAt(device, ms)]);
    }
  }

  /** The pending-bytes panel: a range query over the trace, every step the latest sample, nothing before the first. */
  async function checkPending(expr: string, sel: Selection, where: string): Promise<void> {
    const stepMs = 50;
    const { resultType, result } = dataOf(await api('/api/v1/query_range', { query: expr, start: seconds(START_MS), end: seconds(END_MS), step: String(stepMs / 1000) }));
    expect(resultType, where).toBe('matrix');
    const want = Object.keys(PENDING).filter((d) => sel.devices === undefined || sel.devices.includes(d)).sort();
    expect(result.map((r) => r.metric['device']).sort(), where).toEqual(want);
    for (const r of result) {
      const device = r.metric['device'] ?? '';
      expect(r.metric['protocol'], where).toBe(PENDING[device]?.protocol);
      const first = wallMs(PENDING[device]?.samples[0]?.[0] ?? 0);
      const points = r.values ?? [];
      expect(points.length, `${where} ${device}`).toBe(Math.floor((END_MS - first) / stepMs) + 1);
      for (const [t, v] of points) {
        const ms = Math.round(t * 1000);
        expect(Number(v), `${where} ${device} at +${(ms - START_MS) / 1000}s`).toBe(pendingAt(device, ms));
      }
    }
  }

  it('shows a device closed early until the lookback ends, and nothing from before the trace', async () => {
    const v2 = (ms: number): Promise<{ resultType: string; result: PromVector[] }> =>
      api('/api/v1/query', { query: `migscope_device_state{device="${DEV.v2Save}"} == 1`, time: seconds(ms) }).then(dataOf);
    expect((await v2(wallMs(50))).result.map((r) => [r.metric['state'], r.value?.[1]])).toEqual([['STOP', '1']]);
    expect((await v2(START_MS - 1000)).result).toEqual([]);
  });
});
