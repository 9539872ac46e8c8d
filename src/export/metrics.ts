// Records migscope's metrics (names, units, labels and buckets: metric-names.ts) on an
// OTel Meter. Metric timestamps are export times, not trace times: a metric says what
// migscope has seen so far; the spans say when it happened.

import { ValueType, type Attributes, type Counter, type Gauge, type Histogram, type Meter } from '@opentelemetry/api';
import type { Finding } from '../check/types.js';
import type { DeviceTimeline, MigrationSession } from '../track/types.js';
import { V1_STATE_MASK } from '../protocol/v1.js';
import { LABEL, METRICS, UNKNOWN_HOST, UNKNOWN_STATE_VALUE } from './metric-names.js';
import type { StatePlan } from './session-plan.js';
import { nsToSeconds } from './time.js';

export interface Instruments {
  recordSession(host: string | undefined, device: DeviceTimeline, session: MigrationSession, states: readonly StatePlan[]): void;
  recordFinding(host: string | undefined, finding: Finding): void;
  recordDeviceState(host: string | undefined, device: Pick<DeviceTimeline, 'id' | 'protocol'>, raw: number | undefined): void;
  recordPending(host: string | undefined, device: Pick<DeviceTimeline, 'id' | 'protocol'>, bytes: bigint): void;
  recordInput(host: string | undefined, counts: { readonly records: number; readonly malformed: number; readonly lostEvents: number }): void;
}

export function createInstruments(meter: Meter): Instruments {
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
  const transferred: Counter = meter.createCounter(m.transferredBytes.name, { unit: m.transferredBytes.unit, description: m.transferredBytes.description, valueType: ValueType.INT });
  const deviceState: Gauge = meter.createGauge(m.deviceState.name, { unit: m.deviceState.unit, description: m.deviceState.description, valueType: ValueType.INT });
  const pending: Gauge = meter.createGauge(m.pendingBytes.name, { unit: m.pendingBytes.unit, description: m.pendingBytes.description, valueType: ValueType.INT });
  const records: Counter = meter.createCounter(m.records.name, { unit: m.records.unit, description: m.records.description, valueType: ValueType.INT });
  const malformed: Counter = meter.createCounter(m.malformed.name, { unit: m.malformed.unit, description: m.malformed.description, valueType: ValueType.INT });
  const lost: Counter = meter.createCounter(m.lostEvents.name, { unit: m.lostEvents.unit, description: m.lostEvents.description, valueType: ValueType.INT });

  const hostOf = (h: string | undefined): string => h ?? UNKNOWN_HOST;

  return {
    recordSession(host, device, session, states): void {
      // Fresh objects per call, built by assignment (no spread: see session-plan.ts).
      const h = hostOf(host);
      const withKind = (): Attributes => ({ [LABEL.host]: h, [LABEL.device]: device.id, [LABEL.protocol]: device.protocol, [LABEL.kind]: session.kind });
      const withOutcome = withKind();
      withOutcome[LABEL.outcome] = session.outcome;
      migrations.add(1, withOutcome);
      notRunning.record(nsToSeconds(session.notRunningNs), withOutcome);
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
      findings.add(1, {
        [LABEL.host]: hostOf(host),
        [LABEL.device]: f.device,
        [LABEL.rule]: f.rule,
        [LABEL.severity]: f.severity,
        [LABEL.blame]: f.blame,
        [LABEL.certainty]: f.certainty,
      });
    },
    recordDeviceState(host, device, raw): void {
      // v1: the low three bits only (metric-names.ts deviceState; reserved bits 3-31 would
      // give values the dashboards' value mappings do not know), as openmetrics.ts writes it.
      const value = raw === undefined ? UNKNOWN_STATE_VALUE : device.protocol === 'v1' ? raw & V1_STATE_MASK : raw;
      deviceState.record(value, { [LABEL.host]: hostOf(host), [LABEL.device]: device.id, [LABEL.protocol]: device.protocol });
    },
    recordPending(host, device, bytes): void {
      // A double holds byte counts exactly up to 2^53 (8 PiB): far beyond any device state.
      pending.record(Number(bytes), { [LABEL.host]: hostOf(host), [LABEL.device]: device.id, [LABEL.protocol]: device.protocol });
    },
    recordInput(host, c): void {
      const a: Attributes = { [LABEL.host]: hostOf(host) };
      records.add(c.records, a);
      malformed.add(c.malformed, a);
      lost.add(c.lostEvents, a);
    },
  };
}
