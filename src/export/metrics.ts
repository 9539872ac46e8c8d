// Records migscope's metrics (names, units, labels and buckets: metric-names.ts) on an
// OTel Meter. Metric timestamps are export times, not trace times: a metric says what
// migscope has seen so far; the spans say when it happened.

import { ValueType, type Attributes, type Counter, type Histogram, type Meter, type ObservableResult } from '@opentelemetry/api';
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
  /**
   * The device is gone (its VMM exited): its state set and pending-bytes series are no longer
   * reported. Its counters and histograms stay (they must stay monotonic).
   */
  dropDevice(host: string | undefined, id: string): void;
  /** The device label cap (device-labels.ts): what was folded into device="_overflow". */
  readonly deviceLabels: DeviceLabeler;
}

/** What the device gauges report for one device label (bounded: the label cap, the state names, the protocols). */
interface LiveDevice {
  readonly host: string;
  readonly label: string;
  /** protocol → state → 1 for the state it is in, 0 for the ones it left. */
  readonly states: Map<string, Map<string, number>>;
  /** protocol → latest pending-bytes sample. */
  readonly pending: Map<string, number>;
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
  // The two device gauges are observable: each collection reports the devices in `live` and
  // nothing else, so a device dropped from it (its VMM exited) loses its series. A
  // synchronous Gauge cannot forget a series, and an observable one forgets it only under
  // delta temporality (sdk-metrics keeps every attribute set a cumulative gauge ever
  // reported: opentelemetry-js#4096), which is why every reader collects observable gauges
  // as delta (live-gauge-temporality.ts; a gauge point has no temporality on the wire).
  const live = new Map<string, LiveDevice>();
  const deviceState = meter.createObservableGauge(m.deviceState.name, { unit: m.deviceState.unit, description: m.deviceState.description, valueType: ValueType.INT });
  const pending = meter.createObservableGauge(m.pendingBytes.name, { unit: m.pendingBytes.unit, description: m.pendingBytes.description, valueType: ValueType.INT });
  deviceState.addCallback((r: ObservableResult) => {
    for (const d of live.values()) {
      for (const [protocol, set] of d.states) {
        for (const [state, v] of set) r.observe(v, { [LABEL.host]: d.host, [LABEL.device]: d.label, [LABEL.protocol]: protocol, [LABEL.state]: state });
      }
    }
  });
  pending.addCallback((r: ObservableResult) => {
    for (const d of live.values()) {
      for (const [protocol, bytes] of d.pending) r.observe(bytes, { [LABEL.host]: d.host, [LABEL.device]: d.label, [LABEL.protocol]: protocol });
    }
  });
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
  /** The live device behind a label (one entry for all devices folded into the overflow label). */
  const liveDevice = (host: string, label: string): LiveDevice => {
    const key = `${host}\0${label}`;
    let d = live.get(key);
    if (d === undefined) {
      d = { host, label, states: new Map(), pending: new Map() };
      live.set(key, d);
    }
    return d;
  };

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
      const sets = liveDevice(h, d).states;
      let set = sets.get(device.protocol);
      if (set === undefined) {
        set = new Map();
        sets.set(device.protocol, set);
      }
      // StateSet: the state left goes to 0 (its series stays while the device lives, so a
      // dashboard sees it end), the state entered to 1. The overflow series of many devices
      // keeps every state it entered at 1 (several devices are in several states).
      if (d !== OVERFLOW_DEVICE) for (const k of set.keys()) set.set(k, 0);
      set.set(state, 1);
    },
    recordPending(host, device, bytes): void {
      const h = hostOf(host);
      // A double holds byte counts exactly up to 2^53 (8 PiB): far beyond any device state.
      liveDevice(h, dev(h, device.id)).pending.set(device.protocol, Number(bytes));
    },
    dropDevice(host, id): void {
      const h = hostOf(host);
      // Only a device with its own label: the overflow label is shared (other folded devices
      // may still be live behind it), and asking for a label here must not admit a new one.
      const d = labels.admitted(h, id);
      if (d !== undefined) live.delete(`${h}\0${d}`);
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
