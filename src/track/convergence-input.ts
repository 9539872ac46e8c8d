// What a save session collects while it runs for its convergence account (convergence.ts):
// the remaining-bytes samples of pre-copy with the bytes moved so far, the device's
// stop-copy size estimates, QEMU's failed size queries, and when stop-copy began and
// ended. The v1 and v2 state machines feed it from the ops they already handle, so the
// tracker stays the one owner of the session (DESIGN.md "One model of each device").

import type { QemuEventOp } from '../decode/ops.js';
import type { Source } from '../record/types.js';
import type { Evidence } from './evidence.js';

/** QEMU's stand-in when VFIO_DEVICE_FEATURE_MIG_DATA_SIZE fails: 100 GiB (hw/vfio/migration.c; field-2026.md). */
export const STOP_COPY_SIZE_SENTINEL = 107374182400n;

/** Per-session cap on the samples and size-query records kept (the rest are counted). */
export const MAX_CONVERGENCE_SAMPLES = 2_000;
const MAX_EVIDENCE = 16;

export type ConvergencePhase = 'pre-copy' | 'stop-copy' | 'other';

export interface ConvergenceSample {
  readonly tsNs: bigint | undefined;
  readonly remainingBytes: bigint;
  /** Session data bytes moved before this sample (for the dirty rate). */
  readonly movedBytes: number;
  readonly src: Source;
  readonly what: string;
}

export interface ConvergenceEstimate {
  readonly tsNs: bigint | undefined;
  readonly bytes: bigint;
  readonly from: 'mig-data-size' | 'qemu-stop-copy-size' | 'pending-bytes';
  readonly ev: Evidence;
}

export interface ConvergenceInput {
  phase: ConvergencePhase;
  phaseSinceNs: bigint | undefined;
  /** Time and bytes in pre-copy (for the pre-copy throughput). */
  precopyNs: bigint;
  precopyBytes: number;
  movedBytes: number;
  /** The syscall view's samples (pending_bytes, PRECOPY_INFO); QEMU's, used when there are none. */
  samples: ConvergenceSample[];
  qemuSamples: ConvergenceSample[];
  /** The one QEMU event the QEMU curve is taken from (the first seen), so two events of one query are not counted twice. */
  qemuSampleEvent: string | undefined;
  samplesDropped: number;
  /** Last estimate before stop-copy began, and the first pending_bytes read in stop-copy (v1). */
  lastEstimate: ConvergenceEstimate | undefined;
  firstStopCopyPending: ConvergenceEstimate | undefined;
  /** One record per failed stop-copy size query (see convergenceSizeUnknown, unknownSize). */
  sizeUnknown: Evidence[];
  /** Failed MIG_DATA_SIZE GETs of the syscall view that no QEMU event has reported yet. */
  sizeFailuresUnreported: number;
  /** The one QEMU event size failures are counted from (the first seen), as for qemuSampleEvent. */
  sizeUnknownEvent: string | undefined;
  stopCopy: { startNs: bigint | undefined; endNs: bigint | undefined; bytes: number; entry: Evidence; exit: Evidence | undefined } | undefined;
  /** The lost-events serial at the session's start. */
  readonly gapSerial: number;
}

export function newConvergenceInput(gapSerial: number): ConvergenceInput {
  return {
    phase: 'other',
    phaseSinceNs: undefined,
    precopyNs: 0n,
    precopyBytes: 0,
    movedBytes: 0,
    samples: [],
    qemuSamples: [],
    qemuSampleEvent: undefined,
    samplesDropped: 0,
    lastEstimate: undefined,
    firstStopCopyPending: undefined,
    sizeUnknown: [],
    sizeFailuresUnreported: 0,
    sizeUnknownEvent: undefined,
    stopCopy: undefined,
    gapSerial,
  };
}

/** The session's device entered a state of this phase at `ts` (the record `src` shows it). */
export function convergenceEnter(c: ConvergenceInput, phase: ConvergencePhase, ts: bigint | undefined, src: Source, what: string): void {
  if (phase === c.phase) return;
  closePhase(c, ts, src, what);
  c.phase = phase;
  c.phaseSinceNs = ts;
  if (phase === 'stop-copy' && c.stopCopy === undefined) c.stopCopy = { startNs: ts, endNs: undefined, bytes: 0, entry: { src, what: `${what} (stop-copy began)` }, exit: undefined };
}

/** The session ends at `ts`: the phase in progress is closed there. */
export function convergenceEnd(c: ConvergenceInput, ts: bigint | undefined, src: Source | undefined, what: string): void {
  closePhase(c, ts, src, what);
  c.phase = 'other';
}

function closePhase(c: ConvergenceInput, ts: bigint | undefined, src: Source | undefined, what: string): void {
  if (c.phase === 'pre-copy' && ts !== undefined && c.phaseSinceNs !== undefined && ts > c.phaseSinceNs) c.precopyNs += ts - c.phaseSinceNs;
  if (c.phase === 'stop-copy' && c.stopCopy !== undefined && c.stopCopy.exit === undefined) {
    c.stopCopy.endNs = ts;
    if (src !== undefined) c.stopCopy.exit = { src, what: `${what} (stop-copy ended)` };
  }
}

/** Data bytes the session moved (read from the device's data path). */
export function convergenceBytes(c: ConvergenceInput, n: number): void {
  c.movedBytes += n;
  if (c.phase === 'pre-copy') c.precopyBytes += n;
  if (c.phase === 'stop-copy' && c.stopCopy !== undefined) c.stopCopy.bytes += n;
}

/** A remaining-bytes value from the syscall view: v1 pending_bytes, v2 PRECOPY_INFO initial + dirty. */
export function convergenceSample(c: ConvergenceInput, ts: bigint | undefined, bytes: bigint, src: Source, what: string): void {
  if (c.phase === 'pre-copy') push(c, c.samples, { tsNs: ts, remainingBytes: bytes, movedBytes: c.movedBytes, src, what });
  // v1: the first pending_bytes read in stop-and-copy is the device's own count of what the stop-copy must move.
  else if (c.phase === 'stop-copy' && c.firstStopCopyPending === undefined) c.firstStopCopyPending = { tsNs: ts, bytes, from: 'pending-bytes', ev: { src, what: `${what} (first pending_bytes in stop-copy)` } };
}

/** v2 MIG_DATA_SIZE: the driver's estimate of the STOP_COPY size (spec §5.2). */
export function convergenceEstimate(c: ConvergenceInput, ts: bigint | undefined, bytes: bigint, from: ConvergenceEstimate['from'], src: Source, what: string): void {
  // Only an estimate made before the switchover can predict it.
  if (c.stopCopy !== undefined) return;
  c.lastEstimate = { tsNs: ts, bytes, from, ev: { src, what } };
}

function push(c: ConvergenceInput, list: ConvergenceSample[], s: ConvergenceSample): void {
  if (list.length < MAX_CONVERGENCE_SAMPLES) list.push(s);
  else c.samplesDropped++;
}

function num(o: QemuEventOp, ...names: string[]): bigint | undefined {
  for (const n of names) {
    const v = o.args[n];
    if (typeof v === 'bigint') return v;
  }
  return undefined;
}

/**
 * QEMU reported a failed size query: one record per query. One query can show in two of
 * QEMU's events (11.1: vfio_query_stop_copy_size, then vfio_state_pending with the
 * sentinel), so only the first kind seen is counted; and QEMU traces a query after its
 * ioctl, so when the syscall view showed that ioctl failing (bpftrace merged with QEMU's
 * log) the event reports a query already counted. A QEMU event with no failed ioctl before
 * it (the ioctl not decoded, or lost) counts.
 */
function unknownSize(c: ConvergenceInput, o: QemuEventOp, what: string): void {
  c.sizeUnknownEvent ??= o.event;
  if (c.sizeUnknownEvent !== o.event) return;
  if (c.sizeFailuresUnreported > 0) {
    c.sizeFailuresUnreported--;
    return;
  }
  pushSizeUnknown(c, { src: o.src, what });
}

function pushSizeUnknown(c: ConvergenceInput, ev: Evidence): void {
  if (c.sizeUnknown.length < MAX_EVIDENCE) c.sizeUnknown.push(ev);
}

/** The stop-copy size could not be had: the driver refused MIG_DATA_SIZE (the syscall view). */
export function convergenceSizeUnknown(c: ConvergenceInput, ev: Evidence): void {
  c.sizeFailuresUnreported++;
  pushSizeUnknown(c, ev);
}

/**
 * QEMU's VFIO events that carry sizes (spec §4.3, field-2026.md): pre-copy remaining
 * (vfio_save_iterate 8.1, vfio_state_pending_estimate/_exact, vfio_state_pending,
 * vfio_query_precopy_size) and the stop-copy size (…_exact, vfio_state_pending,
 * vfio_query_stop_copy_size, vfio_migration_data_notifier), with QEMU's 100 GiB sentinel
 * or ret < 0 meaning the driver's size query failed.
 */
export function convergenceQemu(c: ConvergenceInput, o: QemuEventOp): void {
  const ret = num(o, 'ret');
  if (o.event === 'vfio_query_stop_copy_size') {
    const size = num(o, 'size');
    if ((ret !== undefined && ret < 0n) || size === STOP_COPY_SIZE_SENTINEL) {
      unknownSize(c, o, `vfio_query_stop_copy_size ret ${ret ?? '?'}, size ${size ?? '?'} (the driver's MIG_DATA_SIZE failed; 100 GiB is QEMU's sentinel)`);
      return;
    }
    if (size !== undefined) convergenceEstimate(c, o.tsNs, size, 'qemu-stop-copy-size', o.src, `vfio_query_stop_copy_size size ${size}`);
    return;
  }
  const stopcopy = num(o, 'stopcopySize');
  const exactKnown = o.event === 'vfio_state_pending_exact' || o.event === 'vfio_migration_data_notifier' || (o.event === 'vfio_state_pending' && num(o, 'exact') !== 0n);
  if (stopcopy !== undefined) {
    if (stopcopy === STOP_COPY_SIZE_SENTINEL) unknownSize(c, o, `${o.event} stopcopy size ${stopcopy} (QEMU's 100 GiB sentinel: the driver's MIG_DATA_SIZE failed)`);
    else if (exactKnown) convergenceEstimate(c, o.tsNs, stopcopy, 'qemu-stop-copy-size', o.src, `${o.event} stopcopy size ${stopcopy}`);
  }
  const init = num(o, 'precopyInitialSize', 'precopyInitSize', 'init');
  const dirty = num(o, 'precopyDirtySize', 'dirty');
  const precopyEvent = o.event === 'vfio_save_iterate' || o.event.startsWith('vfio_state_pending') || o.event === 'vfio_query_precopy_size';
  if (!precopyEvent || init === undefined || dirty === undefined || (ret !== undefined && ret < 0n) || c.phase !== 'pre-copy') return;
  if (c.qemuSampleEvent === undefined) c.qemuSampleEvent = o.event;
  if (c.qemuSampleEvent !== o.event) return;
  push(c, c.qemuSamples, { tsNs: o.tsNs, remainingBytes: init + dirty, movedBytes: c.movedBytes, src: o.src, what: `${o.event} precopy initial ${init} + dirty ${dirty}` });
}
