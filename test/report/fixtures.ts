// Analysis fixtures shaped like the lab scenarios (shared/samples/README.md: the v1
// workload's save sequence; spec §2.5 save/resume flows; §6 rules). Built by hand so the
// report tests do not depend on the parsers, decoder, tracker or checker being finished.

import type { Analysis, InputSummary } from '../../src/analysis/types.js';
import type { Finding } from '../../src/check/types.js';
import type { Source } from '../../src/record/types.js';
import type { DeviceTimeline, MigrationSession, StateInterval, StateWrite } from '../../src/track/types.js';
import type { ReportRule } from '../../src/report/html/index.js';

/** Trace clock of the fixtures' first record: 1,000 s of uptime. */
export const T = 1_000_000_000_000n;
export const MS = 1_000_000n;

export const src = (line: number, file = 'bpftrace-vfio_mig_access.txt'): Source => ({ file, line });

export function iv(state: string, raw: number | undefined, startNs: bigint | undefined, endNs: bigint | undefined, opts: Partial<StateInterval> = {}): StateInterval {
  return { state, raw, startNs, endNs, certainty: 'known', bytes: 0, src: undefined, ...opts };
}

export function wr(tsNs: bigint, from: [string, number], to: [string, number], line: number, opts: Partial<StateWrite> = {}): StateWrite {
  return {
    tsNs,
    from: from[0],
    fromRaw: from[1],
    to: to[0],
    toRaw: to[1],
    result: 'ok',
    errno: undefined,
    readBackRaw: undefined,
    src: src(line),
    ...opts,
  };
}

export function device(id: string, p: Partial<DeviceTimeline>): DeviceTimeline {
  return {
    id,
    pid: 4242,
    comm: 'qemu-system-x86',
    fd: 5,
    naming: 'GET_DEVICE_FD',
    protocol: 'v1',
    region: { index: 9, offset: 0x90000000000n, size: 0x2000n, source: 'region-info', evidence: 'bpftrace-vfio_mig_access.txt:12' },
    timeline: [],
    stateWrites: [],
    sessions: [],
    resets: 0,
    intervalsDropped: 0,
    ...p,
  };
}

export function session(p: Partial<MigrationSession> & Pick<MigrationSession, 'kind' | 'startNs' | 'endNs' | 'outcome'>): MigrationSession {
  return { states: [], iterations: 0, bytes: 0, pending: [], pendingDropped: 0, notRunningNs: 0n, src: undefined, ...p };
}

export function finding(p: Partial<Finding> & Pick<Finding, 'rule' | 'device' | 'tsNs' | 'message'>): Finding {
  return { severity: 'error', blame: 'driver', evidence: [], certainty: 'certain', specRef: 'spec §6.1', ...p };
}

function input(p: Partial<InputSummary> = {}): InputSummary {
  return {
    files: [{ path: 'bpftrace-vfio_mig_access.txt', format: 'bpftrace-text', clock: 'mono' }],
    records: 180,
    malformed: 0,
    duplicates: 0,
    timeBackwards: 0,
    lostEvents: 0,
    gaps: [],
    problems: [],
    problemsDropped: 0,
    firstTsNs: undefined,
    lastTsNs: undefined,
    ...p,
  };
}

export function analysis(devices: readonly DeviceTimeline[], findings: readonly Finding[] = [], p: Partial<Analysis> = {}): Analysis {
  return {
    tool: { name: 'migscope', version: '0.1.0' },
    host: 'lab-host-1',
    input: input(),
    clock: { source: 'sync', clock: 'mono', offsetNs: 1_767_225_600_000_000_000n - T },
    devices,
    findings,
    ...p,
  };
}

const DEV = '0000:65:00.0';

/** The lab workload's save (samples/README.md): 1 → 3 (pre-copy, two iterations) → 2 → 2 → 0. */
export function cleanSave(): Analysis {
  const t = (ms: number): bigint => T + BigInt(ms) * MS;
  return analysis([
    device(DEV, {
      timeline: [
        iv('RUNNING', 1, t(0), t(100), { certainty: 'inferred' }),
        iv('PRE_COPY', 3, t(100), t(400), { bytes: 12288, src: src(20) }),
        iv('SAVING', 2, t(400), t(450), { bytes: 4096, src: src(40) }),
        iv('STOP', 0, t(450), t(470), { src: src(60), openAtEnd: true }),
      ],
      stateWrites: [
        wr(t(100), ['RUNNING', 1], ['PRE_COPY', 3], 20),
        wr(t(400), ['PRE_COPY', 3], ['SAVING', 2], 40),
        wr(t(420), ['SAVING', 2], ['SAVING', 2], 44),
        wr(t(450), ['SAVING', 2], ['STOP', 0], 60),
      ],
      sessions: [
        session({
          kind: 'save',
          startNs: t(100),
          endNs: t(450),
          outcome: 'completed',
          states: ['PRE_COPY', 'SAVING', 'STOP'],
          iterations: 3,
          bytes: 16384,
          pending: [
            { tsNs: t(110), bytes: 12288n },
            { tsNs: t(250), bytes: 4096n },
            { tsNs: t(390), bytes: 4096n },
            { tsNs: t(405), bytes: 4096n },
            { tsNs: t(440), bytes: 0n },
          ],
          notRunningNs: 50n * MS,
          src: src(20),
          // The tracker's convergence account of this save (track/convergence.ts): 4 KiB left
          // at switchover, predicted 40 ms, took 50 ms, against a 30 ms limit.
          convergence: {
            curveFrom: 'pending-bytes',
            iterations: [
              { tsNs: t(110), remainingBytes: 12288n },
              { tsNs: t(250), remainingBytes: 4096n },
              { tsNs: t(390), remainingBytes: 4096n },
            ],
            iterationsDropped: 0,
            verdict: 'converging',
            verdictReason: 'the remaining bytes shrank over the 3 samples seen',
            verdictEvidence: [],
            stopCopyEstimateBytes: 4096n,
            estimateFrom: 'pending-bytes',
            stopCopySizeUnknown: [],
            stopCopyActualBytes: 4096,
            throughputBytesPerS: 102400,
            throughputFrom: 'pre-copy',
            predictedStopCopyNs: 40n * MS,
            actualStopCopyNs: 50n * MS,
            stopCopyStartNs: t(400),
            stopCopyEndNs: t(450),
            stopCopyEvidence: [],
            downtime: { deviceStopCopyNs: 50n * MS, notRunningNs: 50n * MS, migrationDowntimeMs: 61, dominantDevice: DEV },
            downtimeLimitMs: 30,
            downtimeLimitFrom: 'flag',
            fits: 'no',
            uncertain: false,
          },
        }),
      ],
    }),
  ]);
}

/** The destination side: 1 → 4 (RESUMING, two chunks) → 1. */
export function resume(): Analysis {
  const t = (ms: number): bigint => T + BigInt(ms) * MS;
  return analysis(
    [
      device(DEV, {
        pid: 5151,
        timeline: [
          iv('RUNNING', 1, t(0), t(10), { certainty: 'inferred' }),
          iv('RESUMING', 4, t(10), t(60), { bytes: 16384, src: src(15, 'dest.txt') }),
          iv('RUNNING', 1, t(60), undefined, { src: src(31, 'dest.txt') }),
        ],
        stateWrites: [
          wr(t(10), ['RUNNING', 1], ['RESUMING', 4], 15, { src: src(15, 'dest.txt') }),
          wr(t(60), ['RESUMING', 4], ['RUNNING', 1], 31, { src: src(31, 'dest.txt') }),
        ],
        sessions: [
          session({ kind: 'resume', startNs: t(10), endNs: t(60), outcome: 'completed', states: ['RESUMING', 'RUNNING'], iterations: 2, bytes: 16384, notRunningNs: 50n * MS }),
        ],
      }),
    ],
    [],
    { host: 'lab-host-2', input: input({ files: [{ path: 'dest.txt', format: 'bpftrace-text', clock: 'mono' }], records: 64, firstTsNs: t(0) - 5n * MS, lastTsNs: t(80) }) },
  );
}

/**
 * Pre-copy, then the switch to stop-and-copy fails (EINVAL, read back 011b), events are
 * lost in between, and the VMM takes the device back to RUNNING.
 */
export function failedPrecopy(): Analysis {
  const t = (ms: number): bigint => T + BigInt(ms) * MS;
  const F = 'ftrace-trace-local.txt';
  return analysis(
    [
      device(DEV, {
        timeline: [
          iv('RUNNING', 1, t(0), t(100), { certainty: 'inferred' }),
          iv('PRE_COPY', 3, t(100), t(380), { bytes: 8192, src: src(20, F) }),
          iv('UNKNOWN', undefined, t(380), t(395), { certainty: 'unknown', src: src(48, F) }),
          iv('PRE_COPY', 3, t(395), t(420), { src: src(53, F) }),
          iv('RUNNING', 1, t(420), undefined, { src: src(60, F) }),
        ],
        stateWrites: [
          wr(t(100), ['RUNNING', 1], ['PRE_COPY', 3], 20, { src: src(20, F) }),
          wr(t(400), ['PRE_COPY', 3], ['SAVING', 2], 52, { result: 'failed', errno: 22, readBackRaw: 3, src: src(52, F) }),
          wr(t(420), ['PRE_COPY', 3], ['RUNNING', 1], 60, { src: src(60, F) }),
        ],
        sessions: [
          session({
            kind: 'save',
            startNs: t(100),
            endNs: t(420),
            outcome: 'failed',
            states: ['PRE_COPY', 'RUNNING'],
            iterations: 2,
            bytes: 8192,
            pending: [
              { tsNs: t(120), bytes: 8192n },
              { tsNs: t(300), bytes: 8192n },
            ],
            notRunningNs: 0n,
          }),
        ],
      }),
    ],
    [
      finding({
        rule: 'V1-REFUSE-VALID',
        severity: 'warning',
        blame: 'driver',
        device: DEV,
        tsNs: t(400),
        message: 'device_state write 011b → 010b (PRE_COPY → SAVING) failed with EINVAL; only EAGAIN is transient',
        evidence: [
          { src: src(52, F), what: 'pwrite64 device_state = 2 returned -22' },
          { src: src(53, F), what: 'pread64 device_state read back 3' },
        ],
        specRef: 'spec §6.1 V1-REFUSE-VALID; L58 flow 1, REV',
      }),
      finding({
        rule: 'V1-SAVE-ORDER',
        severity: 'error',
        blame: 'vmm',
        certainty: 'uncertain',
        device: DEV,
        tsNs: t(385),
        message: 'data read before data_size in pre-copy iteration 2',
        evidence: [{ src: src(47, F), what: 'pread64 of 0x1000 bytes at data section' }],
        specRef: 'spec §6.1 V1-SAVE-ORDER; L58',
      }),
      finding({
        rule: 'V1-EMPTY-ITER',
        severity: 'warning',
        blame: 'driver',
        device: DEV,
        tsNs: t(300),
        message: 'pending_bytes 8192 followed by data_size 0 in the same iteration',
        evidence: [
          { src: src(40, F), what: 'pread64 pending_bytes = 8192' },
          { src: src(43, F), what: 'pread64 data_size = 0' },
        ],
        specRef: 'spec §6.1 V1-EMPTY-ITER; QV1',
      }),
    ],
    {
      clock: { source: 'relative', clock: 'local', offsetNs: undefined },
      input: input({
        files: [{ path: F, format: 'ftrace-text', clock: 'local' }],
        records: 2886,
        malformed: 2,
        lostEvents: 12,
        gaps: [{ tsNs: t(382), count: 12, file: F, line: 48, byteOffset: undefined }],
        problems: [
          { src: { file: F, line: 17 }, message: 'unparsable line: "##### CPU 1 buffer started ####"' },
          { src: { file: F, line: 31 }, message: 'syscall exit without entry' },
        ],
      }),
    },
  );
}

/** A failed transition lands in ERROR (110b); a write out of ERROR fails; a reset brings RUNNING back. */
export function errorReset(): Analysis {
  const t = (ms: number): bigint => T + BigInt(ms) * MS;
  return analysis(
    [
      device(DEV, {
        resets: 1,
        timeline: [
          iv('RUNNING', 1, t(0), t(50), { certainty: 'inferred' }),
          iv('PRE_COPY', 3, t(50), t(200), { bytes: 4096, src: src(20) }),
          iv('ERROR', 6, t(200), t(320), { src: src(33) }),
          iv('RUNNING', 1, t(320), undefined, { certainty: 'inferred', src: src(45) }),
        ],
        stateWrites: [
          wr(t(50), ['RUNNING', 1], ['PRE_COPY', 3], 20),
          wr(t(200), ['PRE_COPY', 3], ['SAVING', 2], 31, { result: 'failed', errno: 5, readBackRaw: 6 }),
          wr(t(260), ['ERROR', 6], ['RUNNING', 1], 38, { result: 'failed', errno: 22 }),
        ],
        sessions: [
          session({ kind: 'save', startNs: t(50), endNs: t(320), outcome: 'failed', states: ['PRE_COPY', 'ERROR', 'RUNNING'], iterations: 1, bytes: 4096, pending: [{ tsNs: t(60), bytes: 4096n }], notRunningNs: 120n * MS }),
        ],
      }),
    ],
    [
      finding({
        rule: 'V1-REFUSE-VALID',
        severity: 'warning',
        blame: 'driver',
        device: DEV,
        tsNs: t(200),
        message: 'device_state write 011b → 010b failed with EIO and the device went to ERROR',
        evidence: [
          { src: src(31), what: 'pwrite64 device_state = 2 returned -5' },
          { src: src(33), what: 'pread64 device_state = 6' },
        ],
        specRef: 'spec §6.1 V1-REFUSE-VALID',
      }),
      finding({
        rule: 'V1-ERROR-EXIT',
        severity: 'warning',
        blame: 'vmm',
        device: DEV,
        tsNs: t(260),
        message: 'device_state write while in ERROR; only VFIO_DEVICE_RESET leaves the error state',
        evidence: [{ src: src(38), what: 'pwrite64 device_state = 1 returned -22' }],
        specRef: 'spec §6.1 V1-ERROR-EXIT; L58, REV',
      }),
    ],
  );
}

/** Two v2 devices in one VM, one with P2P states; the second leaves the P2P set too early. */
export function twoDevices(): Analysis {
  const t = (ms: number): bigint => T + BigInt(ms) * MS;
  const F = 'trace.dat';
  const s = (off: number): Source => ({ file: F, byteOffset: off });
  const a = '0000:3b:00.0';
  const b = '0000:af:00.0';
  return analysis(
    [
      device(a, {
        protocol: 'v2',
        fd: 31,
        region: undefined,
        timeline: [
          iv('RUNNING', 2, t(0), t(100), { certainty: 'inferred' }),
          iv('PRE_COPY', 6, t(100), t(500), { bytes: 1_048_576, src: s(4096) }),
          iv('PRE_COPY_P2P', 7, t(500), t(540), { bytes: 65536, src: s(8192) }),
          iv('STOP_COPY', 3, t(540), t(640), { bytes: 262144, src: s(9000) }),
          iv('STOP', 1, t(640), undefined, { src: s(12000) }),
        ],
        stateWrites: [
          wr(t(100), ['RUNNING', 2], ['PRE_COPY', 6], 0, { src: s(4096) }),
          wr(t(500), ['PRE_COPY', 6], ['PRE_COPY_P2P', 7], 0, { src: s(8192) }),
          wr(t(540), ['PRE_COPY_P2P', 7], ['STOP_COPY', 3], 0, { src: s(9000) }),
          wr(t(640), ['STOP_COPY', 3], ['STOP', 1], 0, { src: s(12000) }),
        ],
        sessions: [session({ kind: 'save', startNs: t(100), endNs: t(640), outcome: 'completed', states: ['PRE_COPY', 'PRE_COPY_P2P', 'STOP_COPY', 'STOP'], iterations: 9, bytes: 1_376_256, notRunningNs: 100n * MS })],
      }),
      device(b, {
        protocol: 'v2',
        fd: 32,
        region: undefined,
        timeline: [
          iv('RUNNING', 2, t(0), t(120), { certainty: 'inferred' }),
          iv('PRE_COPY', 6, t(120), t(520), { bytes: 524288, src: s(4200) }),
          iv('STOP_COPY', 3, t(520), t(600), { bytes: 131072, src: s(8400) }),
          iv('STOP', 1, t(600), undefined, { src: s(11000) }),
        ],
        stateWrites: [
          wr(t(120), ['RUNNING', 2], ['PRE_COPY', 6], 0, { src: s(4200) }),
          wr(t(520), ['PRE_COPY', 6], ['STOP_COPY', 3], 0, { src: s(8400) }),
          wr(t(600), ['STOP_COPY', 3], ['STOP', 1], 0, { src: s(11000) }),
        ],
        sessions: [session({ kind: 'save', startNs: t(120), endNs: t(600), outcome: 'completed', states: ['PRE_COPY', 'STOP_COPY', 'STOP'], iterations: 6, bytes: 655360, notRunningNs: 80n * MS })],
      }),
    ],
    [
      finding({
        rule: 'V2-P2P-ORDER',
        severity: 'warning',
        blame: 'vmm',
        device: b,
        tsNs: t(520),
        message: `${b} left PRE_COPY for STOP_COPY before ${a} reached a P2P state`,
        evidence: [
          { src: s(8400), what: `SET ${b} PRE_COPY → STOP_COPY` },
          { src: s(8192), what: `SET ${a} PRE_COPY → PRE_COPY_P2P (later)` },
        ],
        specRef: 'spec §6.2 V2-P2P-ORDER; L518, QDOC',
      }),
    ],
    { input: input({ files: [{ path: F, format: 'trace-cmd', clock: 'mono' }], records: 5120 }) },
  );
}

/** Hostile text everywhere a trace can put text. */
export const HOSTILE_DEVICE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">';
export const HOSTILE_MESSAGE = '</script><script>window.__pwned=3</script>\u2028<!-- <b>bold</b> & <img src=x onerror=window.__pwned=4>';
export const HOSTILE_TITLE = '</title><script>window.__pwned=6</script>';

export function hostile(): Analysis {
  const base = failedPrecopy();
  const d0 = base.devices[0];
  if (d0 === undefined) throw new Error('fixture');
  const dev = { ...d0, id: HOSTILE_DEVICE, comm: '<b onmouseover=window.__pwned=7>qemu</b>', naming: '"><script>window.__pwned=8</script>' };
  return {
    ...base,
    host: '<iframe src="https://example.invalid/">',
    devices: [dev],
    findings: base.findings.map((f) => ({
      ...f,
      device: HOSTILE_DEVICE,
      rule: f.rule === 'V1-EMPTY-ITER' ? '<svg onload=window.__pwned=5>' : f.rule,
      message: HOSTILE_MESSAGE,
      evidence: f.evidence.map((e) => ({ src: { ...e.src, file: '<script>window.__pwned=9</script>' }, what: HOSTILE_MESSAGE })),
    })),
    input: { ...base.input, problems: [{ src: { file: '<img src=x onerror=window.__pwned=10>', line: 1 }, message: HOSTILE_MESSAGE }] },
  };
}

/** Every scenario, by name (the screenshots and the DOM checks walk this). */
export const SCENARIOS: Readonly<Record<string, () => Analysis>> = {
  'clean-save': cleanSave,
  resume,
  'failed-precopy': failedPrecopy,
  'error-reset': errorReset,
  'two-devices': twoDevices,
};

/** Rule texts for the findings the fixtures raise (spec/vfio-migration.md §6). */
export const RULES: readonly ReportRule[] = [
  {
    id: 'V1-REFUSE-VALID',
    title: 'Driver refused a transition between valid states',
    description:
      'A failed pwrite between two valid states (000, 001, 010, 011, 100) with an errno other than EAGAIN. Error when the arc is 001→000 or 001→010; warning for other arcs.',
    specRef: 'spec §6.1; L58 flow 1, REV',
  },
  {
    id: 'V1-SAVE-ORDER',
    title: 'Save iteration out of order',
    description: 'In 010b or 011b, each iteration must go pending_bytes(>0) → data_offset → data_size → data reads within the window → pending_bytes.',
    specRef: 'spec §6.1; L58',
  },
  {
    id: 'V1-EMPTY-ITER',
    title: 'Empty iteration',
    description: 'pending_bytes > 0 followed by data_size = 0 in the same iteration. QEMU stops iterating here, which can trigger V1-SAVE-DRAIN.',
    specRef: 'spec §6.1; QV1',
  },
  {
    id: 'V1-ERROR-EXIT',
    title: 'Write while in the error state',
    description: 'While the last read showed 110b, any device_state pwrite that succeeds is a driver error, and a user attempt is a user warning. Only VFIO_DEVICE_RESET leaves the error state.',
    specRef: 'spec §6.1; L58, REV',
  },
  {
    id: 'V2-P2P-ORDER',
    title: 'P2P quiescence order',
    description: 'Several devices in one VM, all with P2P: each must reach RUNNING_P2P or PRE_COPY_P2P before any device leaves the P2P-quiescent set towards STOP or STOP_COPY.',
    specRef: 'spec §6.2; L518, QDOC',
  },
];
