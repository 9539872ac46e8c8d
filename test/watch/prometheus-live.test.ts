// Issue 5, acceptance: a real Prometheus (Debian's package) scrapes `migscope watch` (the
// built CLI) every second while the lab workload migrates devices, and EVERY PromQL
// expression of the dashboards (read from the built dashboards, dashboards/queries.ts) runs
// through Prometheus' HTTP API and returns the series and values the lab scenarios imply.
//
// One VMM process (test/watch/lab-runner.py) runs seven lab scenarios one after another on
// two devices (v1 0000:65:00.0, v2 0000:66:00.0), so series accumulate in one watch: per
// protocol a completed save, a failed save and a resume, findings of both blames and
// severities, and a finding outside any session (see RUNS). `migscope watch --pid` follows
// it with bpftrace. The runner holds every new state and pending-bytes value for HOLD_S seconds, so
// a 1 s scrape sees each one and state durations are known multiples of HOLD_S.
//
// Expected values come from capture/lab/scenarios.json (findings, state sequences, v2
// sessions), its driver defaults (pre-copy 0x6000, stop-copy 0x3000, chunks of 0x2000) and
// the scenario code in capture/lab/workload.py, worked out by hand below; never from
// migscope's output. Queries run at the time of the last scrape, so increase()/rate() do
// not extrapolate and counts come out whole.
//
// Skips, printing why, without root, FUSE, python3-fusepy, bpftrace or prometheus.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labAvailable, labScenarios, type LabScenario } from '../../capture/lab/run.js';
import { NOT_RUNNING_BUCKETS } from '../../src/export/metric-names.js';
import { v1StateName } from '../../src/protocol/v1.js';
import { V2_STATES } from '../../src/protocol/v2.js';
import { allDashboardQueries } from '../../dashboards/index.js';
import { interpolatePromQL, parseLabelValues, type DashboardQuery, type PromVariables } from '../../dashboards/queries.js';
import { PROMETHEUS, bucketQuantile, dataOf, freePort, promApi, seconds, startPrometheus, toolAvailable, type RunningPrometheus } from '../helpers/prometheus.js';
import { builtCli, kill, startLabs, startProc, waitFor, type MultiLab, type Proc } from './helpers.js';

const lab = await labAvailable('bpftrace');
const haveProm = toolAvailable(PROMETHEUS);
const skipReason = !lab.ok ? lab.reason : !haveProm ? `${PROMETHEUS} is missing (Debian package "prometheus")` : undefined;
if (skipReason !== undefined) console.warn(`SKIPPED test/watch/prometheus-live.test.ts: ${skipReason}`);

/** Seconds the runner holds each new state / pending value (> the 1 s scrape interval). */
const HOLD_S = 1.3;
/** What a held stretch may take beyond its holds (syscalls through FUSE, a loaded machine). */
const SLACK_S = 0.6;
const HOST = hostname();
const V1 = '0000:65:00.0';
const V2 = '0000:66:00.0';

const RUNS = [
  'clean-live-migration',
  'resume',
  'error-state-reset',
  'reserved-state-101-rejected',
  'v2-clean-live-migration',
  'v2-stopcopy-not-drained',
  'v2-resume',
] as const;

const ALL_SCENARIOS: readonly LabScenario[] = [...labScenarios('v1'), ...labScenarios('v2')];
function scenario(name: string): LabScenario {
  const s = ALL_SCENARIOS.find((x) => x.name === name);
  if (s === undefined) throw new Error(`scenarios.json has no ${name}`);
  return s;
}

// ---------------------------------------------------------------------------------------
// What the runs imply

interface SessionFact {
  readonly device: string;
  readonly protocol: 'v1' | 'v2';
  readonly kind: 'save' | 'resume';
  readonly outcome: string;
  readonly bytes: number;
  /** Time not running, in holds (each ≈ HOLD_S). */
  readonly notRunningHolds: number;
}

/**
 * v1 sessions (scenarios.json lists none for v1; from the descriptions and workload.py):
 * - clean-live-migration: 011 → 010 → 000 drained: a completed save of the pre-copy 0x6000
 *   plus the stop-copy 0x3000 = 0x9000 bytes. Not running (010b has no RUNNING bit) from
 *   the 010 write: held for the state, then for pending 0x5000, 0x3000, 0x1000, 0 = 5 holds.
 * - resume: 001 → 100 → 001 with chunks 0x2000 + 0x1800: completed, 0x3800 bytes; not
 *   running in 100 for 1 hold.
 * - error-state-reset: the refused 011 → 010 leaves 110 (error): a failed save after one
 *   pre-copy chunk (precopy(d, 1)) of 0x2000; never stopped (011 runs): 0 not running.
 * v2 sessions (kind, outcome, bytes: scenarios.json expect.sessions); not running (STOP,
 * STOP_COPY, RESUMING: spec §5.3) for one hold each: STOP_COPY, STOP_COPY, RESUMING.
 */
const SESSIONS: readonly SessionFact[] = [
  { device: V1, protocol: 'v1', kind: 'save', outcome: 'completed', bytes: 0x9000, notRunningHolds: 5 },
  { device: V1, protocol: 'v1', kind: 'resume', outcome: 'completed', bytes: 0x3800, notRunningHolds: 1 },
  { device: V1, protocol: 'v1', kind: 'save', outcome: 'failed', bytes: 0x2000, notRunningHolds: 0 },
  ...(['v2-clean-live-migration', 'v2-stopcopy-not-drained', 'v2-resume'] as const).flatMap((name) =>
    (scenario(name).expect.sessions?.[V2] ?? []).map((s): SessionFact => ({ device: V2, protocol: 'v2', kind: s.kind, outcome: s.outcome, bytes: s.bytes ?? 0, notRunningHolds: 1 })),
  ),
];

const blameOf = { U: 'vmm', D: 'driver' } as const;
const FINDINGS = RUNS.flatMap((r) => scenario(r).expect.findings).map((f) => ({ host: HOST, device: f.device, rule: f.rule, severity: f.severity, blame: blameOf[f.blame], certainty: 'certain' }));

/**
 * Whole state intervals inside each session, in holds, as watch exports them when the
 * session ends (its final state has only just begun, so it is not among them):
 *   v1 PRE_COPY: 1 + pending 0x6000, 0x4000, 0x2000 (clean); 1 + 0x6000, 0x4000 (error-state-reset)
 *   v1 SAVING: 1 + pending 0x5000, 0x3000, 0x1000, 0 (clean);   v1 RESUMING: 1 (resume)
 *   v2 PRE_COPY: 1 + PRECOPY_INFO 0x6000, 0;   PRE_COPY_P2P: 1;   STOP_COPY: 1 (twice);   RESUMING: 1
 *   v1 UNKNOWN: 0 (error-state-reset: from the refused write to its read-back, no hold between;
 *   spec §2.3 rule 3, the state is not shown until the read)
 */
const STAYS: Readonly<Record<string, Readonly<Record<string, readonly number[]>>>> = {
  [V1]: { PRE_COPY: [4, 3], SAVING: [5], RESUMING: [1], UNKNOWN: [0] },
  [V2]: { PRE_COPY: [3], PRE_COPY_P2P: [1], STOP_COPY: [1, 1], RESUMING: [1] },
};

/** Raw state values each device shows, in order, consecutive repeats merged: the runs' expect.states one after another. */
function expectedStates(device: string): number[] {
  const out: number[] = [];
  for (const r of RUNS) for (const v of scenario(r).expect.states[device] ?? []) if (out[out.length - 1] !== v) out.push(v);
  return out;
}

/**
 * Pending-bytes samples each device shows, in order (driver defaults in scenarios.json
 * "notes"; a v1 pending_bytes read consumes the chunk read before it, spec §2.5):
 *   clean-live-migration: pre-copy 0x6000, 0x4000, 0x2000 (two iterations), then in 010 the
 *     rest plus stop-copy 0x2000 + 0x3000 = 0x5000, 0x3000, 0x1000, 0;
 *   error-state-reset: 0x6000, 0x4000 (one iteration; the device is reset with data left);
 *   v2-clean-live-migration: PRECOPY_INFO initial 0x6000 + dirty 0, then 0 after the
 *     pre-copy reads.
 */
const PENDING: Readonly<Record<string, { readonly protocol: string; readonly values: readonly number[] }>> = {
  [V1]: { protocol: 'v1', values: [0x6000, 0x4000, 0x2000, 0x5000, 0x3000, 0x1000, 0, 0x6000, 0x4000] },
  [V2]: { protocol: 'v2', values: [0x6000, 0] },
};

// ---------------------------------------------------------------------------------------
// Expected answers

interface ExpectedSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  /** The value must lie in [lo, hi] (quantiles: the bucket; durations: holds + slack). */
  readonly within?: readonly [number, number];
  /** Compare with toBeCloseTo (default) or only check `within`. */
  readonly exact?: boolean;
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

/** An observation of `holds` holds (n·HOLD_S, plus at most SLACK_S), checked to fall in one histogram bucket whatever the slack. */
function notRunningObservation(holds: number): number {
  const lo = holds * HOLD_S;
  const hi = lo + (holds === 0 ? 0 : SLACK_S);
  const b = NOT_RUNNING_BUCKETS.findIndex((x) => lo <= x);
  // The whole stretch must fall in one bucket, or the quantile could not be known.
  if (b < 0 || hi > (NOT_RUNNING_BUCKETS[b] ?? Infinity)) throw new Error(`HOLD_S puts ${holds} holds across a bucket boundary`);
  return lo;
}

function quantiles(q: number, rows: readonly (SessionFact & { readonly host: string })[], by: readonly string[]): ExpectedSeries[] {
  const groups = new Map<string, { labels: Record<string, string>; obs: number[] }>();
  for (const r of rows) {
    const labels: Record<string, string> = {};
    for (const k of by) labels[k] = String(Reflect.get(r, k));
    const key = JSON.stringify(labels);
    const g = groups.get(key) ?? { labels, obs: [] };
    g.obs.push(notRunningObservation(r.notRunningHolds));
    groups.set(key, g);
  }
  return [...groups.values()].map((g) => {
    const r = bucketQuantile(q, NOT_RUNNING_BUCKETS, g.obs);
    return { labels: g.labels, value: r.value, within: r.within };
  });
}

interface Selection {
  readonly name: string;
  readonly devices: readonly string[] | undefined;
}

const WINDOW_S = 3600;

function expectedFor(q: DashboardQuery, sel: Selection, journalRecords: number): ExpectedSeries[] | 'state-timeline' | 'pending' {
  const inSel = (device: string): boolean => sel.devices === undefined || sel.devices.includes(device);
  const sessions = SESSIONS.filter((s) => inSel(s.device)).map((s) => ({ ...s, host: HOST }));
  const findings = FINDINGS.filter((f) => inSel(f.device));
  const one = (): number => 1;
  const key = `${q.dashboard}/${q.panel}/${q.refId}`;
  switch (key) {
    case 'migscope-fleet/Migrations by outcome/A':
    case 'migscope-fleet/Migrations over time by outcome/A':
      return groupSum(sessions, ['outcome'], one);
    case 'migscope-fleet/Time not running per session (p50 / p95 / p99)/A':
    case 'migscope-fleet/Time not running per session (p50 / p95 / p99)/B':
    case 'migscope-fleet/Time not running per session (p50 / p95 / p99)/C': {
      const p = [0.5, 0.95, 0.99].find((x) => q.expr.startsWith(`histogram_quantile(${x},`));
      if (p === undefined) throw new Error(`unexpected quantile in ${q.expr}`);
      return quantiles(p, sessions, ['kind']);
    }
    case 'migscope-fleet/Time not running, p95 over the range/A':
      return quantiles(0.95, sessions, ['kind']);
    case 'migscope-fleet/Devices that dominate downtime/A': {
      // Stop-copy (010b / STOP_COPY) of each save that reached it: the v1 clean save's 5
      // holds (as its time not running), one hold for each v2 save; the refused v1 save
      // never entered 010b.
      const byDevice = new Map<string, { holds: number; n: number }>();
      for (const r of sessions) {
        if (r.kind !== 'save' || r.notRunningHolds === 0) continue;
        const e = byDevice.get(r.device) ?? { holds: 0, n: 0 };
        e.holds += r.notRunningHolds;
        e.n += 1;
        byDevice.set(r.device, e);
      }
      return [...byDevice].map(([device, e]) => ({ labels: { host: HOST, device }, value: e.holds * HOLD_S, within: [e.holds * HOLD_S, e.holds * HOLD_S + e.n * SLACK_S] as const, exact: false }));
    }
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
      // Every syscall the runner journaled is a trace record; the trace has a few more
      // (clock sync, the runner's own writes to stdout, closes).
      return [{ labels: {}, value: journalRecords, within: [journalRecords, journalRecords + 200], exact: false }];
    case 'migscope-fleet/Trace input in the range/B':
    case 'migscope-fleet/Trace input in the range/C':
      return [{ labels: {}, value: 0 }];
    case 'migscope-fleet/Trace input in the range/D':
      return [{ labels: {}, value: 0 }]; // two devices, far under the label cap
    case 'migscope-fleet/Devices by current state/A':
      return groupSum(
        [V1, V2].filter(inSel).map((d) => ({ state: stateName(d, expectedStates(d).at(-1) ?? -1) })),
        ['state'],
        one,
      );
    case 'migscope-device/Device state/A':
      return 'state-timeline';
    case 'migscope-device/Current state/A':
      return [V1, V2].filter(inSel).map((device) => ({
        labels: { host: HOST, device, protocol: device === V1 ? 'v1' : 'v2', state: stateName(device, expectedStates(device).at(-1) ?? -1) },
        value: 1,
      }));
    case 'migscope-device/Pending bytes/A':
      return 'pending';
    case 'migscope-device/Sessions in the range/A':
      return groupSum(sessions, ['host', 'device', 'kind', 'outcome'], one);
    case 'migscope-device/Time not running per session, p95/A':
      return quantiles(0.95, sessions, ['host', 'device', 'kind']);
    case 'migscope-device/Mean time per state interval in the range/A':
      return Object.entries(STAYS)
        .filter(([d]) => inSel(d))
        .flatMap(([device, states]) =>
          Object.entries(states).map(([state, stays]) => {
            const holds = stays.reduce((a, b) => a + b, 0) / stays.length;
            return { labels: { device, state }, value: holds * HOLD_S, within: [holds * HOLD_S, holds * HOLD_S + SLACK_S] as const, exact: false };
          }),
        );
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

/** Consecutive repeats merged. */
/** The spec's name of a raw state (v1 §2.2 low bits, v2 §5.3 enum), as the state set's `state` label carries it. */
function stateName(device: string, raw: number): string {
  return device === V1 ? v1StateName(raw) : (V2_STATES[raw] ?? 'INVALID');
}

function collapse<T>(values: readonly T[]): T[] {
  const out: T[] = [];
  for (const v of values) if (out[out.length - 1] !== v) out.push(v);
  return out;
}

// ---------------------------------------------------------------------------------------
// The run

const ALL_QUERIES: readonly DashboardQuery[] = allDashboardQueries();
const PROMQL = ALL_QUERIES.filter((q) => q.language === 'promql');
const LABEL_VALUES = ALL_QUERIES.filter((q) => q.language === 'label_values');
const SELECTIONS: readonly Selection[] = [
  { name: 'all devices', devices: undefined },
  { name: 'the v2 device', devices: [V2] },
];

let tmp = '';
let labs: MultiLab | undefined;
let runner: Proc | undefined;
let watch: Proc | undefined;
let prom: RunningPrometheus | undefined;
let metricsPort = 0;
/** Wall-clock ms: just before the runner was let go, and the last scrape after it finished. */
let goMs = 0;
let atMs = 0;
let journalRecords = 0;

const api = (path: string, params: Record<string, string>): Promise<unknown> => promApi(prom?.base ?? '', path, params);

/** Time of the latest successful scrape of watch (timestamp() of a plain selector is the sample's own time). */
async function lastScrapeMs(): Promise<number | undefined> {
  const { result } = dataOf(await api('/api/v1/query', { query: 'up{job="migscope"}' }));
  if (result[0]?.value?.[1] !== '1') return undefined;
  const { result: ts } = dataOf(await api('/api/v1/query', { query: 'timestamp(up{job="migscope"})' }));
  const v = ts[0]?.value?.[1];
  return v === undefined ? undefined : Math.round(Number(v) * 1000);
}

async function cleanUp(): Promise<void> {
  runner?.child.stdin?.end();
  await kill(watch, true);
  await kill(runner);
  await prom?.stop();
  await labs?.stop();
  if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
}

describe.skipIf(skipReason !== undefined)('a real Prometheus scraping `migscope watch` answers every dashboard query', () => {
  beforeAll(async () => {
    try {
      const cli = builtCli();
      tmp = mkdtempSync(join(tmpdir(), 'migscope-watch-prom-'));
      labs = await startLabs(RUNS);
      const journal = join(tmp, 'journal.jsonl');
      runner = startProc([...labs.runnerArgv, '--wait-go', '--wait-end', '--hold', String(HOLD_S), '--journal', journal], { stdin: 'pipe' });
      const r = runner;
      await waitFor(() => /ready pid=\d+/.test(r.stdout()) || r.child.exitCode !== null, 30_000, 'the lab runner');
      const pid = Number(/ready pid=(\d+)/.exec(r.stdout())?.[1]);
      if (!(pid > 0)) throw new Error(`lab runner did not start: ${r.stderr()}`);

      metricsPort = await freePort();
      const config = join(tmp, 'prometheus.yml');
      writeFileSync(
        config,
        ['global:', '  scrape_interval: 1s', '  scrape_timeout: 1s', 'scrape_configs:', '  - job_name: migscope', '    static_configs:', `      - targets: ['127.0.0.1:${metricsPort}']`, ''].join('\n'),
      );
      prom = await startPrometheus({ configFile: config, dataDir: join(tmp, 'data') });

      watch = startProc([process.execPath, cli, 'watch', '--pid', String(pid), '--metrics-address', `127.0.0.1:${metricsPort}`, '--no-color'], { detached: true });
      const w = watch;
      await waitFor(() => /tracing pid \d+/.test(w.stderr()) || w.child.exitCode !== null, 60_000, 'watch to attach');
      if (w.child.exitCode !== null) throw new Error(`watch exited: ${w.stderr()}`);
      // Scraped at least once before anything happens: every series starts inside the data.
      for (let i = 0; ; i++) {
        if ((await lastScrapeMs()) !== undefined) break;
        if (i > 150) throw new Error(`prometheus never scraped watch: ${prom.log()}`);
        await new Promise((res) => setTimeout(res, 200));
      }

      goMs = Date.now();
      r.child.stdin?.write('go\n');
      await waitFor(() => /^finished$/m.test(r.stdout()) || r.child.exitCode !== null, 240_000, 'the lab runs', 200);
      if (r.child.exitCode !== null) throw new Error(`lab runner failed: ${r.stderr()}`);
      journalRecords = readFileSync(journal, 'utf8').split('\n').filter((l) => l !== '').length;
      const finishedMs = Date.now();
      // Three scrapes after the end: the last values (and a new series' first real value,
      // one scrape after its zero) are in.
      for (let i = 0; ; i++) {
        const t = await lastScrapeMs();
        if (t !== undefined && t > finishedMs + 3_000) {
          atMs = t;
          break;
        }
        if (i > 100) throw new Error(`prometheus stopped scraping watch: ${prom.log()}\n${w.stderr()}`);
        await new Promise((res) => setTimeout(res, 250));
      }
    } catch (e) {
      await cleanUp();
      throw e;
    }
  }, 400_000);

  afterAll(cleanUp, 60_000);

  it('the dashboards have PromQL queries and template variables to run', () => {
    expect(PROMQL.length).toBeGreaterThan(15);
    expect(LABEL_VALUES.length).toBeGreaterThanOrEqual(2);
  });

  it('watch printed each finding of the scenarios on its stdout', () => {
    const lines = (watch?.stdout() ?? '').split('\n');
    const got = lines
      .map((l) => /^\d\d:\d\d:\d\d\.\d{3} (ERROR|WARNING) +(\S+) blame (\S+) (\S+): /.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => `${m[2]} ${m[3]} ${m[1]?.toLowerCase()} ${m[4]}`)
      .sort();
    expect(got, watch?.stdout()).toEqual(FINDINGS.map((f) => `${f.rule} ${f.blame} ${f.severity} ${f.device}`).sort());
    const sessions = lines.filter((l) => / session (save|resume) /.test(l));
    expect(sessions, watch?.stdout()).toHaveLength(SESSIONS.length);
  });

  it('answers the label_values() of the host and device variables', async () => {
    for (const q of LABEL_VALUES) {
      const lv = parseLabelValues(q.expr);
      expect(lv, q.expr).toBeDefined();
      const params: Record<string, string> = { start: seconds(goMs - 60_000), end: seconds(atMs) };
      if (lv!.selector !== undefined) params['match[]'] = interpolatePromQL(lv!.selector, { host: [HOST], range: '1h', rateInterval: '1h' });
      const body = await api(`/api/v1/label/${lv!.label}/values`, params);
      const values = typeof body === 'object' && body !== null ? Reflect.get(body, 'data') : undefined;
      expect(values, `${q.dashboard} ${q.panel}`).toEqual(lv!.label === 'host' ? [HOST] : [V1, V2]);
    }
  });

  for (const sel of SELECTIONS) {
    it(`answers every PromQL expression at the last scrape (${sel.name})`, async () => {
      const vars: PromVariables = { host: [HOST], device: sel.devices, range: `${WINDOW_S}s`, rateInterval: `${WINDOW_S}s` };
      let checked = 0;
      for (const q of PROMQL) {
        const expected = expectedFor(q, sel, journalRecords);
        const expr = interpolatePromQL(q.expr, vars);
        const where = `${q.dashboard} / ${q.panel} / ${q.refId}: ${expr}`;
        if (expected === 'state-timeline' || expected === 'pending') {
          await checkTimeline(q, expr, sel, expected, where);
          checked++;
          continue;
        }
        const { resultType, result } = dataOf(await api('/api/v1/query', { query: expr, time: seconds(atMs) }));
        expect(resultType, where).toBe('vector');
        const got = result.map((r) => {
          const { __name__: _name, ...labels } = r.metric;
          return { labels, value: Number(r.value?.[1]) };
        });
        const norm = (l: Readonly<Record<string, string>>): string => JSON.stringify(Object.entries(l).sort());
        expect(got.map((g) => norm(g.labels)).sort(), where).toEqual(expected.map((e) => norm(e.labels)).sort());
        for (const e of expected) {
          const g = got.find((x) => norm(x.labels) === norm(e.labels))!;
          if (e.exact !== false) expect(g.value, `${where} ${norm(e.labels)}`).toBeCloseTo(e.value, 6);
          if (e.within !== undefined) {
            expect(g.value, `${where} ${norm(e.labels)}: within [${e.within.join(', ')}]`).toBeGreaterThanOrEqual(e.within[0]);
            expect(g.value, `${where} ${norm(e.labels)}: within [${e.within.join(', ')}]`).toBeLessThanOrEqual(e.within[1]);
          }
        }
        checked++;
      }
      expect(checked).toBe(PROMQL.length);
    });
  }

  /** State timelines and pending bytes: a range query over the run, its values in order (repeats merged) as the runs imply. */
  async function checkTimeline(q: DashboardQuery, expr: string, sel: Selection, what: 'state-timeline' | 'pending', where: string): Promise<void> {
    const { resultType, result } = dataOf(await api('/api/v1/query_range', { query: expr, start: seconds(goMs - 2_000), end: seconds(atMs), step: '0.2' }));
    expect(resultType, where).toBe('matrix');
    const protocolOf = (d: string): string => (what === 'pending' ? (PENDING[d]?.protocol ?? '') : d === V1 ? 'v1' : 'v2');
    const want = [V1, V2].filter((d) => sel.devices === undefined || sel.devices.includes(d));
    if (what === 'state-timeline') {
      // One series per (device, state), points only while it is 1: at each step exactly one
      // state per device, and in order they are the states the runs went through.
      expect([...new Set(result.map((r) => r.metric['device']))].sort(), where).toEqual(want);
      for (const device of want) {
        const byT = new Map<number, string[]>();
        for (const r of result.filter((x) => x.metric['device'] === device)) {
          expect(r.metric['protocol'], where).toBe(protocolOf(device));
          for (const [t, v] of r.values ?? []) {
            expect(Number(v), where).toBe(1);
            byT.set(t, [...(byT.get(t) ?? []), r.metric['state'] ?? '']);
          }
        }
        const seq = [...byT.entries()].sort((a, b) => a[0] - b[0]).map(([t, st]) => {
          expect(st, `${where} ${device} at ${t}`).toHaveLength(1);
          return st[0] ?? '';
        });
        expect(collapse(seq), `${where} ${device}`).toEqual(collapse(expectedStates(device).map((raw) => stateName(device, raw))));
      }
      return;
    }
    expect(result.map((r) => r.metric['device']).sort(), where).toEqual(want);
    for (const r of result) {
      const device = r.metric['device'] ?? '';
      expect(r.metric['protocol'], where).toBe(protocolOf(device));
      const values = collapse((r.values ?? []).map(([, v]) => Number(v)));
      expect(values, `${where} ${device}`).toEqual(PENDING[device]?.values);
    }
  }

  it('watch ends with the traced process: exit 1 (error findings), a summary, /metrics closed', async () => {
    const w = watch!;
    runner?.child.stdin?.end('\n');
    const code = await w.exit;
    expect(code, w.stderr()).toBe(1);
    expect(w.stderr()).toMatch(new RegExp(`2 device\\(s\\), ${SESSIONS.length} session\\(s\\), ${FINDINGS.length} finding\\(s\\)(?: \\([^)]*\\))?; input \\d+ records, 0 malformed, 0 lost events`));
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect(metricsPort, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(false);
      });
      s.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  });
});
