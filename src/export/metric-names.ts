// Every metric migscope exports: instrument names, units, label keys and bucket
// boundaries, in ONE place (docs/telemetry.md "Metrics" documents this file; dashboards and
// Prometheus tests are built on these names, so they are final: add, never rename).
//
// Naming: OTel instrument names are dotted; Prometheus sees them with dots turned into
// underscores. Each name already carries its unit word ("seconds", "bytes") so that every
// translation path produces the SAME Prometheus name:
//   - @opentelemetry/exporter-prometheus (watch mode's /metrics) appends only `_total` to
//     monotonic sums and never a unit suffix;
//   - the Collector's prometheus/prometheusremotewrite exporters and Prometheus' own OTLP
//     receiver (UnderscoreEscapingWithSuffixes) append a unit suffix unless the name already
//     contains it, drop `{annotation}` units, and append `_total` to monotonic sums.
// Units are UCUM (`s`, `By`) or annotations (`{migration}`) so no `_ratio`/`_1` suffix appears.
// Label keys are plain snake_case: identical in OTel and Prometheus.

/** Label keys (metric attribute names). */
export const LABEL = {
  /** The host the trace was captured on (Analysis.host), "unknown" when the trace does not say. */
  host: 'host',
  /** DeviceTimeline.id, e.g. "0000:65:00.0". */
  device: 'device',
  /** v1 | v2 | unknown. */
  protocol: 'protocol',
  /** save | resume. */
  kind: 'kind',
  /** completed | failed | cancelled | incomplete. */
  outcome: 'outcome',
  /** State name as the spec names it (DESIGN.md "Names"). */
  state: 'state',
  /** Rule id from spec §6 (stable). */
  rule: 'rule',
  /** error | warning. */
  severity: 'severity',
  /** vmm | driver. */
  blame: 'blame',
  /** certain | uncertain. */
  certainty: 'certainty',
} as const;

export type LabelKey = (typeof LABEL)[keyof typeof LABEL];

export type InstrumentKind = 'counter' | 'histogram' | 'gauge';

export interface MetricSpec {
  /** OTel instrument name. */
  readonly name: string;
  /** The name Prometheus shows (after any of the translations above). */
  readonly prometheus: string;
  readonly kind: InstrumentKind;
  readonly unit: string;
  readonly description: string;
  readonly labels: readonly LabelKey[];
  /** Explicit histogram bucket boundaries (seconds), given to the SDK as advice. */
  readonly buckets?: readonly number[];
}

/**
 * State durations: from tens of microseconds (STOP between SAVING and RESUMING on a
 * loopback migration) to minutes (PRE_COPY of a device with a large dirty working set).
 */
export const STATE_DURATION_BUCKETS: readonly number[] = [
  0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600,
];

/**
 * Time a device was not running inside a session (its share of the VM's downtime):
 * operators budget this in the 100 ms – 1 s range, so buckets are dense there.
 */
export const NOT_RUNNING_BUCKETS: readonly number[] = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 30, 60,
];

const DEVICE_LABELS: readonly LabelKey[] = [LABEL.host, LABEL.device, LABEL.protocol];

export const METRICS = {
  /** One per ended migration session. */
  migrations: {
    name: 'migscope.migrations',
    prometheus: 'migscope_migrations_total',
    kind: 'counter',
    unit: '{migration}',
    description: 'Device migration sessions (save or resume) by outcome',
    labels: [...DEVICE_LABELS, LABEL.kind, LABEL.outcome],
  },
  /** One per finding (broken rule). */
  findings: {
    name: 'migscope.findings',
    prometheus: 'migscope_findings_total',
    kind: 'counter',
    unit: '{finding}',
    description: 'Protocol rule violations by rule, severity, blame and certainty',
    labels: [LABEL.host, LABEL.device, LABEL.rule, LABEL.severity, LABEL.blame, LABEL.certainty],
  },
  /** Duration of each state interval inside a session (the child spans). */
  stateDuration: {
    name: 'migscope.state.duration_seconds',
    prometheus: 'migscope_state_duration_seconds',
    kind: 'histogram',
    unit: 's',
    description: 'Time a device spent in one migration state, per interval inside a session',
    labels: [...DEVICE_LABELS, LABEL.kind, LABEL.state],
    buckets: STATE_DURATION_BUCKETS,
  },
  /** MigrationSession.notRunningNs, per session. */
  notRunning: {
    name: 'migscope.migration.not_running_seconds',
    prometheus: 'migscope_migration_not_running_seconds',
    kind: 'histogram',
    unit: 's',
    description: 'Time the device was not running inside one migration session',
    labels: [...DEVICE_LABELS, LABEL.kind, LABEL.outcome],
    buckets: NOT_RUNNING_BUCKETS,
  },
  /**
   * A save's stop-copy duration (convergence.actualStopCopyNs): the device's own part of the
   * VM's downtime, per device, so a dashboard shows which device dominates it (issue 12).
   * Saves whose stop-copy the trace does not time are not recorded.
   */
  stopCopy: {
    name: 'migscope.migration.stop_copy_seconds',
    prometheus: 'migscope_migration_stop_copy_seconds',
    kind: 'histogram',
    unit: 's',
    description: 'Time a device spent in stop-copy in one save (its share of the downtime)',
    labels: [...DEVICE_LABELS, LABEL.outcome],
    buckets: NOT_RUNNING_BUCKETS,
  },
  /** MigrationSession.bytes. */
  transferredBytes: {
    name: 'migscope.migration.transferred_bytes',
    prometheus: 'migscope_migration_transferred_bytes_total',
    kind: 'counter',
    unit: 'By',
    description: 'Migration data moved through the device data path',
    labels: [...DEVICE_LABELS, LABEL.kind],
  },
  /**
   * The device's current state as a state set (OpenMetrics StateSet semantics, exposed as a
   * gauge with a `state` label, as kube-state-metrics does for pod phases): one series per
   * state the device has been in, 1 for the state it is in now, 0 for the ones it left. A
   * dashboard reads the state from the label, whatever the protocol (v1 and v2 number their
   * states differently: 1 is RUNNING in v1 and STOP in v2). `state` is the spec's name
   * (DESIGN.md "Names"), UNKNOWN when the trace cannot show it, INVALID for a v2 value
   * outside the enum (one value, so a corrupt trace cannot grow the label set).
   */
  deviceState: {
    name: 'migscope.device.state',
    prometheus: 'migscope_device_state',
    kind: 'gauge',
    unit: '{state}',
    description: 'Migration state of a device as a state set: 1 for the state it is in (label state), 0 for states it left',
    labels: [...DEVICE_LABELS, LABEL.state],
  },
  /**
   * The device's latest pending-bytes sample: v1 pending_bytes as the VMM read it (spec
   * §2.5), v2 initial_bytes + dirty_bytes of a VFIO_MIG_GET_PRECOPY_INFO reply (§5.4). Set
   * at each sample, so it shows how a save drains; it keeps the last value after the
   * session ends (a save that ended with data left shows what was left), until the device's
   * VMM exits (host mode): then this series and the device's state set are no longer
   * exported (metrics.ts dropDevice), while its counters and histograms stay.
   */
  pendingBytes: {
    name: 'migscope.device.pending_bytes',
    prometheus: 'migscope_device_pending_bytes',
    kind: 'gauge',
    unit: 'By',
    description: 'Latest pending-bytes sample of a device in a save: v1 pending_bytes, v2 PRECOPY_INFO initial + dirty bytes',
    labels: DEVICE_LABELS,
  },
  records: {
    name: 'migscope.input.records',
    prometheus: 'migscope_input_records_total',
    kind: 'counter',
    unit: '{record}',
    description: 'Trace records read, relevant or not',
    labels: [LABEL.host],
  },
  malformed: {
    name: 'migscope.input.malformed_records',
    prometheus: 'migscope_input_malformed_records_total',
    kind: 'counter',
    unit: '{record}',
    description: 'Trace lines or blocks that could not be parsed',
    labels: [LABEL.host],
  },
  lostEvents: {
    name: 'migscope.input.lost_events',
    prometheus: 'migscope_input_lost_events_total',
    kind: 'counter',
    unit: '{event}',
    description: 'Events the tracer reported as lost (ring buffer overruns)',
    labels: [LABEL.host],
  },
  /**
   * Recordings made under device="_overflow" because the host reached its device label cap
   * (device-labels.ts): one per state change, pending sample, finding or session end of a
   * device beyond the cap.
   */
  deviceLabelOverflow: {
    name: 'migscope.device.label_overflow',
    prometheus: 'migscope_device_label_overflow_total',
    kind: 'counter',
    unit: '{recording}',
    description: 'Recordings (state changes, pending samples, findings, session ends) of devices beyond the per-host device label cap, made under device="_overflow"',
    labels: [LABEL.host],
  },
} as const satisfies Record<string, MetricSpec>;

export type MetricKey = keyof typeof METRICS;

/** The meter (instrumentation scope) name every instrument is created on. */
export const METER_NAME = 'migscope';

/** Value of the `host` label when the trace does not name its host. */
export const UNKNOWN_HOST = 'unknown';

/** `state` label of the device state set when the trace cannot show the state. */
export const UNKNOWN_STATE = 'UNKNOWN';
