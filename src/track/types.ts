// What the tracker rebuilds per device: the state timeline, the state writes and the
// migration sessions. Plain data, so report/ and export/ can render it without knowing
// how it was built.

import type { Source } from '../record/types.js';
import type { Evidence } from './evidence.js';

export type Protocol = 'v1' | 'v2' | 'unknown';

/** One stretch of time in one device state. */
export interface StateInterval {
  /** State name as the spec names it (v1 §2.2, v2 §5.3), or "UNKNOWN". */
  readonly state: string;
  /** Raw device_state value; undefined when not known. */
  readonly raw: number | undefined;
  readonly startNs: bigint | undefined;
  /** undefined while the interval is still open at the end of the trace. */
  readonly endNs: bigint | undefined;
  /**
   * known: the trace showed this state (a successful write of a seen value, or a read).
   * inferred: derived from protocol defaults (e.g. RUNNING after open) or QEMU's own events.
   * unknown: the trace cannot tell (values invisible, or a gap of lost events).
   */
  readonly certainty: 'known' | 'inferred' | 'unknown';
  /** Bytes moved through the data path while in this interval. */
  readonly bytes: number;
  readonly src: Source | undefined;
  /** True for the last interval of a device still open when the trace ended (endNs is the trace's end). */
  readonly openAtEnd?: boolean;
}

/** Every attempt to change device_state (v1 write, v2 SET). */
export interface StateWrite {
  readonly tsNs: bigint | undefined;
  /** Raw value before the write as the tracker knew it. */
  readonly fromRaw: number | undefined;
  readonly from: string;
  readonly toRaw: number | undefined;
  readonly to: string;
  /** 'ok', 'failed', or 'unknown' when the exit was not seen. */
  readonly result: 'ok' | 'failed' | 'unknown';
  readonly errno: number | undefined;
  /** The state read back after a failed write, when the trace shows one. */
  readonly readBackRaw: number | undefined;
  readonly src: Source;
  /**
   * v2 only: the states the kernel stepped through for this SET (spec §5.5), in order,
   * ending with `to`; a single entry is a direct arc, empty means "already there". The
   * intermediate states last no time the trace can see (they happen inside the ioctl), so
   * they are listed here and in the session's `states`, not given timeline intervals.
   * Undefined when the path cannot be computed (state before the SET unknown).
   */
  readonly path?: readonly string[];
  /** v2 only: which flags the path was computed with (see DeviceTimeline.v2FlagsSource). */
  readonly pathFlags?: 'feature' | 'inferred';
  /** v2 only: the data_fd the SET returned (−1 for none), when seen. */
  readonly dataFd?: number;
  /** v2 only: where the requested state came from: the ioctl's struct, or QEMU's trace events. */
  readonly valueSource?: 'ioctl' | 'qemu';
}

export interface PendingSample {
  readonly tsNs: bigint | undefined;
  readonly bytes: bigint;
}

/** A VFIO_MIG_GET_PRECOPY_INFO reply (v2, spec §5.4). */
export interface PrecopySample {
  readonly tsNs: bigint | undefined;
  readonly initialBytes: bigint;
  readonly dirtyBytes: bigint;
}

export type SessionKind = 'save' | 'resume';

/**
 * completed: the save reached STOP after draining (or the resume reached RUNNING).
 * failed: a transition failed or the device hit ERROR.
 * cancelled: the VMM took the device back to RUNNING before completion.
 * incomplete: the trace ended (or the device was closed) mid-session.
 * unknown: the session ended but the trace cannot tell whether it succeeded (e.g. the
 *   pending_bytes values of a save were invisible to the tracer).
 */
export type SessionOutcome = 'completed' | 'failed' | 'cancelled' | 'incomplete' | 'unknown';

export interface MigrationSession {
  readonly kind: SessionKind;
  readonly startNs: bigint | undefined;
  readonly endNs: bigint | undefined;
  readonly outcome: SessionOutcome;
  /** State names in the order visited. */
  readonly states: readonly string[];
  /** Data iterations: v1 save, one per data_offset/data_size round; resume, one per chunk. */
  readonly iterations: number;
  readonly bytes: number;
  /** pending_bytes reads (v1), in order. Capped (see track/limits); `pendingDropped` counts the rest. */
  readonly pending: readonly PendingSample[];
  readonly pendingDropped: number;
  /** Time the device spent not running inside this session, ns. */
  readonly notRunningNs: bigint;
  readonly src: Source | undefined;
  /**
   * v2 only: PRECOPY_INFO replies in order (capped like `pending`, whose samples for v2 are
   * initial_bytes + dirty_bytes of these replies).
   */
  readonly precopy?: readonly PrecopySample[];
  /** v2 only: the last MIG_DATA_SIZE estimate of the STOP_COPY size seen in the session. */
  readonly stopCopyLength?: bigint;
  /** v2 only: the data_fd of the session, when the SET's reply was seen. */
  readonly dataFd?: number;
  /**
   * Why the session has its outcome, in words (e.g. "the driver refused PRE_COPY → SAVING
   * (failed with EIO (-5))", "the trace ended mid-session"), and the record that decided it.
   */
  readonly reason?: string;
  readonly reasonSrc?: Source;
  /**
   * The state before the session's first state was not known (the trace began mid-session,
   * or lost events hide its start): startNs, iterations, bytes and pending are lower bounds.
   */
  readonly partial?: true;
  /** v1 saves: whether the stop-and-copy stay drained (the fact V1-SAVE-DRAIN reports on). */
  readonly drain?: SessionDrain;
  /** Saves only: did pre-copy converge, and what did the switchover cost (track/convergence.ts). */
  readonly convergence?: SessionConvergence;
}

/**
 * converging: the remaining bytes shrank over the verdict window (or reached 0).
 * stalled: they shrank by less than 1 % over the last N iterations. growing: they grew.
 * unknown: too few samples in pre-copy (fewer than 2, or fewer than N + 1 without a shrink).
 */
export type ConvergenceVerdict = 'converging' | 'stalled' | 'growing' | 'unknown';

/** One remaining-bytes sample in pre-copy. */
export interface ConvergencePoint {
  readonly tsNs: bigint | undefined;
  readonly remainingBytes: bigint;
}

/**
 * A save's pre-copy convergence and its switchover, from whatever the trace shows (v1
 * pending_bytes; v2 PRECOPY_INFO and MIG_DATA_SIZE; QEMU's vfio_save_iterate,
 * vfio_state_pending*, vfio_query_*_size events). Every figure the trace cannot give is
 * absent; verdicts say unknown.
 */
export interface SessionConvergence {
  /** Where the remaining-bytes curve comes from. */
  readonly curveFrom: 'pending-bytes' | 'precopy-info' | 'qemu' | 'none';
  readonly iterations: readonly ConvergencePoint[];
  /** Samples past the per-session cap (counted, not kept). */
  readonly iterationsDropped: number;
  /** (first − last remaining) / time between them; negative when the curve grew. */
  readonly shrinkRateBytesPerS?: number;
  /** Bytes moved over the curve's span minus its shrink, per second: what the device dirtied. Absent when the data moved is not shown. */
  readonly dirtyRateBytesPerS?: number;
  readonly verdict: ConvergenceVerdict;
  readonly verdictReason: string;
  /** The verdict window's first and last samples (the evidence of a stall). */
  readonly verdictEvidence: readonly Evidence[];
  /** The device's own estimate of what stop-copy had to move, at switchover. */
  readonly stopCopyEstimateBytes?: bigint;
  readonly estimateFrom?: 'mig-data-size' | 'qemu-stop-copy-size' | 'pending-bytes';
  readonly estimateEvidence?: Evidence;
  /** QEMU said it could not get the stop-copy size (ret < 0, or its 100 GiB sentinel): the records. */
  readonly stopCopySizeUnknown: readonly Evidence[];
  /** Data bytes moved while the device was in stop-copy (absent: no stop-copy, or its data not shown). */
  readonly stopCopyActualBytes?: number;
  /** Bytes per second the trace showed moving, and in which phase (pre-copy is what a VMM can know before switchover). */
  readonly throughputBytesPerS?: number;
  readonly throughputFrom?: 'pre-copy' | 'stop-copy';
  /** estimate / throughput. */
  readonly predictedStopCopyNs?: bigint;
  /** Time in stop-copy (entry to exit). */
  readonly actualStopCopyNs?: bigint;
  /** When stop-copy began and ended (trace clock), for lining devices up. */
  readonly stopCopyStartNs?: bigint;
  readonly stopCopyEndNs?: bigint;
  /** The stop-copy entry and exit records. */
  readonly stopCopyEvidence: readonly Evidence[];
  readonly downtime: ConvergenceDowntime;
  /** The downtime limit that applied (`--downtime-limit`, or migrate-set-parameters seen before the session ended). */
  readonly downtimeLimitMs?: number;
  readonly downtimeLimitFrom?: 'flag' | 'qmp';
  /** Would the predicted stop-copy fit the limit: unknown without a prediction or a limit. */
  readonly fits: 'yes' | 'no' | 'unknown';
  /** Lost events during the session, a partial session, or samples dropped: the figures are lower bounds or gaps. */
  readonly uncertain: boolean;
}

export interface ConvergenceDowntime {
  /** This device's stop-copy time. */
  readonly deviceStopCopyNs?: bigint;
  /** Time the device was not running in the session. */
  readonly notRunningNs: bigint;
  /** The longest stop-copy of another device whose stop-copy overlapped this one (analysis-wide, after the last input). */
  readonly otherDevicesNs?: bigint;
  /** QEMU's downtime (query-migrate) of the migration this session belongs to, when known. */
  readonly migrationDowntimeMs?: number;
  /** The device with the longest stop-copy among the overlapping ones (this one or another). */
  readonly dominantDevice?: string;
}

/** How a v1 stop-and-copy (010b) stay ended (spec §2.5 [L58]: iterate until pending_bytes is 0). */
export interface SessionDrain {
  /**
   * drained: the last pending_bytes value in 010b was 0. pending: it was not. never-read:
   * no pending_bytes read in 010b at all (the entry was seen). unknown: values not seen.
   */
  readonly status: 'drained' | 'pending' | 'never-read' | 'unknown';
  readonly pendingBytes?: bigint;
  /** Who moved the device out of 010b: the VMM (a write, or QEMU's set_state event), or the driver on its own (a read found it moved). */
  readonly by: 'vmm' | 'driver';
  /** A recovery to RUNNING after a failed transition or once QEMU said the migration failed/cancelled (V1-FAIL-RECOVER's case). */
  readonly exempt: boolean;
  /** The state it left for, as the spec writes it. */
  readonly to: string;
  /** The entry into 010b, the last pending_bytes value (when pending), the exit. */
  readonly evidence: readonly Evidence[];
  /** Events were lost during the stay. */
  readonly uncertain: boolean;
}

/** A session's reason as the state machines build it. */
export interface SessionReason {
  readonly text: string;
  readonly src?: Source | undefined;
  readonly drain?: SessionDrain;
}

export interface DeviceRegion {
  readonly index: number | undefined;
  readonly offset: bigint;
  readonly size: bigint | undefined;
  readonly source: 'region-info' | 'flag' | 'inferred' | 'qemu';
  readonly evidence: string;
}

export interface DeviceTimeline {
  readonly id: string;
  readonly pid: number | undefined;
  /** Process name (comm) of the VMM thread that drove the device, when the trace shows it. */
  readonly comm: string | undefined;
  readonly fd: number;
  /**
   * The host the device is on: the host of the input it was seen in (--host, the merge
   * plan's host, or the name the input gives itself); absent when no name is known.
   */
  readonly host?: string;
  readonly naming: string;
  /**
   * How the syscall view and QEMU's view of the device were joined into this one device
   * (the evidence of the join), when they were; absent when only one view named it.
   */
  readonly identity?: string;
  /**
   * Accesses of this device fd that could not be placed because no migration region was
   * found (no GET_REGION_INFO reply, no --region, no recognisable header pattern): counted
   * with the first lines, and the --region flag that would place them.
   */
  readonly unplaced?: { readonly count: number; readonly first: readonly Source[]; readonly hint: string };
  readonly protocol: Protocol;
  readonly region: DeviceRegion | undefined;
  readonly timeline: readonly StateInterval[];
  readonly stateWrites: readonly StateWrite[];
  readonly sessions: readonly MigrationSession[];
  readonly resets: number;
  /** Intervals not kept because the per-device cap was reached (counted, not silently lost). */
  readonly intervalsDropped: number;
  /** State writes not kept because the same per-device cap was reached; absent when none were dropped. */
  readonly stateWritesDropped?: number;
  /**
   * Finished sessions not kept because the per-device session cap was reached (`watch` keeps
   * the latest only: each was printed and exported as it ended); absent when none were dropped.
   */
  readonly sessionsDropped?: number;
  /**
   * v2 only: the device's migration flags (STOP_COPY 1, P2P 2, PRE_COPY 4; spec §5.2).
   * 'feature': learned from a MIGRATION GET reply. 'inferred': the least set that enables
   * every state the trace showed (the device may support more).
   */
  readonly v2Flags?: number;
  readonly v2FlagsSource?: 'feature' | 'inferred';
}
