// Records migscope's metrics (names, units, labels and buckets: metric-names.ts) on an
// OTel Meter. Metric timestamps are export times, not trace times: a metric says what
// migscope has seen so far; the spans say when it happened.

import { ValueType, type Attributes, type Counter, type Gauge, type Histogram, type Meter } from '@opentelemetry/api';
import type { Finding } from '../check/types.js';
import type { DeviceTimeline, MigrationSession } from '../track/types.js';
import { LABEL, METRICS, UNKNOWN_HOST } from './metric-names.js';
import { createDeviceLabeler, DEFAULT_MAX_DEVICES_PER_HOST, OVERFLOW_DEVICE, type DeviceLabeler } from './device-labels.js';
import { stateLabel } from './device-state.js';
import type { StatePlan } from './session-plan.js';
import { nsToSeconds } from './time.js';

export interface Instruments {
  recordSession(host: string | undefined, device: DeviceTimeline, session: MigrationSession, states: readonly StatePlan[]): void;
  recordFinding(host: string | undefined, finding: Finding): void;
  recordDeviceState(host: string | undefined, device: Pick<DeviceTimeline, 'id' | 'protocol'>, raw: number | undefined): void;
  recordPending(host: string | undefined, device: Pick<DeviceTimeline, 'id' | 'protocol'>, bytes: bigint): void;
  recordInput(host: string | undefined, counts: { readonly records: number; readonly malformed: number; readonly lostEvents: number }): void;
  /** The device label cap (device-labels.ts): what was folded into device="_overflow". */
  readonly deviceLabels: DeviceLabeler;
}

export interface InstrumentOptions {
  /** Distinct device labels per host before further devices go to device="_overflow" (default 256). */
  readonly maxDevicesPerHost?: number | undefined;
}

export function createInstruments(meter: Meter, opts: InstrumentOptions = {}): Instruments {
  const m = METRICS;
  const migrations: Counter = meter.createCounter(m.migrations.name, { unit: m.migrations.unit, description: m.migrations.description, valueType: ValueType.INT });
  const findings: Counter = meter.createCounter(m.findings.name, { unit: m.findings.unit, description: m.findings.description, valueType: ValueType.INT });
  const stateDuration: Histogram = meter.createHistogram(m.stateDuration.name, {
    unit: m.stateDuration.unit,
    description: m.stateDuration.description,
    advice: { explicitBucketBoundaries: [...m.stateDuration.buckets] },
  });
  const notRunning: Histogram = meter.createHistogram(m.notRunning.name, {
    unit: m.notRunning.unit,
    description: m.notRunning.description,
    advice: { explicitBucketBoundaries: [...m.notRunning.buckets] },
  });
  const stopCopy: Histogram = meter.createHistogram(m.stopCopy.name, {
    unit: m.stopCopy.unit,
    description: m.stopCopy.description,
    advice: { explicitBucketBoundaries: [...m.stopCopy.buckets] },
  });
  const transferred: Counter = meter.createCounter(m.transferredBytes.name, { unit: m.transferredBytes.unit, description: m.transferredBytes.description, valueType: ValueType.INT });
  const deviceState: Gauge = meter.createGauge(m.deviceState.name, { unit: m.deviceState.unit, description: m.deviceState.description, valueType: ValueType.INT });
  const pending: Gauge = meter.createGauge(m.pendingBytes.name, { unit: m.pendingBytes.unit, description: m.pendingBytes.description, valueType: ValueType.INT });
  const records: Counter = meter.createCounter(m.records.name, { unit: m.records.unit, description: m.records.description, valueType: ValueType.INT });
  const malformed: Counter = meter.createCounter(m.malformed.name, { unit: m.malformed.unit, description: m.malformed.description, valueType: ValueType.INT });
  const lost: Counter = meter.createCounter(m.lostEvents.name, { unit: m.lostEvents.unit, description: m.lostEvents.description, valueType: ValueType.INT });
  const overflow: Counter = meter.createCounter(m.deviceLabelOverflow.name, {
    unit: m.deviceLabelOverflow.unit,
    description: m.deviceLabelOverflow.description,
    valueType: ValueType.INT,
  });

  const hostOf = (h: string | undefined): string => h ?? UNKNOWN_HOST;
  const labels = createDeviceLabeler(opts.maxDevicesPerHost ?? DEFAULT_MAX_DEVICES_PER_HOST, (host) => overflow.add(1, { [LABEL.host]: host }));
  const dev = (host: string, id: string): string => labels.label(host, id);
  /** The state each device's state set shows as 1, per host/device/protocol series. */
  const current = new Map<string, string>();

  return {
    recordSession(host, device, session, states): void {
      // Fresh objects per call, built by assignment (no spread: see session-plan.ts).
      const h = hostOf(host);
      const d = dev(h, device.id);
      const withKind = (): Attributes => ({ [LABEL.host]: h, [LABEL.device]: d, [LABEL.protocol]: device.protocol, [LABEL.kind]: session.kind });
      const withOutcome = withKind();
      withOutcome[LABEL.outcome] = session.outcome;
      migrations.add(1, withOutcome);
      notRunning.record(nsToSeconds(session.notRunningNs), withOutcome);
      const sc = session.convergence?.actualStopCopyNs;
      if (sc !== undefined) stopCopy.record(nsToSeconds(sc), { [LABEL.host]: h, [LABEL.device]: d, [LABEL.protocol]: device.protocol, [LABEL.outcome]: session.outcome });
      // add(0) still creates the series, so a device that moved no data shows 0, not nothing.
      if (session.bytes >= 0) transferred.add(session.bytes, withKind());
      // Whole intervals only: a clipped one (the state the session ends in, still going)
      // has no duration yet, and its part inside the session would skew the histogram.
      for (const st of states) {
        if (st.clipped) continue;
        const a = withKind();
        a[LABEL.state] = st.state;
        stateDuration.record(nsToSeconds(st.durationNs), a);
      }
    },
    recordFinding(host, f): void {
      const h = hostOf(host);
      findings.add(1, {
        [LABEL.host]: h,
        [LABEL.device]: dev(h, f.device),
        [LABEL.rule]: f.rule,
        [LABEL.severity]: f.severity,
        [LABEL.blame]: f.blame,
        [LABEL.certainty]: f.certainty,
      });
    },
    recordDeviceState(host, device, raw): void {
      const h = hostOf(host);
      const d = dev(h, device.id);
      const state = stateLabel(device.protocol, raw);
      const key = `${h}\0${d}\0${device.protocol}`;
      const before = current.get(key);
      if (before === state) return;
      // StateSet: the state left goes to 0 (its series stays, so a dashboard sees it end),
      // the state entered to 1. The overflow series of many devices can show several 1s.
      if (before !== undefined && d !== OVERFLOW_DEVICE) {
        deviceState.record(0, { [LABEL.host]: h, [LABEL.device]: d, [LABEL.protocol]: device.protocol, [LABEL.state]: before });
      }
      current.set(key, state);
      deviceState.record(1, { [LABEL.host]: h, [LABEL.device]: d, [LABEL.protocol]: device.protocol, [LABEL.state]: state });
    },
    recordPending(host, device, bytes): void {
      const h = hostOf(host);
      // A double holds byte counts exactly up to 2^53 (8 PiB): far beyond any device state.
      pending.record(Number(bytes), { [LABEL.host]: h, [LABEL.device]: dev(h, device.id), [LABEL.protocol]: device.protocol });
    },
    recordInput(host, c): void {
      const a: Attributes = { [LABEL.host]: hostOf(host) };
      records.add(c.records, a);
      malformed.add(c.malformed, a);
      lost.add(c.lostEvents, a);
      // add(0): the series exists from the start, so an alert on increase() sees the first fold.
      overflow.add(0, a);
    },
    deviceLabels: labels,
  };
}
