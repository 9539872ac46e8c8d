// A save's convergence account (issue 12, "why did it take so long"): from what the session
// collected (convergence-input.ts), the remaining-bytes curve of pre-copy, how fast it
// shrank and how fast the device dirtied, a verdict, the device's stop-copy estimate at
// switchover against what stop-copy actually moved and took, and whether the predicted
// stop-copy fitted the downtime limit. A pure function: the tracker calls it when the
// session ends and hands the result on in the session-end fact, so reports and rules read
// one account. Anything the trace does not show stays absent or `unknown`.

import type { Evidence } from './evidence.js';
import type { ConvergenceInput, ConvergenceSample } from './convergence-input.js';
import type { ConvergenceVerdict, SessionConvergence } from './types.js';

export interface DowntimeLimit {
  readonly ms: number;
  readonly from: 'flag' | 'qmp';
}

export interface ConvergenceOptions {
  /** MIG-PRECOPY-STALL's N: the verdict window is the last N iterations (N + 1 samples). */
  readonly stallIterations: number;
}

export const DEFAULT_STALL_ITERATIONS = 3;

/** A shrink smaller than this fraction of the window's first value counts as no shrink (1 %). */
const STALL_FRACTION = 100n;

export interface ConvergenceContext {
  readonly protocol: 'v1' | 'v2';
  readonly endNs: bigint | undefined;
  readonly notRunningNs: bigint;
  /** Session flags that make every figure a lower bound. */
  readonly partial: boolean;
  readonly gapsNow: number;
  readonly limit: DowntimeLimit | undefined;
  readonly options: ConvergenceOptions;
}

function perSecond(bytes: number | bigint, ns: bigint): number {
  return (Number(bytes) * 1e9) / Number(ns);
}

function ev(s: ConvergenceSample, note: string): Evidence {
  return { src: s.src, what: `${s.what}: ${s.remainingBytes} bytes remaining (${note})` };
}

function verdictOf(pts: readonly ConvergenceSample[], n: number): { verdict: ConvergenceVerdict; reason: string; evidence: Evidence[] } {
  const first = pts[0];
  const last = pts[pts.length - 1];
  if (first === undefined || last === undefined || pts.length < 2) return { verdict: 'unknown', reason: `${pts.length} remaining-bytes sample${pts.length === 1 ? '' : 's'} in pre-copy: too few to judge`, evidence: [] };
  if (last.remainingBytes === 0n) return { verdict: 'converging', reason: 'the remaining bytes reached 0 in pre-copy', evidence: [ev(first, 'first'), ev(last, 'last')] };
  const window = pts.slice(-(n + 1));
  const wf = window[0] ?? first;
  const evidence = [ev(wf, `iteration ${pts.length - window.length + 1}`), ev(last, `iteration ${pts.length}`)];
  if (window.length < n + 1) {
    if (last.remainingBytes < first.remainingBytes) return { verdict: 'converging', reason: `the remaining bytes shrank over the ${pts.length} samples seen`, evidence };
    return { verdict: 'unknown', reason: `${pts.length} samples in pre-copy, ${n + 1} needed to call it stalled`, evidence };
  }
  if (last.remainingBytes > wf.remainingBytes) return { verdict: 'growing', reason: `the remaining bytes grew from ${wf.remainingBytes} to ${last.remainingBytes} over the last ${n} iterations`, evidence };
  if ((wf.remainingBytes - last.remainingBytes) * STALL_FRACTION < wf.remainingBytes)
    return { verdict: 'stalled', reason: `the remaining bytes shrank by less than 1 % (${wf.remainingBytes} → ${last.remainingBytes}) over the last ${n} iterations`, evidence };
  return { verdict: 'converging', reason: `the remaining bytes shrank from ${wf.remainingBytes} to ${last.remainingBytes} over the last ${n} iterations`, evidence };
}

export function sessionConvergence(c: ConvergenceInput, ctx: ConvergenceContext): SessionConvergence {
  const syscall = c.samples.length > 0;
  const pts = syscall ? c.samples : c.qemuSamples;
  const curveFrom: SessionConvergence['curveFrom'] = pts.length === 0 ? 'none' : !syscall ? 'qemu' : ctx.protocol === 'v1' ? 'pending-bytes' : 'precopy-info';
  const v = verdictOf(pts, Math.max(1, ctx.options.stallIterations));

  const first = pts[0];
  const last = pts[pts.length - 1];
  let shrinkRateBytesPerS: number | undefined;
  let dirtyRateBytesPerS: number | undefined;
  if (first !== undefined && last !== undefined && first.tsNs !== undefined && last.tsNs !== undefined && last.tsNs > first.tsNs) {
    const dt = last.tsNs - first.tsNs;
    const shrink = first.remainingBytes - last.remainingBytes;
    shrinkRateBytesPerS = perSecond(shrink, dt);
    // What moved minus what the curve lost is what the device dirtied meanwhile; shown only
    // when data moved in the trace (else the moved count is not the device's).
    const moved = last.movedBytes - first.movedBytes;
    if (moved > 0 && BigInt(moved) >= shrink) dirtyRateBytesPerS = perSecond(BigInt(moved) - shrink, dt);
  }

  // The device's estimate at switchover: v2 its MIG_DATA_SIZE (or QEMU's query of it) made
  // before stop-copy; v1 the first pending_bytes read in stop-and-copy, else the last one
  // of pre-copy. PRECOPY_INFO is not a stop-copy estimate (spec §5.4).
  const est =
    c.lastEstimate ??
    c.firstStopCopyPending ??
    (ctx.protocol === 'v1' && last !== undefined && syscall ? { tsNs: last.tsNs, bytes: last.remainingBytes, from: 'pending-bytes' as const, ev: ev(last, 'last pending_bytes in pre-copy') } : undefined);

  const sc = c.stopCopy;
  const actualStopCopyNs = sc?.startNs !== undefined && sc.endNs !== undefined && sc.endNs >= sc.startNs ? sc.endNs - sc.startNs : undefined;
  const stopCopyActualBytes = sc !== undefined && sc.bytes > 0 ? sc.bytes : undefined;
  let throughputBytesPerS: number | undefined;
  let throughputFrom: SessionConvergence['throughputFrom'];
  if (c.precopyBytes > 0 && c.precopyNs > 0n) {
    throughputBytesPerS = perSecond(c.precopyBytes, c.precopyNs);
    throughputFrom = 'pre-copy';
  } else if (stopCopyActualBytes !== undefined && actualStopCopyNs !== undefined && actualStopCopyNs > 0n) {
    throughputBytesPerS = perSecond(stopCopyActualBytes, actualStopCopyNs);
    throughputFrom = 'stop-copy';
  }
  const predictedStopCopyNs = est !== undefined && throughputBytesPerS !== undefined && throughputBytesPerS > 0 ? BigInt(Math.round((Number(est.bytes) / throughputBytesPerS) * 1e9)) : undefined;
  const fits: SessionConvergence['fits'] = predictedStopCopyNs === undefined || ctx.limit === undefined ? 'unknown' : predictedStopCopyNs <= BigInt(Math.round(ctx.limit.ms * 1e6)) ? 'yes' : 'no';

  return {
    curveFrom,
    iterations: pts.map((p) => ({ tsNs: p.tsNs, remainingBytes: p.remainingBytes })),
    iterationsDropped: c.samplesDropped,
    ...(shrinkRateBytesPerS !== undefined ? { shrinkRateBytesPerS } : {}),
    ...(dirtyRateBytesPerS !== undefined ? { dirtyRateBytesPerS } : {}),
    verdict: v.verdict,
    verdictReason: v.reason,
    verdictEvidence: v.evidence,
    ...(est !== undefined ? { stopCopyEstimateBytes: est.bytes, estimateFrom: est.from, estimateEvidence: est.ev } : {}),
    stopCopySizeUnknown: c.sizeUnknown,
    ...(stopCopyActualBytes !== undefined ? { stopCopyActualBytes } : {}),
    ...(throughputBytesPerS !== undefined ? { throughputBytesPerS, throughputFrom } : {}),
    ...(predictedStopCopyNs !== undefined ? { predictedStopCopyNs } : {}),
    ...(actualStopCopyNs !== undefined ? { actualStopCopyNs } : {}),
    ...(sc?.startNs !== undefined ? { stopCopyStartNs: sc.startNs } : {}),
    ...(sc?.endNs !== undefined ? { stopCopyEndNs: sc.endNs } : {}),
    stopCopyEvidence: sc === undefined ? [] : [sc.entry, ...(sc.exit !== undefined ? [sc.exit] : [])],
    // Not `{ ...(a ? { deviceStopCopyNs } : {}), notRunningNs }`: a literal that begins with a spread makes a hidden class per object (record/extended.ts).
    downtime: actualStopCopyNs !== undefined ? { deviceStopCopyNs: actualStopCopyNs, notRunningNs: ctx.notRunningNs } : { notRunningNs: ctx.notRunningNs },
    ...(ctx.limit !== undefined ? { downtimeLimitMs: ctx.limit.ms, downtimeLimitFrom: ctx.limit.from } : {}),
    fits,
    uncertain: ctx.partial || c.samplesDropped > 0 || ctx.gapsNow !== c.gapSerial,
  };
}
