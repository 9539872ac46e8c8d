// Analysis fixtures in the shapes the lab scenarios produce (spec/vfio-migration.md §2.5
// flows; LAB-NOTES.md emulated device): a clean v1 live-migration save, the matching resume
// on another host, a save the driver refuses (with findings), a device that lands in ERROR
// and is reset, and a generator of many sessions for the scale test and the bench.
// Times are trace-clock ns with odd digits, so a test catches any float rounding.

import type { Analysis, ClockMapping } from '../../src/analysis/types.js';
import type { Finding } from '../../src/check/types.js';
import type { DeviceTimeline, MigrationSession, StateInterval, StateWrite } from '../../src/track/types.js';

export const S = 1_000_000_000n;
export const MS = 1_000_000n;

/** 2024-11-25T12:00:00Z in ns. */
export const WALL_BASE = 1_732_536_000n * S;

function interval(state: string, raw: number | undefined, startNs: bigint, endNs: bigint | undefined, line: number, certainty: StateInterval['certainty'] = 'known', bytes = 0): StateInterval {
  return { state, raw, startNs, endNs, certainty, bytes, src: { file: 'trace.txt', line } };
}

function write(tsNs: bigint, from: [string, number], to: [string, number], line: number, result: StateWrite['result'] = 'ok', errno?: number, readBackRaw?: number): StateWrite {
  return { tsNs, fromRaw: from[1], from: from[0], toRaw: to[1], to: to[0], result, errno, readBackRaw, src: { file: 'trace.txt', line } };
}

function analysis(host: string, clock: ClockMapping, devices: DeviceTimeline[], findings: Finding[], file: string): Analysis {
  return {
    tool: { name: 'migscope', version: '0.1.0-test' },
    host,
    input: {
      files: [{ path: file, format: 'bpftrace-text', clock: clock.clock }],
      records: 1234,
      malformed: 2,
      duplicates: 0,
      timeBackwards: 0,
      lostEvents: 7,
      gaps: [],
      problems: [],
      problemsDropped: 0,
      firstTsNs: undefined,
      lastTsNs: undefined,
    },
    clock,
    devices,
    findings,
  };
}

const RUNNING: [string, number] = ['RUNNING', 1];
const STOP: [string, number] = ['STOP', 0];
const SAVING: [string, number] = ['SAVING', 2];
const PRE_COPY: [string, number] = ['PRE_COPY', 3];
const RESUMING: [string, number] = ['RESUMING', 4];
const INVALID_101: [string, number] = ['INVALID_101', 5];
const ERROR: [string, number] = ['ERROR', 6];

/** Trace times of the clean save (source host). */
export const SAVE = {
  open: 1000n * S + 111n,
  preCopy: 1000n * S + 100n * MS + 123n,
  saving: 1000n * S + 500n * MS + 4567n,
  stop: 1000n * S + 600n * MS + 89n,
  end: 1001n * S + 7n,
};

/** sync clock: trace 1000 s ↔ wall WALL_BASE. */
export const SYNC_CLOCK: ClockMapping = { source: 'sync', clock: 'mono', offsetNs: WALL_BASE - 1000n * S };

export const SRC_DEVICE = '0000:65:00.0';

/** Source host: one v1 device, one clean live-migration save (PRE_COPY → SAVING → STOP). */
export function cleanSaveAnalysis(deviceId = SRC_DEVICE): Analysis {
  const session: MigrationSession = {
    kind: 'save',
    startNs: SAVE.preCopy,
    endNs: SAVE.stop,
    outcome: 'completed',
    states: ['PRE_COPY', 'SAVING', 'STOP'],
    iterations: 3,
    bytes: 3 * 65536,
    pending: [],
    pendingDropped: 0,
    notRunningNs: SAVE.stop - SAVE.saving,
    src: { file: 'trace.txt', line: 20 },
    // What the tracker's convergence account says of this save (track/convergence.ts).
    convergence: {
      curveFrom: 'pending-bytes',
      iterations: [],
      iterationsDropped: 0,
      verdict: 'unknown',
      verdictReason: 'no samples',
      verdictEvidence: [],
      stopCopySizeUnknown: [],
      stopCopyActualBytes: 65536,
      actualStopCopyNs: SAVE.stop - SAVE.saving,
      stopCopyStartNs: SAVE.saving,
      stopCopyEndNs: SAVE.stop,
      stopCopyEvidence: [],
      downtime: { deviceStopCopyNs: SAVE.stop - SAVE.saving, notRunningNs: SAVE.stop - SAVE.saving },
      fits: 'unknown',
      uncertain: false,
    },
  };
  const device: DeviceTimeline = {
    id: deviceId,
    pid: 4242,
    comm: 'qemu-system-x86',
    fd: 27,
    naming: 'group-get-device-fd',
    protocol: 'v1',
    region: { index: 9, offset: 0x90000000000n, size: 0x1000n, source: 'region-info', evidence: 'trace.txt:12' },
    timeline: [
      interval('RUNNING', 1, SAVE.open, SAVE.preCopy, 10, 'inferred'),
      interval('PRE_COPY', 3, SAVE.preCopy, SAVE.saving, 20, 'known', 2 * 65536),
      interval('SAVING', 2, SAVE.saving, SAVE.stop, 40, 'known', 65536),
      interval('STOP', 0, SAVE.stop, undefined, 60),
    ],
    stateWrites: [write(SAVE.preCopy, RUNNING, PRE_COPY, 20), write(SAVE.saving, PRE_COPY, SAVING, 40), write(SAVE.stop, SAVING, STOP, 60)],
    sessions: [session],
    resets: 0,
    intervalsDropped: 0,
  };
  return analysis('src-host', SYNC_CLOCK, [device], [], 'src.trace');
}

export const RESUME = {
  open: 2000n * S + 5n,
  resuming: 2000n * S + 10n * MS + 77n,
  running: 2000n * S + 400n * MS + 901n,
};

/** offset clock: wall = trace + offset (e.g. --clock-offset). */
export const OFFSET_CLOCK: ClockMapping = { source: 'offset', clock: 'mono', offsetNs: WALL_BASE - 2000n * S + 3n * S };

/** Destination host: the same device (or another id) resumed (RUNNING → RESUMING → RUNNING). */
export function resumeAnalysis(deviceId = SRC_DEVICE): Analysis {
  const session: MigrationSession = {
    kind: 'resume',
    startNs: RESUME.resuming,
    endNs: RESUME.running,
    outcome: 'completed',
    states: ['RESUMING', 'RUNNING'],
    iterations: 3,
    bytes: 3 * 65536,
    pending: [],
    pendingDropped: 0,
    notRunningNs: RESUME.running - RESUME.resuming,
    src: { file: 'trace.txt', line: 8 },
  };
  const device: DeviceTimeline = {
    id: deviceId,
    pid: 5151,
    comm: 'qemu-system-x86',
    fd: 31,
    naming: 'openat',
    protocol: 'v1',
    region: undefined,
    timeline: [
      interval('RUNNING', 1, RESUME.open, RESUME.resuming, 3, 'inferred'),
      interval('RESUMING', 4, RESUME.resuming, RESUME.running, 8, 'known', 3 * 65536),
      interval('RUNNING', 1, RESUME.running, undefined, 30),
    ],
    stateWrites: [write(RESUME.resuming, RUNNING, RESUMING, 8), write(RESUME.running, RESUMING, RUNNING, 30)],
    sessions: [session],
    resets: 0,
    intervalsDropped: 0,
  };
  return analysis('dst-host', OFFSET_CLOCK, [device], [], 'dst.trace');
}

export const FAIL = {
  open: 3000n * S + 1n,
  widthWarning: 3000n * S + 50n * MS + 3n,
  preCopy: 3000n * S + 100n * MS + 5n,
  refused: 3000n * S + 300n * MS + 7n,
  eagain: 3000n * S + 350n * MS + 9n,
  reserved: 3000n * S + 400n * MS + 11n,
};

function finding(rule: string, severity: Finding['severity'], blame: Finding['blame'], device: string, tsNs: bigint | undefined, lines: number[], certainty: Finding['certainty'] = 'certain'): Finding {
  return {
    rule,
    severity,
    blame,
    device,
    tsNs,
    message: `${rule} fired`,
    evidence: lines.map((line) => ({ src: { file: 'trace.txt', line }, what: `line ${line}` })),
    certainty,
    specRef: 'spec §6.1',
  };
}

/**
 * A save the driver refuses: PRE_COPY → SAVING fails with EINVAL (read-back PRE_COPY), then
 * the VMM writes the reserved 101b. Findings inside the session (error, certain), one
 * uncertain warning, and one warning before the session (a standalone finding span).
 */
export function failedSaveAnalysis(): Analysis {
  const dev = '0000:66:00.0';
  const session: MigrationSession = {
    kind: 'save',
    startNs: FAIL.preCopy,
    endNs: FAIL.reserved,
    outcome: 'failed',
    states: ['PRE_COPY', 'INVALID_101'],
    iterations: 1,
    bytes: 4096,
    pending: [],
    pendingDropped: 0,
    notRunningNs: 0n,
    src: { file: 'trace.txt', line: 30 },
  };
  const device: DeviceTimeline = {
    id: dev,
    pid: 4343,
    comm: 'qemu-kvm',
    fd: 28,
    naming: 'group-get-device-fd',
    protocol: 'v1',
    region: undefined,
    timeline: [
      interval('RUNNING', 1, FAIL.open, FAIL.preCopy, 11, 'inferred'),
      interval('PRE_COPY', 3, FAIL.preCopy, FAIL.reserved, 30, 'known', 4096),
      interval('INVALID_101', 5, FAIL.reserved, undefined, 50),
    ],
    stateWrites: [
      write(FAIL.preCopy, RUNNING, PRE_COPY, 30),
      write(FAIL.refused, PRE_COPY, SAVING, 40, 'failed', 22, 3),
      write(FAIL.reserved, PRE_COPY, INVALID_101, 50),
    ],
    sessions: [session],
    resets: 0,
    intervalsDropped: 0,
  };
  const findings = [
    finding('V1-WIDTH', 'warning', 'vmm', dev, FAIL.widthWarning, [25]),
    finding('V1-REFUSE-VALID', 'error', 'driver', dev, FAIL.refused, [40, 41]),
    finding('V1-EAGAIN', 'warning', 'driver', dev, FAIL.eagain, [45], 'uncertain'),
    finding('V1-RESERVED-STATE', 'error', 'vmm', dev, FAIL.reserved, [50]),
  ];
  return analysis('src-host', OFFSET_CLOCK, [device], findings, 'fail.trace');
}

export const ERR = {
  open: 500n * S + 3n,
  preCopy: 500n * S + 10n * MS + 1n,
  saving: 500n * S + 20n * MS + 3n,
  stopWrite: 500n * S + 30n * MS + 5n,
  error: 500n * S + 30n * MS + 999n,
  reset: 500n * S + 80n * MS + 13n,
};

/**
 * A save in which the driver fails SAVING → STOP with EIO and the read-back shows ERROR;
 * the VMM then resets the device (back to RUNNING, inferred). No clock sync: relative times.
 */
export function errorThenResetAnalysis(): Analysis {
  const dev = '0000:67:00.0';
  const session: MigrationSession = {
    kind: 'save',
    startNs: ERR.preCopy,
    endNs: ERR.error,
    outcome: 'failed',
    states: ['PRE_COPY', 'SAVING', 'ERROR'],
    iterations: 2,
    bytes: 8192,
    pending: [],
    pendingDropped: 0,
    notRunningNs: ERR.error - ERR.saving,
    src: { file: 'trace.txt', line: 70 },
  };
  const device: DeviceTimeline = {
    id: dev,
    pid: 4444,
    comm: 'qemu-system-x86',
    fd: 29,
    naming: 'openat',
    protocol: 'v1',
    region: undefined,
    timeline: [
      interval('RUNNING', 1, ERR.open, ERR.preCopy, 61, 'inferred'),
      interval('PRE_COPY', 3, ERR.preCopy, ERR.saving, 70),
      interval('SAVING', 2, ERR.saving, ERR.error, 80),
      interval('ERROR', 6, ERR.error, ERR.reset, 91),
      interval('RUNNING', 1, ERR.reset, undefined, 99, 'inferred'),
    ],
    stateWrites: [write(ERR.preCopy, RUNNING, PRE_COPY, 70), write(ERR.saving, PRE_COPY, SAVING, 80), write(ERR.stopWrite, SAVING, STOP, 90, 'failed', 5, 6)],
    sessions: [session],
    resets: 1,
    intervalsDropped: 0,
  };
  const findings = [finding('V1-ERROR-ENTER', 'error', 'driver', dev, ERR.error, [90, 91]), finding('V1-FAIL-RECOVER', 'warning', 'vmm', dev, ERR.reset, [99])];
  return analysis('src-host', { source: 'relative', clock: 'mono', offsetNs: undefined }, [device], findings, 'err.trace');
}

/**
 * `n` clean save sessions spread over `devices` devices (round robin), each with three
 * state intervals and three writes: the scale test's and the bench's input.
 */
export function manySessionsAnalysis(n: number, devices = 8): Analysis {
  const perDevice: { timeline: StateInterval[]; writes: StateWrite[]; sessions: MigrationSession[] }[] = Array.from({ length: devices }, () => ({
    timeline: [],
    writes: [],
    sessions: [],
  }));
  for (let i = 0; i < n; i++) {
    const d = perDevice[i % devices];
    if (d === undefined) continue;
    const t0 = 10n * S + BigInt(i) * 10n * MS + 17n;
    const t1 = t0 + 4n * MS + 3n;
    const t2 = t1 + 1n * MS + 5n;
    const t3 = t2 + 2n * MS + 7n;
    const line = i * 10;
    d.timeline.push(
      interval('PRE_COPY', 3, t0, t1, line + 1, 'known', 4096),
      interval('SAVING', 2, t1, t2, line + 2, 'known', 4096),
      interval('STOP', 0, t2, t3, line + 3),
    );
    d.writes.push(write(t0, RUNNING, PRE_COPY, line + 1), write(t1, PRE_COPY, SAVING, line + 2), write(t2, SAVING, STOP, line + 3));
    d.sessions.push({
      kind: 'save',
      startNs: t0,
      endNs: t2,
      outcome: 'completed',
      states: ['PRE_COPY', 'SAVING', 'STOP'],
      iterations: 2,
      bytes: 8192,
      pending: [],
      pendingDropped: 0,
      notRunningNs: t2 - t1,
      src: { file: 'trace.txt', line: line + 1 },
    });
  }
  const timelines: DeviceTimeline[] = perDevice.map((d, i) => ({
    id: `0000:${(0x10 + i).toString(16)}:00.0`,
    pid: 7000 + i,
    comm: 'qemu-system-x86',
    fd: 30 + i,
    naming: 'openat',
    protocol: 'v1',
    region: undefined,
    timeline: d.timeline,
    stateWrites: d.writes,
    sessions: d.sessions,
    resets: 0,
    intervalsDropped: 0,
  }));
  return analysis('bulk-host', SYNC_CLOCK, timelines, [], 'bulk.trace');
}

/** Spans a manySessionsAnalysis(n) exports: a root and three state children per session. */
export function spansFor(n: number): number {
  return n * 4;
}
