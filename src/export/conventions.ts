// Span names, attribute keys and event names: migscope's trace conventions
// (docs/telemetry.md "Spans"). spec/vfio-migration.md §7 sketches them ("vfio.protocol",
// "vfio.state", "vfio.state_raw", rule id, fault, severity); these are the names we fixed.
// `vfio.*` describes the device and protocol; `migscope.*` describes migscope's own view
// (evidence, clock, certainty, correlation). Add, never rename.

export const SPAN = {
  /** Root span of a save session ("vfio.migration.save") or resume session. */
  session: (kind: 'save' | 'resume'): string => `vfio.migration.${kind}`,
  /** Child span of one state interval, e.g. "vfio.state.PRE_COPY". */
  state: (state: string): string => `vfio.state.${state}`,
  /** A finding that belongs to no session (no session on its device, or unknown device). */
  finding: 'migscope.finding',
} as const;

export const EVENT = {
  stateWrite: 'vfio.state_write',
  finding: 'migscope.finding',
} as const;

export const ATTR = {
  // --- device and VMM (root spans)
  deviceId: 'vfio.device.id',
  deviceFd: 'vfio.device.fd',
  /** How the device got its id (DeviceTimeline.naming). */
  deviceNaming: 'vfio.device.naming',
  protocol: 'vfio.protocol',
  vmmPid: 'vfio.vmm.pid',
  vmmProcessName: 'vfio.vmm.process_name',
  /** The host the trace was captured on (Analysis.host); host.name on the resource is where migscope ran. */
  host: 'migscope.host',

  // --- session (root spans)
  kind: 'vfio.migration.kind',
  outcome: 'vfio.migration.outcome',
  bytes: 'vfio.migration.bytes',
  iterations: 'vfio.migration.iterations',
  notRunningNs: 'vfio.migration.not_running_ns',
  states: 'vfio.migration.states',
  resets: 'vfio.device.resets',
  /** State intervals the tracker did not keep (its per-device cap): child spans may be missing. Only when > 0. */
  intervalsDropped: 'migscope.device.intervals_dropped',
  /** Ordinal of this save/resume session of the device in this run (0 first). */
  sessionIndex: 'migscope.session.index',
  /** false when the trace gives no times for the session (spans then sit at the epoch). */
  timed: 'migscope.session.timed',
  findingsCount: 'migscope.findings.count',
  findingsErrors: 'migscope.findings.errors',
  migrationId: 'migscope.migration.id',

  // --- time
  /** sync | offset | relative (ClockMapping.source). */
  clockSource: 'migscope.clock.source',
  /** Name of the trace clock (mono, local, boot, …). */
  clockName: 'migscope.clock.name',
  /** Exact trace-clock start of the span, decimal ns (string: exceeds 2^53 after ~104 days). */
  traceStartNs: 'migscope.trace.start_ns',

  // --- state interval (child spans)
  state: 'vfio.state',
  stateRaw: 'vfio.state_raw',
  /** known | inferred | unknown (StateInterval.certainty). */
  stateCertainty: 'migscope.state.certainty',
  stateBytes: 'vfio.state.bytes',
  /** true when the interval went on before/after the session and the span shows only the part inside. */
  stateClipped: 'migscope.state.clipped',
  /** true when the interval was still open at the end of the trace. */
  stateOpen: 'migscope.state.open',

  // --- state write events
  fromState: 'vfio.state.from',
  fromRaw: 'vfio.state.from_raw',
  toState: 'vfio.state.to',
  toRaw: 'vfio.state.to_raw',
  /** ok | failed | unknown. */
  writeResult: 'vfio.write.result',
  writeErrno: 'vfio.write.errno',
  readBackRaw: 'vfio.write.read_back_raw',

  // --- finding events
  ruleId: 'vfio.rule_id',
  severity: 'vfio.severity',
  /** vmm | driver (spec §7 sketches `vfio.fault` = user|driver; we name it for Finding.blame). */
  blame: 'vfio.blame',
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
