// The lab scenarios exported over real OTLP/HTTP (protobuf) to a loopback receiver that
// decodes the payloads against the OTLP schema: span names, parentage, exact times,
// attributes, events, status, and the metric points.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { exportAnalysis } from '../../src/export/index.js';
import { ATTR, EVENT } from '../../src/export/conventions.js';
import { METRICS, NOT_RUNNING_BUCKETS } from '../../src/export/metric-names.js';
import { startHttpReceiver, type ReceivedSpan, type Receiver } from './otlp-receiver.js';
import { ERR, FAIL, OFFSET_CLOCK, SAVE, SYNC_CLOCK, cleanSaveAnalysis, errorThenResetAnalysis, failedSaveAnalysis } from './fixtures.js';

const STATUS_ERROR = 2;
const STATUS_UNSET = 0;

let r: Receiver;

beforeEach(async () => {
  r = await startHttpReceiver();
  vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', r.endpoint);
  vi.stubEnv('OTEL_NODE_RESOURCE_DETECTORS', 'env');
  vi.stubEnv('OTEL_EXPORTER_OTLP_TIMEOUT', '5000');
});

afterEach(async () => {
  vi.unstubAllEnvs();
  await r.close();
});

function byName(spans: readonly ReceivedSpan[], name: string): ReceivedSpan {
  const s = spans.find((x) => x.name === name);
  if (s === undefined) throw new Error(`no span ${name} in ${spans.map((x) => x.name).join(', ')}`);
  return s;
}

const syncWall = (traceNs: bigint): bigint => traceNs + (SYNC_CLOCK.offsetNs ?? 0n);
const offsetWall = (traceNs: bigint): bigint => traceNs + (OFFSET_CLOCK.offsetNs ?? 0n);

describe('clean v1 save over OTLP/HTTP protobuf', () => {
  it('sends a root session span with one child per state, exact wall-clock times, write events', async () => {
    const summary = await exportAnalysis(cleanSaveAnalysis());
    expect(summary.ok).toBe(true);
    expect(summary.spansFailed).toBe(0);
    expect(r.contentTypes).toEqual(new Set(['application/x-protobuf']));
    expect(r.spans.map((s) => s.name).sort()).toEqual(['vfio.migration.save', 'vfio.state.PRE_COPY', 'vfio.state.SAVING', 'vfio.state.STOP']);
    expect(summary.spansExported).toBe(4);

    const root = byName(r.spans, 'vfio.migration.save');
    expect(root.parentSpanId).toBe('');
    expect(root.kind).toBe(4); // PRODUCER: the save produces the state a resume consumes
    // OTel semantic conventions where they exist; migscope's own keys under migscope.*.
    expect(root.attributes['process.pid']).toBe(4242n);
    expect(root.attributes['host.name']).toBe('src-host');
    expect(root.attributes['thread.name']).toBe('qemu-system-x86');
    for (const k of Object.keys(root.attributes)) expect(k, k).toMatch(/^(migscope\.|process\.pid$|thread\.name$|host\.name$)/);
    // Exact to the nanosecond: the wall times exceed 2^53 ns, a double would round them.
    expect(root.startNs).toBe(syncWall(SAVE.preCopy));
    expect(root.endNs).toBe(syncWall(SAVE.stop));
    expect(root.startNs).toBe(1_732_536_000_100_000_123n);
    expect(root.status.code).toBe(STATUS_UNSET);
    expect(root.attributes).toMatchObject({
      [ATTR.deviceId]: '0000:65:00.0',
      [ATTR.protocol]: 'v1',
      [ATTR.processPid]: 4242n,
      [ATTR.threadName]: 'qemu-system-x86',
      [ATTR.hostName]: 'src-host',
      [ATTR.kind]: 'save',
      [ATTR.outcome]: 'completed',
      [ATTR.bytes]: 196608n,
      [ATTR.iterations]: 3n,
      [ATTR.notRunningNs]: BigInt(SAVE.stop - SAVE.saving),
      [ATTR.states]: ['PRE_COPY', 'SAVING', 'STOP'],
      // the convergence account: what it knows, and nothing for what it does not
      [ATTR.convergenceVerdict]: 'unknown',
      [ATTR.downtimeFits]: 'unknown',
      [ATTR.actualStopCopyNs]: BigInt(SAVE.stop - SAVE.saving),
      [ATTR.stopCopyActualBytes]: 65536n,
      [ATTR.clockSource]: 'sync',
      [ATTR.clockName]: 'mono',
      [ATTR.traceStartNs]: SAVE.preCopy.toString(),
      [ATTR.source]: 'trace.txt:20',
    });
    expect(root.attributes[ATTR.predictedStopCopyNs]).toBeUndefined();
    expect(root.resource['service.name']).toBe('migscope');
    expect(root.resource['service.version']).toBe('0.1.0-test');
    expect(root.scope).toBe('migscope');

    for (const s of r.spans) if (s !== root) {
      expect(s.kind).toBe(1); // INTERNAL
      expect(s.parentSpanId).toBe(root.spanId);
      expect(s.traceId).toBe(root.traceId);
    }
    const pre = byName(r.spans, 'vfio.state.PRE_COPY');
    expect([pre.startNs, pre.endNs]).toEqual([syncWall(SAVE.preCopy), syncWall(SAVE.saving)]);
    expect(pre.attributes).toMatchObject({ [ATTR.state]: 'PRE_COPY', [ATTR.stateRaw]: 3n, [ATTR.stateCertainty]: 'known', [ATTR.stateBytes]: 131072n });
    const saving = byName(r.spans, 'vfio.state.SAVING');
    expect([saving.startNs, saving.endNs]).toEqual([syncWall(SAVE.saving), syncWall(SAVE.stop)]);
    // The state reached at the end of the session: zero length, clipped (it goes on).
    const stop = byName(r.spans, 'vfio.state.STOP');
    expect([stop.startNs, stop.endNs]).toEqual([syncWall(SAVE.stop), syncWall(SAVE.stop)]);
    expect(stop.attributes).toMatchObject({ [ATTR.stateClipped]: true, [ATTR.stateOpen]: true });

    // Each write is an event on the state span it produced.
    expect(pre.events).toEqual([
      {
        name: EVENT.stateWrite,
        timeNs: syncWall(SAVE.preCopy),
        attributes: { [ATTR.fromState]: 'RUNNING', [ATTR.fromRaw]: 1n, [ATTR.toState]: 'PRE_COPY', [ATTR.toRaw]: 3n, [ATTR.writeResult]: 'ok', [ATTR.source]: 'trace.txt:20' },
      },
    ]);
    expect(saving.events.map((e) => [e.attributes[ATTR.toState], e.timeNs])).toEqual([['SAVING', syncWall(SAVE.saving)]]);
    expect(stop.events.map((e) => [e.attributes[ATTR.toState], e.timeNs])).toEqual([['STOP', syncWall(SAVE.stop)]]);
    expect(root.events).toEqual([]);
  });

  it('sends the metric points under the documented names', async () => {
    const summary = await exportAnalysis(cleanSaveAnalysis());
    expect(summary.metricPointsFailed).toBe(0);
    expect(summary.metricPointsExported).toBe(r.points.length);
    const point = (metric: string, attrs: Record<string, unknown> = {}) => {
      const hits = r.points.filter((p) => p.metric === metric && Object.entries(attrs).every(([k, v]) => p.attributes[k] === v));
      expect(hits, `${metric} ${JSON.stringify(attrs)}`).toHaveLength(1);
      return hits[0]!;
    };
    const base = { host: 'src-host', device: '0000:65:00.0', protocol: 'v1' };
    const mig = point(METRICS.migrations.name, { ...base, kind: 'save', outcome: 'completed' });
    expect([mig.type, mig.monotonic, mig.value, mig.unit]).toEqual(['sum', true, 1, '{migration}']);
    const bytes = point(METRICS.transferredBytes.name, { ...base, kind: 'save' });
    expect([bytes.value, bytes.unit]).toEqual([196608, 'By']);
    const nr = point(METRICS.notRunning.name, { ...base, kind: 'save', outcome: 'completed' });
    expect(nr.type).toBe('histogram');
    expect(nr.count).toBe(1);
    expect(nr.sum).toBeCloseTo(Number(SAVE.stop - SAVE.saving) / 1e9, 9);
    expect(nr.bounds).toEqual(NOT_RUNNING_BUCKETS);
    expect(nr.unit).toBe('s');
    const sd = point(METRICS.stateDuration.name, { ...base, kind: 'save', state: 'PRE_COPY' });
    expect(sd.sum).toBeCloseTo(Number(SAVE.saving - SAVE.preCopy) / 1e9, 9);
    // The state the session ends in is still going: no duration to observe.
    expect(r.points.filter((p) => p.metric === METRICS.stateDuration.name).map((p) => p.attributes['state']).sort()).toEqual(['PRE_COPY', 'SAVING']);
    // The state set: the state the device is in, by name (no protocol-dependent number).
    const gauge = point(METRICS.deviceState.name, base);
    expect([gauge.type, gauge.value, gauge.attributes['state']]).toEqual(['gauge', 1, 'STOP']); // ends in STOP
    expect(point(METRICS.records.name, { host: 'src-host' }).value).toBe(1234);
    expect(point(METRICS.malformed.name, { host: 'src-host' }).value).toBe(2);
    expect(point(METRICS.lostEvents.name, { host: 'src-host' }).value).toBe(7);
    expect(r.points.some((p) => p.metric === METRICS.findings.name)).toBe(false);
  });
});

describe('failed save with findings', () => {
  it('marks the session ERROR, puts the failed write on the state it was attempted in, and findings on the root', async () => {
    const summary = await exportAnalysis(failedSaveAnalysis());
    expect(summary.ok).toBe(true);
    const root = byName(r.spans, 'vfio.migration.save');
    expect(root.status.code).toBe(STATUS_ERROR);
    expect(root.status.message).toContain('save session failed');
    expect(root.status.message).toContain('V1-REFUSE-VALID');
    expect(root.attributes[ATTR.outcome]).toBe('failed');
    // error.type (semconv) with the ERROR status: the first certain error rule, more specific than "failed".
    expect(root.attributes['error.type']).toBe('V1-REFUSE-VALID');
    expect(root.startNs).toBe(offsetWall(FAIL.preCopy));

    const pre = byName(r.spans, 'vfio.state.PRE_COPY');
    const failed = pre.events.find((e) => e.attributes[ATTR.writeResult] === 'failed');
    expect(failed).toEqual({
      name: EVENT.stateWrite,
      timeNs: offsetWall(FAIL.refused),
      attributes: {
        [ATTR.fromState]: 'PRE_COPY',
        [ATTR.fromRaw]: 3n,
        [ATTR.toState]: 'SAVING',
        [ATTR.toRaw]: 2n,
        [ATTR.writeResult]: 'failed',
        [ATTR.writeErrno]: 22n,
        [ATTR.readBackRaw]: 3n,
        [ATTR.source]: 'trace.txt:40',
      },
    });
    const findings = root.events.filter((e) => e.name === EVENT.finding);
    expect(findings.map((e) => e.attributes[ATTR.ruleId])).toEqual(['V1-REFUSE-VALID', 'V1-EAGAIN', 'V1-RESERVED-STATE']);
    expect(findings[0]).toEqual({
      name: EVENT.finding,
      timeNs: offsetWall(FAIL.refused),
      attributes: {
        [ATTR.ruleId]: 'V1-REFUSE-VALID',
        [ATTR.severity]: 'error',
        [ATTR.blame]: 'driver',
        [ATTR.certainty]: 'certain',
        [ATTR.message]: 'V1-REFUSE-VALID fired',
        [ATTR.specRef]: 'spec §6.1',
        [ATTR.evidence]: ['trace.txt:40', 'trace.txt:41'],
        [ATTR.evidenceWhat]: ['line 40', 'line 41'],
        [ATTR.deviceId]: '0000:66:00.0',
      },
    });
    expect(findings[1]?.attributes[ATTR.certainty]).toBe('uncertain');
    expect(root.attributes[ATTR.findingsCount]).toBe(3n);
    expect(root.attributes[ATTR.findingsErrors]).toBe(2n);

    // The warning before the session has a span of its own (no session to hang it on).
    const lone = byName(r.spans, 'migscope.finding');
    expect(lone.parentSpanId).toBe('');
    expect([lone.startNs, lone.endNs]).toEqual([offsetWall(FAIL.widthWarning), offsetWall(FAIL.widthWarning)]);
    expect(lone.attributes[ATTR.ruleId]).toBe('V1-WIDTH');
    expect(lone.status.code).toBe(STATUS_UNSET); // a warning is not an error
    expect(lone.attributes['error.type']).toBeUndefined();
    expect(lone.links).toEqual([]); // before any session: nothing to link to
    expect(summary.standaloneFindings).toBe(1);

    const findingPoints = r.points.filter((p) => p.metric === METRICS.findings.name);
    expect(findingPoints.map((p) => [p.attributes['rule'], p.attributes['severity'], p.attributes['blame'], p.attributes['certainty'], p.value]).sort()).toEqual([
      ['V1-EAGAIN', 'warning', 'driver', 'uncertain', 1],
      ['V1-REFUSE-VALID', 'error', 'driver', 'certain', 1],
      ['V1-RESERVED-STATE', 'error', 'vmm', 'certain', 1],
      ['V1-WIDTH', 'warning', 'vmm', 'certain', 1],
    ]);
  });
});

describe('device in ERROR, then reset; no clock sync', () => {
  it('shows the ERROR state span as an error, links the later finding to the session without making it its child, and says the times are relative', async () => {
    const summary = await exportAnalysis(errorThenResetAnalysis());
    expect(summary.ok).toBe(true);
    expect(summary.notes.join('\n')).toMatch(/no clock sync/);
    const root = byName(r.spans, 'vfio.migration.save');
    // Relative: the trace time is used as if it counted from the epoch.
    expect(root.startNs).toBe(ERR.preCopy);
    expect(root.attributes[ATTR.clockSource]).toBe('relative');
    expect(root.status.code).toBe(STATUS_ERROR);
    const err = byName(r.spans, 'vfio.state.ERROR');
    expect(err.status.code).toBe(STATUS_ERROR);
    expect(err.attributes['error.type']).toBe('device_error_state');
    expect(err.parentSpanId).toBe(root.spanId);
    // The failed SAVING → STOP write with the ERROR read-back sits in SAVING.
    const saving = byName(r.spans, 'vfio.state.SAVING');
    expect(saving.events.map((e) => [e.attributes[ATTR.toState], e.attributes[ATTR.writeResult], e.attributes[ATTR.writeErrno], e.attributes[ATTR.readBackRaw]])).toEqual([
      ['SAVING', 'ok', undefined, undefined],
      ['STOP', 'failed', 5n, 6n],
    ]);
    // The finding at the ERROR boundary is on the session; the reset warning after the
    // session's end is not in its window: a span of its own, linked to the session before it.
    expect(root.events.map((e) => e.attributes[ATTR.ruleId])).toEqual(['V1-ERROR-ENTER']);
    const later = byName(r.spans, 'migscope.finding');
    expect(later.parentSpanId).toBe('');
    expect(later.links).toEqual([{ traceId: root.traceId, spanId: root.spanId, attributes: { [ATTR.linkType]: 'previous_session' } }]);
    expect(later.startNs).toBe(ERR.reset);
    expect(later.attributes[ATTR.ruleId]).toBe('V1-FAIL-RECOVER');
    // The state set shows the device back in RUNNING after the reset.
    const gauge = r.points.filter((p) => p.metric === METRICS.deviceState.name);
    expect(gauge.map((p) => [p.attributes['state'], p.value])).toEqual([['RUNNING', 1]]);
  });
});
