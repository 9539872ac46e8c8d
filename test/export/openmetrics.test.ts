// renderOpenMetrics on hand-built analyses (openmetrics-fixtures.ts): the format rules
// promtool relies on, and the values each series must carry. The real promtool and a real
// Prometheus run in openmetrics-prometheus.test.ts.

import { describe, expect, it } from 'vitest';
import { OpenMetricsError, openMetricsChunks, renderOpenMetrics } from '../../src/export/openmetrics.js';
import { NOT_RUNNING_BUCKETS } from '../../src/export/metric-names.js';
import type { Analysis } from '../../src/analysis/types.js';
import { DEV, EXPECTED, HOST, INPUT, TRACE_S, at, labAnalysis, labFindings, syncClockAt, T0_NS } from './openmetrics-fixtures.js';

/** Wall-clock ms of the fixture's first record. */
const START_MS = 1_750_000_000_000;
const clock = syncClockAt(START_MS);
const wallMs = (s: number): number => START_MS + Math.round(s * 1000);

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly ms: number;
  readonly line: number;
}

/** A strict reader of what the renderer writes (one sample per line, every sample timestamped). */
function parse(text: string): { samples: Sample[]; meta: { kind: string; family: string; rest: string; line: number }[] } {
  const samples: Sample[] = [];
  const meta: { kind: string; family: string; rest: string; line: number }[] = [];
  const lines = text.split('\n');
  expect(lines.pop()).toBe('');
  lines.forEach((l, i) => {
    if (l.startsWith('#')) {
      const m = /^# (TYPE|UNIT|HELP|EOF) ?(\S*) ?(.*)$/.exec(l);
      expect(m, `line ${i + 1}: ${l}`).not.toBeNull();
      meta.push({ kind: m![1]!, family: m![2]!, rest: m![3]!, line: i + 1 });
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+) (\d+)\.(\d{3})$/.exec(l);
    expect(m, `line ${i + 1}: ${l}`).not.toBeNull();
    const labels: Record<string, string> = {};
    for (const lm of (m![2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[lm[1]!] = lm[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    samples.push({ name: m![1]!, labels, value: Number(m![3]), ms: Number(m![4]) * 1000 + Number(m![5]), line: i + 1 });
  });
  return { samples, meta };
}

function seriesKey(s: Sample): string {
  return `${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`;
}

function series(samples: readonly Sample[], name: string, labels: Record<string, string>): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** Value of a single series at time ms (the latest sample at or before it). */
function valueAt(samples: readonly Sample[], ms: number): number | undefined {
  let v: number | undefined;
  for (const s of samples) if (s.ms <= ms) v = s.value;
  return v;
}

function familyOf(sampleName: string, families: ReadonlySet<string>): string | undefined {
  for (const suffix of ['', '_total', '_bucket', '_count', '_sum']) {
    if (sampleName.endsWith(suffix)) {
      const base = sampleName.slice(0, sampleName.length - suffix.length);
      if (families.has(base)) return base;
    }
  }
  return undefined;
}

describe('renderOpenMetrics: the format promtool reads', () => {
  const text = renderOpenMetrics(labAnalysis(clock), { sampleIntervalMs: 10_000 });
  const { samples, meta } = parse(text);

  it('ends with exactly one # EOF', () => {
    expect(text.endsWith('# EOF\n')).toBe(true);
    expect(meta.filter((m) => m.kind === 'EOF')).toHaveLength(1);
  });

  it('declares every family once, with TYPE before its samples, and keeps families contiguous', () => {
    const types = meta.filter((m) => m.kind === 'TYPE');
    const families = new Set(types.map((t) => t.family));
    expect(families.size).toBe(types.length);
    // counters: the family has no _total; its samples do
    expect(types.find((t) => t.family === 'migscope_migrations')?.rest).toBe('counter');
    expect(types.find((t) => t.family === 'migscope_migration_not_running_seconds')?.rest).toBe('histogram');
    expect(types.find((t) => t.family === 'migscope_device_state')?.rest).toBe('gauge');
    const order: string[] = [];
    for (const s of samples) {
      const f = familyOf(s.name, families);
      expect(f, s.name).toBeDefined();
      if (order[order.length - 1] !== f) order.push(f!);
      const typeLine = types.find((t) => t.family === f)!.line;
      expect(typeLine).toBeLessThan(s.line);
    }
    expect(new Set(order).size).toBe(order.length);
  });

  it('writes UNIT only where it is the suffix of the family name', () => {
    const units = meta.filter((m) => m.kind === 'UNIT');
    expect(units.map((u) => `${u.family} ${u.rest}`).sort()).toEqual([
      'migscope_migration_not_running_seconds seconds',
      'migscope_migration_stop_copy_seconds seconds',
      'migscope_migration_transferred_bytes bytes',
      'migscope_state_duration_seconds seconds',
    ]);
    for (const u of units) expect(u.family.endsWith(`_${u.rest}`)).toBe(true);
  });

  it('gives each series strictly increasing timestamps (no two samples in one millisecond)', () => {
    const last = new Map<string, number>();
    for (const s of samples) {
      const k = seriesKey(s);
      const prev = last.get(k);
      if (prev !== undefined) expect(s.ms, `${k} at line ${s.line}`).toBeGreaterThan(prev);
      last.set(k, s.ms);
    }
    expect(last.size).toBeGreaterThan(20);
  });

  it('uses the label keys of metric-names.ts, in its order', () => {
    const m = samples.find((s) => s.name === 'migscope_migrations_total')!;
    expect(Object.keys(m.labels)).toEqual(['host', 'device', 'protocol', 'kind', 'outcome']);
    const f = samples.find((s) => s.name === 'migscope_findings_total')!;
    expect(Object.keys(f.labels)).toEqual(['host', 'device', 'rule', 'severity', 'blame', 'certainty']);
    const b = samples.find((s) => s.name === 'migscope_state_duration_seconds_bucket')!;
    expect(Object.keys(b.labels)).toEqual(['host', 'device', 'protocol', 'kind', 'state', 'le']);
  });

  it('streams the same text in chunks', () => {
    expect([...openMetricsChunks(labAnalysis(clock), { sampleIntervalMs: 10_000 })].join('')).toBe(text);
  });
});

describe('renderOpenMetrics: values', () => {
  const text = renderOpenMetrics(labAnalysis(clock), { sampleIntervalMs: 10_000 });
  const { samples } = parse(text);
  const endMs = wallMs(TRACE_S);

  it('counts each session at its end, from 0 one millisecond before the trace', () => {
    const s = series(samples, 'migscope_migrations_total', { device: DEV.v1Save, kind: 'save', outcome: 'completed' });
    expect(s[0]).toMatchObject({ value: 0, ms: START_MS - 1 });
    expect(valueAt(s, wallMs(12.2) - 1)).toBe(0);
    expect(s.find((x) => x.ms === wallMs(12.2))?.value).toBe(1);
    expect(s[s.length - 1]).toMatchObject({ value: 1, ms: endMs });
  });

  it('sums to the expected outcomes, findings, blame and bytes at the end of the trace', () => {
    const total = (name: string, by: string): Record<string, number> => {
      const out: Record<string, number> = {};
      const finals = new Map<string, Sample>();
      for (const s of samples) if (s.name === name) finals.set(seriesKey(s), s);
      for (const s of finals.values()) {
        expect(s.ms).toBe(endMs);
        const k = by.split('/').map((l) => s.labels[l]).join('/');
        out[k] = (out[k] ?? 0) + s.value;
      }
      return out;
    };
    expect(total('migscope_migrations_total', 'outcome')).toEqual(EXPECTED.migrationsByOutcome);
    expect(total('migscope_migrations_total', 'kind/outcome')).toEqual(EXPECTED.migrationsByKindOutcome);
    expect(total('migscope_findings_total', 'rule')).toEqual(EXPECTED.findingsByRule);
    expect(total('migscope_findings_total', 'blame')).toEqual(EXPECTED.findingsByBlame);
    expect(total('migscope_migration_transferred_bytes_total', 'kind')).toEqual(EXPECTED.bytesByKind);
    expect(total('migscope_input_records_total', 'host')).toEqual({ [HOST]: INPUT.records });
    expect(total('migscope_input_lost_events_total', 'host')).toEqual({ [HOST]: INPUT.lostEvents });
  });

  it('places a finding at its time, and one without a time at the end of the trace', () => {
    const timed = series(samples, 'migscope_findings_total', { rule: 'V1-ASYNC' });
    expect(timed.find((s) => s.value === 1)?.ms).toBe(wallMs(22));
    expect(timed[0]?.labels['certainty']).toBe('uncertain');
    const untimed = series(samples, 'migscope_findings_total', { rule: 'V2-MIG-CAPS' });
    expect(untimed.filter((s) => s.value === 1).map((s) => s.ms)).toEqual([endMs]);
  });

  it('fills histogram buckets cumulatively, with _count and _sum', () => {
    const lbl = { device: DEV.v1Failed, kind: 'save', outcome: 'failed' };
    const atEnd = (name: string, extra: Record<string, string> = {}): number | undefined => valueAt(series(samples, name, { ...lbl, ...extra }), endMs);
    // 0.003 s lies in (0.001, 0.005]
    expect(atEnd('migscope_migration_not_running_seconds_bucket', { le: '0.001' })).toBe(0);
    expect(atEnd('migscope_migration_not_running_seconds_bucket', { le: '0.005' })).toBe(1);
    expect(atEnd('migscope_migration_not_running_seconds_bucket', { le: '60' })).toBe(1);
    expect(atEnd('migscope_migration_not_running_seconds_bucket', { le: '+Inf' })).toBe(1);
    expect(atEnd('migscope_migration_not_running_seconds_count')).toBe(1);
    expect(atEnd('migscope_migration_not_running_seconds_sum')).toBeCloseTo(0.003, 12);
    const les = new Set(series(samples, 'migscope_migration_not_running_seconds_bucket', lbl).map((s) => s.labels['le']));
    expect([...les]).toEqual([...NOT_RUNNING_BUCKETS.map(String), '+Inf']);
    // Before the session ended, everything is 0.
    expect(valueAt(series(samples, 'migscope_migration_not_running_seconds_count', lbl), wallMs(21) - 1)).toBe(0);
  });

  it('records the state intervals of each session in the state-duration histogram', () => {
    const count = (dev: string, state: string): number | undefined =>
      valueAt(series(samples, 'migscope_state_duration_seconds_count', { device: dev, state }), endMs);
    const sum = (dev: string, state: string): number | undefined =>
      valueAt(series(samples, 'migscope_state_duration_seconds_sum', { device: dev, state }), endMs);
    expect(count(DEV.v1Save, 'PRE_COPY')).toBe(1);
    expect(sum(DEV.v1Save, 'PRE_COPY')).toBeCloseTo(2, 9);
    expect(sum(DEV.v1Save, 'SAVING')).toBeCloseTo(0.2, 9);
    // RUNNING ended exactly when the session started: not part of it.
    expect(count(DEV.v1Save, 'RUNNING')).toBeUndefined();
  });

  /** The state a device's state set shows as 1 at `ms` (undefined: none), checking no two are 1 at once. */
  function stateAt(all: readonly Sample[], device: string, ms: number): string | undefined {
    const states = new Set(series(all, 'migscope_device_state', { device }).map((x) => x.labels['state'] ?? ''));
    const on = [...states].filter((st) => valueAt(series(all, 'migscope_device_state', { device, state: st }), ms) === 1);
    expect(on.length, `${device} at ${ms}: ${on.join(',')}`).toBeLessThanOrEqual(1);
    return on[0];
  }

  it('writes the state set at each interval start: 1 on the state entered, 0 on the one left, by name whatever the protocol', () => {
    expect(stateAt(samples, DEV.v1Save, START_MS)).toBe('RUNNING');
    expect(stateAt(samples, DEV.v1Save, wallMs(10))).toBe('PRE_COPY');
    expect(stateAt(samples, DEV.v1Save, wallMs(12))).toBe('SAVING'); // raw 0b1010: reserved bit ignored, low bits SAVING
    expect(stateAt(samples, DEV.v1Save, wallMs(12.2))).toBe('STOP');
    expect(stateAt(samples, DEV.v1Save, endMs)).toBe('STOP');
    // The state left stays as a 0 series (a dashboard sees it end), not a vanished one.
    expect(valueAt(series(samples, 'migscope_device_state', { device: DEV.v1Save, state: 'RUNNING' }), endMs)).toBe(0);
    const v2 = series(samples, 'migscope_device_state', { device: DEV.v2Error });
    expect(v2[0]?.labels['protocol']).toBe('v2');
    expect(stateAt(samples, DEV.v2Error, wallMs(42))).toBe('ERROR'); // raw 0 in v2
    expect(stateAt(samples, DEV.v2Error, wallMs(46))).toBe('RUNNING'); // raw 2 in v2
    const unknown = series(samples, 'migscope_device_state', { device: DEV.unknown });
    expect(new Set(unknown.map((x) => `${x.labels['state']}=${x.value}`))).toEqual(new Set(['UNKNOWN=1']));
  });

  it('stops the state set of a device closed before the end of the trace at the close', () => {
    const d = series(samples, 'migscope_device_state', { device: DEV.v2Save });
    expect(Math.max(...d.map((x) => x.ms))).toBe(wallMs(45));
    expect(stateAt(samples, DEV.v2Save, wallMs(45))).toBe('STOP');
  });

  it('keeps the state set of a device closed and opened again going while the second opening lasts', () => {
    const a = labAnalysis(clock);
    const d = a.devices.find((x) => x.id === DEV.v2Save)!;
    const again = { ...d, fd: 31, sessions: [], timeline: [{ ...d.timeline[0]!, startNs: at(50), endNs: at(TRACE_S), openAtEnd: true }] };
    const all = parse(renderOpenMetrics({ ...a, devices: [d, again] }, { sampleIntervalMs: 10_000 })).samples;
    expect(stateAt(all, DEV.v2Save, endMs)).toBe('RUNNING');
    expect(stateAt(all, DEV.v2Save, wallMs(50))).toBe('RUNNING');
  });

  it('caps the device labels of a host: further devices go to device="_overflow", counted', () => {
    const a = labAnalysis(clock);
    const all = parse(renderOpenMetrics(a, { sampleIntervalMs: 10_000, maxDevicesPerHost: 1 })).samples;
    const devices = new Set(all.filter((x) => x.labels['device'] !== undefined).map((x) => x.labels['device']));
    expect(devices).toEqual(new Set([a.devices[0]!.id, '_overflow']));
    const folded = series(all, 'migscope_device_label_overflow_total', {});
    expect(folded[folded.length - 1]?.value).toBeGreaterThan(0);
    // Without the cap: no overflow series, every device by its id, the overflow counter at 0.
    const free = parse(renderOpenMetrics(a, { sampleIntervalMs: 10_000 })).samples;
    expect(free.some((x) => x.labels['device'] === '_overflow')).toBe(false);
    const zero = series(free, 'migscope_device_label_overflow_total', {});
    expect(zero[zero.length - 1]?.value).toBe(0);
  });

  it('repeats values on the sample grid so series stay visible between changes', () => {
    const s = series(samples, 'migscope_migrations_total', { device: DEV.v2Save });
    const grid = s.filter((x) => x.ms % 10_000 === 0).map((x) => x.ms);
    const expected: number[] = [];
    for (let t = Math.ceil(START_MS / 10_000) * 10_000; t <= endMs; t += 10_000) expected.push(t);
    expect(grid).toEqual(expected);
    // No gap longer than the grid step anywhere.
    for (let i = 1; i < s.length; i++) expect(s[i]!.ms - s[i - 1]!.ms).toBeLessThanOrEqual(10_000);
  });

  it('merges changes within one millisecond into one sample', () => {
    const twice = labAnalysis(clock, { findings: [...labFindings(), labFindings()[0]!] });
    const { samples: s2 } = parse(renderOpenMetrics(twice, { sampleIntervalMs: 10_000 }));
    const f = series(s2, 'migscope_findings_total', { rule: 'V1-REFUSE-VALID' });
    expect(f.filter((s) => s.ms === wallMs(21))).toEqual([expect.objectContaining({ value: 2 })]);
  });

  it('escapes label values', () => {
    const odd = labAnalysis(clock, { host: 'a"b\\c\nd' });
    const t = renderOpenMetrics(odd, { sampleIntervalMs: 60_000 });
    expect(t).toContain('host="a\\"b\\\\c\\nd"');
    expect(parse(t).samples[0]?.labels['host']).toBe('a"b\\c\nd');
  });

  it('labels a trace without a host "unknown"', () => {
    const t = renderOpenMetrics(labAnalysis(clock, { host: undefined }));
    expect(t).toContain('host="unknown"');
    expect(t).not.toContain(`host="${HOST}"`);
  });
});

describe('renderOpenMetrics: times', () => {
  it('refuses a relative clock without an offset, saying how to give one', () => {
    const relative = labAnalysis({ source: 'relative', clock: 'mono', offsetNs: undefined });
    let err: unknown;
    try {
      renderOpenMetrics(relative);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OpenMetricsError);
    expect((err as OpenMetricsError).problem).toBe('relative-clock');
    expect((err as OpenMetricsError).message).toMatch(/--clock-offset/);
    // The generator refuses before yielding anything.
    expect(() => openMetricsChunks(relative)).toThrow(OpenMetricsError);
  });

  it('accepts a relative clock with an explicit offset, and that offset wins', () => {
    const offsetNs = BigInt(START_MS) * 1_000_000n - T0_NS;
    const relative = labAnalysis({ source: 'relative', clock: 'mono', offsetNs: undefined });
    expect(renderOpenMetrics(relative, { clockOffsetNs: offsetNs })).toBe(renderOpenMetrics(labAnalysis(clock)));
    const shifted = renderOpenMetrics(labAnalysis(clock), { clockOffsetNs: offsetNs + 1_000_000_000n });
    expect(parse(shifted).samples[0]?.ms).toBe(START_MS - 1 + 1000);
  });

  it('puts the first sample at the wall-clock time of the first record', () => {
    const { samples } = parse(renderOpenMetrics(labAnalysis(clock)));
    expect(Math.min(...samples.map((s) => s.ms))).toBe(START_MS - 1);
    expect(Math.max(...samples.map((s) => s.ms))).toBe(wallMs(TRACE_S));
  });

  it('refuses an offset that puts the trace before 1970', () => {
    expect(() => renderOpenMetrics(labAnalysis(clock), { clockOffsetNs: -T0_NS })).toThrow(/before 1970/);
    expect(() => renderOpenMetrics(labAnalysis(clock), { clockOffsetNs: 10n ** 25n })).toThrow(expect.objectContaining({ problem: 'out-of-range' }));
  });

  it('refuses an analysis without any timestamp', () => {
    const none: Analysis = {
      ...labAnalysis(clock),
      input: { ...labAnalysis(clock).input, firstTsNs: undefined, lastTsNs: undefined },
      devices: [],
      findings: [],
    };
    expect(() => renderOpenMetrics(none)).toThrow(expect.objectContaining({ problem: 'no-timestamps' }));
  });

  it('refuses a sample interval that is not a positive whole number of ms', () => {
    expect(() => renderOpenMetrics(labAnalysis(clock), { sampleIntervalMs: 0 })).toThrow(expect.objectContaining({ problem: 'bad-option' }));
    expect(() => renderOpenMetrics(labAnalysis(clock), { sampleIntervalMs: 1.5 })).toThrow(OpenMetricsError);
  });

  it('keeps a session without an end time: counted at the last time its device shows', () => {
    const a = labAnalysis(clock);
    const dev = a.devices.find((d) => d.id === DEV.v1Save)!;
    const open = { ...dev, sessions: dev.sessions.map((s) => ({ ...s, endNs: undefined, outcome: 'incomplete' as const })) };
    const t = renderOpenMetrics({ ...a, devices: [open] });
    const s = series(parse(t).samples, 'migscope_migrations_total', { outcome: 'incomplete' });
    expect(s.find((x) => x.value === 1)?.ms).toBe(wallMs(TRACE_S));
    expect(at(0)).toBe(T0_NS);
  });
});
