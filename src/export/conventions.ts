// Span names, span kinds, attribute keys and event names: migscope's trace conventions
// (docs/telemetry.md "Spans"). spec/vfio-migration.md §7 sketches them ("vfio.protocol",
// "vfio.state", rule id, fault, severity); these are the names we fixed.
//
// Two rules (a test enforces both, test/export/conventions.test.ts):
//   - Where OpenTelemetry's semantic conventions have the attribute, it is used:
//     `process.pid`, `thread.name`, `host.name`, `error.type` (semconv 1.x: process, thread,
//     host and error registries; the first three are still "development" in
//     @opentelemetry/semantic-conventions, so their keys are spelled here rather than taken
//     from its unstable `incubating` entry point).
//   - Everything else is migscope's own and lives under ONE namespace, `migscope.*`, and no
//     key is also the prefix of another (the old `vfio.state` was a value and the namespace
//     of `vfio.state.from`; OTel's naming rules forbid that, as flattening backends and the
//     Collector's attribute processors cannot tell the two apart).
// Span and event names are not attributes: the `vfio.*` span names stay as they were.

export const SPAN = {
  /** Root span of a save session ("vfio.migration.save") or resume session. */
  session: (kind: 'save' | 'resume'): string => `vfio.migration.${kind}`,
  /** Child span of one state interval, e.g. "vfio.state.PRE_COPY". */
  state: (state: string): string => `vfio.state.${state}`,
  /** A finding that belongs to no session (no session of its device holds its time). */
  finding: 'migscope.finding',
  /** With --migration-id: the root both hosts' sessions hang under (the source emits it). */
  migration: 'vfio.migration',
} as const;

export const EVENT = {
  stateWrite: 'vfio.state_write',
  finding: 'migscope.finding',
} as const;

/** Values of `error.type` migscope sets (besides a finding's rule id). */
export const ERROR_TYPE = {
  /** A session whose outcome is failed (and no certain error finding names a rule). */
  sessionFailed: 'session_failed',
  /** A state span of the device's ERROR state (spec §7). */
  deviceError: 'device_error_state',
} as const;

export const ATTR = {
  // --- OpenTelemetry semantic conventions
  /** The VMM's process id (semconv process.pid). */
  processPid: 'process.pid',
  /** comm of the VMM thread that drove the device, e.g. "qemu-system-x86" or "CPU 0/KVM" (semconv thread.name: Linux comm is per thread). */
  threadName: 'thread.name',
  /** The host the trace was captured on (Analysis.host). Also the resource's host.name when migscope runs there (watch). */
  hostName: 'host.name',
  /** Class of the error of an ERROR span: a rule id, or one of ERROR_TYPE. */
  errorType: 'error.type',

  // --- device (session and state spans)
  deviceId: 'migscope.device.id',
  deviceFd: 'migscope.device.fd',
  /** How the device got its id (DeviceTimeline.naming). */
  deviceNaming: 'migscope.device.naming',
  protocol: 'migscope.device.protocol',
  resets: 'migscope.device.resets',
  /** State intervals the tracker did not keep (its per-device cap): child spans may be missing. Only when > 0. */
  intervalsDropped: 'migscope.device.intervals_dropped',

  // --- session (root spans)
  kind: 'migscope.session.kind',
  outcome: 'migscope.session.outcome',
  bytes: 'migscope.session.bytes',
  iterations: 'migscope.session.iterations',
  notRunningNs: 'migscope.session.not_running_ns',
  /** A save's convergence account (track/convergence.ts; issue 12); each only when known. */
  convergenceVerdict: 'migscope.session.convergence.verdict',
  stopCopyEstimateBytes: 'migscope.session.stop_copy.estimate_bytes',
  stopCopyActualBytes: 'migscope.session.stop_copy.actual_bytes',
  predictedStopCopyNs: 'migscope.session.stop_copy.predicted_ns',
  actualStopCopyNs: 'migscope.session.stop_copy.actual_ns',
  downtimeLimitMs: 'migscope.session.downtime_limit_ms',
  downtimeFits: 'migscope.session.downtime_fits',
  states: 'migscope.session.states',
  /** Ordinal of this save/resume session of the device in this run (0 first). */
  sessionIndex: 'migscope.session.index',
  /** false when the trace gives no times for the session (spans then sit at the epoch). */
  timed: 'migscope.session.timed',
  findingsCount: 'migscope.session.findings',
  findingsErrors: 'migscope.session.error_findings',
  migrationId: 'migscope.migration.id',

  // --- time
  /** sync | offset | relative (ClockMapping.source). */
  clockSource: 'migscope.clock.source',
  /** Name of the trace clock (mono, local, boot, …). */
  clockName: 'migscope.clock.name',
  /** Exact trace-clock start of the span, decimal ns (string: exceeds 2^53 after ~104 days). */
  traceStartNs: 'migscope.trace.start_ns',

  // --- state interval (child spans)
  state: 'migscope.state.name',
  stateRaw: 'migscope.state.raw',
  /** known | inferred | unknown (StateInterval.certainty). */
  stateCertainty: 'migscope.state.certainty',
  stateBytes: 'migscope.state.bytes',
  /** true when the interval went on before/after the session and the span shows only the part inside. */
  stateClipped: 'migscope.state.clipped',
  /** true when the interval was still open at the end of the trace. */
  stateOpen: 'migscope.state.open',

  // --- state write events
  fromState: 'migscope.write.from_state',
  fromRaw: 'migscope.write.from_raw',
  toState: 'migscope.write.to_state',
  toRaw: 'migscope.write.to_raw',
  /** ok | failed | unknown. */
  writeResult: 'migscope.write.result',
  writeErrno: 'migscope.write.errno',
  readBackRaw: 'migscope.write.read_back_raw',

  // --- finding events
  ruleId: 'migscope.finding.rule_id',
  severity: 'migscope.finding.severity',
  /** vmm | driver (spec §7 sketches `vfio.fault` = user|driver; we name it for Finding.blame). */
  blame: 'migscope.finding.blame',
  certainty: 'migscope.finding.certainty',
  message: 'migscope.finding.message',
  specRef: 'migscope.finding.spec_ref',
  /** Evidence as "file:line" (text) or "file@offset" (binary) strings, in the finding's order. */
  evidence: 'migscope.finding.evidence',
  /** What each evidence record shows, parallel to migscope.finding.evidence. */
  evidenceWhat: 'migscope.finding.evidence_what',
  /** false when the finding carries no time (the event then sits at its span's start). */
  findingTimed: 'migscope.finding.timed',

  // --- common
  /** Where the span's/event's first record is, "file:line" or "file@offset". */
  source: 'migscope.source',

  // --- links
  /** On a resume span's link: what the linked span is ("vfio.migration.save"). */
  linkType: 'migscope.link.type',
} as const;
