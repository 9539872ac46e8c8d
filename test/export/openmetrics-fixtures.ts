// Hand-built Analysis shaped like the lab scenarios (clean v1 save, v1 resume, failed v1 save
// with findings and a reset, clean v2 save on a device closed early, v2 save into ERROR and
// reset, a device whose state the trace never showed), and the numbers the metrics of it must
// show. Times are seconds after the trace's first record.

import type { Analysis, ClockMapping } from '../../src/analysis/types.js';
import type { Finding } from '../../src/check/types.js';
import type { DeviceTimeline, MigrationSession, Protocol, SessionKind, SessionOutcome, StateInterval } from '../../src/track/types.js';

const NS = 1_000_000_000;
/** Trace-clock time of the first record: 5000 s after boot. */
export const T0_NS = 5_000n * 1_000_000_000n;
/** Length of the trace, s. */
export const TRACE_S = 60;
export const HOST = 'lab-host-1';

export function at(s: number): bigint {
  return T0_NS + BigInt(Math.round(s * NS));
}

function iv(state: string, raw: number | undefined, from: number, to: number, openAtEnd = false): StateInterval {
  return { state, raw, startNs: at(from), endNs: at(to), certainty: raw === undefined ? 'unknown' : 'known', bytes: 0, src: { file: 'lab.trace', line: Math.round(from * 10) + 1 }, ...(openAtEnd ? { openAtEnd } : {}) };
}

/** A save's convergence account with only its stop-copy timed (what migscope_migration_stop_copy_seconds records). */
function stopCopy(fromS: number, toS: number): NonNullable<MigrationSession['convergence']> {
  const ns = at(toS) - at(fromS);
  return {
    curveFrom: 'none',
    iterations: [],
    iterationsDropped: 0,
    verdict: 'unknown',
    verdictReason: 'no samples',
    verdictEvidence: [],
    stopCopySizeUnknown: [],
    actualStopCopyNs: ns,
    stopCopyStartNs: at(fromS),
    stopCopyEndNs: at(toS),
    stopCopyEvidence: [],
    downtime: { deviceStopCopyNs: ns, notRunningNs: ns },
    fits: 'unknown',
    uncertain: false,
  };
}

function session(kind: SessionKind, from: number, to: number, outcome: SessionOutcome, bytes: number, notRunningS: number, states: readonly string[], sc?: readonly [number, number]): MigrationSession {
  return {
    ...(sc !== undefined ? { convergence: stopCopy(sc[0], sc[1]) } : {}),
    kind,
    startNs: at(from),
    endNs: at(to),
    outcome,
    states,
    iterations: 1,
    bytes,
    pending: [],
    pendingDropped: 0,
    notRunningNs: BigInt(Math.round(notRunningS * NS)),
    src: { file: 'lab.trace', line: Math.round(from * 10) + 1 },
  };
}

function device(id: string, protocol: Protocol, timeline: readonly StateInterval[], sessions: readonly MigrationSession[], resets = 0): DeviceTimeline {
  return { id, pid: 4242, comm: 'qemu-system-x86', fd: 27, naming: 'cdev', protocol, region: undefined, timeline, stateWrites: [], sessions, resets, intervalsDropped: 0 };
}

function finding(rule: string, severity: Finding['severity'], blame: Finding['blame'], dev: string, atS: number | undefined, certainty: Finding['certainty'] = 'certain'): Finding {
  return {
    rule,
    severity,
    blame,
    device: dev,
    tsNs: atS === undefined ? undefined : at(atS),
    message: `${rule} broken`,
    evidence: [{ src: { file: 'lab.trace', line: 7 }, what: 'a record' }],
    certainty,
    specRef: 'spec §6',
  };
}

export const DEV = {
  v1Save: '0000:65:00.0',
  v1Resume: '0000:66:00.0',
  v1Failed: '0000:67:00.0',
  v2Save: '0000:68:00.0',
  v2Error: '0000:69:00.0',
  unknown: '0000:6a:00.0',
} as const;

export function labDevices(): DeviceTimeline[] {
  return [
    // Clean v1 live migration, source side. SAVING's raw carries a reserved bit (0b1010): the gauge keeps the low bits.
    device(
      DEV.v1Save,
      'v1',
      [iv('RUNNING', 1, 0, 10), iv('PRE_COPY', 3, 10, 12), iv('SAVING', 0b1010, 12, 12.2), iv('STOP', 0, 12.2, TRACE_S, true)],
      [session('save', 10, 12.2, 'completed', 1_048_576, 0.2, ['PRE_COPY', 'SAVING', 'STOP'], [12, 12.2])],
    ),
    // v1 resume on the destination.
    device(
      DEV.v1Resume,
      'v1',
      [iv('STOP', 0, 0, 3), iv('RESUMING', 4, 3, 3.5), iv('RUNNING', 1, 3.5, TRACE_S, true)],
      [session('resume', 3, 3.5, 'completed', 1_048_576, 0.5, ['RESUMING', 'RUNNING'])],
    ),
    // v1 save refused by the driver: ERROR, then a reset back to RUNNING.
    device(
      DEV.v1Failed,
      'v1',
      [iv('RUNNING', 1, 0, 20), iv('PRE_COPY', 3, 20, 21), iv('ERROR', 6, 21, 25), iv('RUNNING', 1, 25, TRACE_S, true)],
      [session('save', 20, 21, 'failed', 65_536, 0.003, ['PRE_COPY', 'ERROR'])],
      1,
    ),
    // Clean v2 save; the VMM closes the device at 45 s.
    device(
      DEV.v2Save,
      'v2',
      [iv('RUNNING', 2, 0, 30), iv('PRE_COPY', 6, 30, 32), iv('STOP_COPY', 3, 32, 32.15), iv('STOP', 1, 32.15, 45)],
      [session('save', 30, 32.15, 'completed', 4_194_304, 0.15, ['PRE_COPY', 'STOP_COPY', 'STOP'], [32, 32.15])],
    ),
    // v2 save into ERROR, reset at 45 s.
    device(
      DEV.v2Error,
      'v2',
      [iv('RUNNING', 2, 0, 40), iv('STOP_COPY', 3, 40, 40.5), iv('ERROR', 0, 40.5, 45), iv('RUNNING', 2, 45, TRACE_S, true)],
      [session('save', 40, 40.5, 'failed', 0, 0.5, ['STOP_COPY', 'ERROR'])],
      1,
    ),
    // A device whose state values the trace never showed.
    device(DEV.unknown, 'v1', [iv('UNKNOWN', undefined, 0, TRACE_S, true)], []),
  ];
}

export function labFindings(): Finding[] {
  return [
    finding('V1-REFUSE-VALID', 'error', 'driver', DEV.v1Failed, 21),
    finding('V1-ASYNC', 'error', 'driver', DEV.v1Failed, 22, 'uncertain'),
    finding('V1-FAIL-RECOVER', 'warning', 'vmm', DEV.v1Failed, 25),
    finding('V2-FAIL-STATE', 'error', 'driver', DEV.v2Error, 40.5),
    // No time: counted at the end of the trace.
    finding('V2-MIG-CAPS', 'warning', 'driver', DEV.v2Error, undefined),
  ];
}

export const INPUT = { records: 1234, malformed: 2, lostEvents: 5 } as const;

export function labAnalysis(clock: ClockMapping, overrides: Partial<Analysis> = {}): Analysis {
  return {
    tool: { name: 'migscope', version: '0.1.0' },
    host: HOST,
    input: {
      files: [{ path: 'lab.trace', format: 'bpftrace', clock: 'mono' }],
      ...INPUT,
      duplicates: 0,
      timeBackwards: 0,
      gaps: [],
      problems: [],
      problemsDropped: 0,
      firstTsNs: at(0),
      lastTsNs: at(TRACE_S),
    },
    clock,
    devices: labDevices(),
    findings: labFindings(),
    ...overrides,
  };
}

/** A clock mapping that puts the trace's first record at `wallStartMs` (epoch ms). */
export function syncClockAt(wallStartMs: number): ClockMapping {
  return { source: 'sync', clock: 'mono', offsetNs: BigInt(wallStartMs) * 1_000_000n - T0_NS };
}

/** What the dashboards must show for the fixture (by hand from the scenario above, not from the renderer). */
export const EXPECTED = {
  migrationsByOutcome: { completed: 3, failed: 2 },
  migrationsByKindOutcome: { 'save/completed': 2, 'resume/completed': 1, 'save/failed': 2 },
  findingsByRule: { 'V1-REFUSE-VALID': 1, 'V1-ASYNC': 1, 'V1-FAIL-RECOVER': 1, 'V2-FAIL-STATE': 1, 'V2-MIG-CAPS': 1 },
  findingsByBlame: { driver: 4, vmm: 1 },
  bytesByKind: { save: 1_048_576 + 65_536 + 4_194_304, resume: 1_048_576 },
  /** Not-running observations, s, per kind. */
  notRunning: { save: [0.2, 0.003, 0.15, 0.5], resume: [0.5] },
} as const;
