// One device's state machine as the trace shows it (protocol v1, spec §2): the current
// state and how sure we are of it, the closed intervals, the state writes with their
// read-backs, and the migration session in progress.

import type { Building } from '../record/extended.js';
import { newSessionCore, sessionResult, type SessionCore } from './session-core.js';
import type {
  CloseOp,
  DeviceRef,
  OpenOp,
  OpBase,
  QemuEventOp,
  V1BadAccessOp,
  RegionOp,
  ResetOp,
  V1DataOp,
  V1FieldOp,
  V1StateReadOp,
  V1StateWriteOp,
} from '../decode/ops.js';
import { ERRNO } from '../protocol/ioctl.js';
import { V1_RUNNING, v1IsError, v1StateName } from '../protocol/v1.js';
import type { Source } from '../record/types.js';
import { createTimelineRecorder, type Certainty, type WriteEntry } from './timeline-recorder.js';
import type { GapCounter } from './device-view.js';
import type { Evidence } from './evidence.js';
import type { ActiveMigration } from './migration-episode.js';
import { hex, isHardFailure, opText, resultText, stateText } from './op-text.js';
import { convergenceBytes, convergenceEnd, convergenceEnter, convergenceQemu, convergenceSample, type ConvergencePhase } from './convergence-input.js';
import { DEFAULT_STALL_ITERATIONS, sessionConvergence, type ConvergenceOptions, type DowntimeLimit } from './convergence.js';
import type { DeviceOp } from '../decode/ops.js';
import type { DeviceRegion, DeviceTimeline, MigrationSession, Protocol, SessionDrain, SessionKind, SessionOutcome, SessionReason, StateInterval, StateWrite } from './types.js';
import { createSessionList, type SessionSpill } from './session-list.js';

interface SessionBuilder extends SessionCore {
  /** See MigrationSession.partial. */
  partial: boolean;
  /** The first failed transition of the session (the reason a failed session gives). */
  failure: { readonly text: string; readonly src: Source } | undefined;
}

/**
 * The device's stay in stop-and-copy (010b), from the op that put it there until SAVING is
 * seen cleared: what V1-SAVE-DRAIN and the save's outcome both read (spec §2.5 [L58]:
 * "iterate until pending_bytes is 0").
 */
interface StopCopyStay {
  readonly entry: Evidence;
  /** The entry was a write of the VMM's or QEMU's set_state event, not only a read that found 010b. */
  readonly entrySeen: boolean;
  readonly gapSerial: number;
  /** Last pending_bytes value in 010b, from the read (bpftrace) or QEMU's vfio_update_pending. */
  last: { readonly bytes: bigint; readonly ev: Evidence } | undefined;
  /** A pending_bytes read whose value nothing showed. */
  unseen: boolean;
  /** A successful device_state write whose value the tracer did not see (the VMM may have moved it). */
  unseenWrite: boolean;
}

export interface DeviceStateOptions {
  readonly maxPendingSamples: number;
  readonly maxIntervals: number;
  /** Finished sessions kept per device (the latest; older ones counted): unbounded when undefined. */
  readonly maxSessions?: number;
  /** Where finished sessions past the latest few go when every one is kept (analyze, report): session-list.ts. */
  readonly sessionSpill?: SessionSpill;
  readonly onSessionEnd: ((device: DeviceTimeline, session: MigrationSession) => void) | undefined;
  readonly onStateChange: ((deviceId: string, raw: number | undefined, state: string, protocol: Protocol) => void) | undefined;
  /** Each pending-bytes sample: v1 pending_bytes (§2.5), v2 PRECOPY_INFO initial + dirty (§5.4). Optional. */
  readonly onPending?: ((deviceId: string, protocol: 'v1' | 'v2', bytes: bigint, tsNs: bigint | undefined) => void) | undefined;
  /** The tracker's count of lost-event windows (stop-copy stays remember it, for certainty). */
  readonly gaps?: GapCounter;
  /** A failed device_state write met its read-back: the first read after it that showed a value (spec §2.3 rule 3). */
  readonly onReadBack?: (write: V1StateWriteOp, read: V1StateReadOp) => void;
  /** The device's migration episode (migration-episode.ts), which exempts recoveries from V1-SAVE-DRAIN. */
  readonly episode?: () => ActiveMigration | undefined;
  /** The downtime limit in force when a save ends (`--downtime-limit`, or QMP's migrate-set-parameters so far). */
  readonly downtimeLimit?: () => DowntimeLimit | undefined;
  readonly convergence?: ConvergenceOptions;
}

/** v1 states by convergence phase: 011b pre-copy, 010b stop-and-copy (spec §2.2). */
function v1Phase(raw: number): ConvergencePhase {
  const n = raw & 7;
  return n === 3 ? 'pre-copy' : n === 2 ? 'stop-copy' : 'other';
}

function stateName(raw: number | undefined): string {
  return raw === undefined ? 'UNKNOWN' : v1StateName(raw);
}

function low(raw: number): number {
  return raw & 7;
}

export function createDeviceState(ref: DeviceRef, opts: DeviceStateOptions) {
  let protocol: Protocol = 'unknown';
  let comm: string | undefined;
  let region: DeviceRegion | undefined;
  let resets = 0;
  // RUNNING is bit 0 of device_state (spec §2.2): any state without it is not running.
  const rec = createTimelineRecorder<WriteEntry>({
    maxIntervals: opts.maxIntervals,
    stateName,
    isNotRunning: (raw) => (raw & V1_RUNNING) === 0,
    ...(opts.sessionSpill !== undefined ? { spill: opts.sessionSpill } : {}),
  });
  const sessions = createSessionList(opts.maxSessions, opts.sessionSpill);
  let session: SessionBuilder | undefined;
  /** The last failed device_state write, waiting for the first read that shows a value (its read-back). */
  let awaitingReadBack: { readonly writeId: number; readonly op: V1StateWriteOp } | undefined;
  /** A pending_bytes read whose value the tracer did not see, waiting for QEMU's event. */
  let awaitingPendingValue = false;
  let syscallPendingSeen = false;
  /** A successful device_state write whose value the tracer did not see (see settleUnseenWrite). */
  let unseenWrite: { writeId: number; ts: bigint | undefined; src: Source } | undefined;

  /** The op being handled (evidence for what it causes). */
  let currentOp: DeviceOp | undefined;
  let stopCopy: StopCopyStay | undefined;

  function evidenceOf(o: DeviceOp | undefined, note?: string): Evidence | undefined {
    if (o === undefined) return undefined;
    return { src: o.src, what: note === undefined ? opText(o) : `${opText(o)} (${note})` };
  }

  function pendingSample(ts: bigint | undefined, bytes: bigint): void {
    if (stopCopy !== undefined) {
      const ev = evidenceOf(currentOp, 'last pending_bytes value in 010b');
      if (ev !== undefined) stopCopy.last = { bytes, ev };
    }
    if (session === undefined) return;
    if (currentOp !== undefined) convergenceSample(session.conv, ts, bytes, currentOp.src, opText(currentOp));
    if (session.pending.length < opts.maxPendingSamples) session.pending.push({ tsNs: ts, bytes });
    else session.pendingDropped++;
    opts.onPending?.(ref.id, 'v1', bytes, ts);
  }

  /**
   * QEMU emits vfio_migration_set_state right after a successful write (spec §3.3 step 6),
   * so a write whose value was invisible waits one op: if that op is QEMU's event, its value
   * is the state from the write's time on; otherwise the state is unknown from then.
   */
  function settleUnseenWrite(q: QemuEventOp | undefined): void {
    const w = unseenWrite;
    if (w === undefined) return;
    unseenWrite = undefined;
    if (q !== undefined) {
      const state = q.args['state'];
      if (q.event === 'vfio_migration_set_state' && typeof state === 'bigint') {
        rec.patchWrite(w.writeId, { toRaw: Number(state) });
        setState(Number(state), 'inferred', w.ts, w.src);
        return;
      }
    }
    setState(undefined, 'unknown', w.ts, w.src);
  }
  let ended = false;

  function note(o: OpBase): void {
    if (comm === undefined && o.comm !== undefined) comm = o.comm;
  }

  /**
   * Time not running inside the session, from the later of its start and the current
   * interval's start, up to `ts`. Unlike v2 there is no high-water mark (v1's callers close
   * the interval or the session right after), so an interval opened without a timestamp
   * counts again from the session's start: kept as it was, not a decision of the recorder.
   */
  function accrueNotRunning(ts: bigint | undefined): void {
    if (session === undefined) return;
    session.notRunningNs += rec.notRunningUpTo(ts, [session.startNs]);
  }

  /** A state with a value was seen (or inferred, e.g. RUNNING at open) at some point; lost events since the last one. */
  let everKnown = false;
  /** setState is running for a refused write (its unknown is a wait for the read-back). */
  let refusing = false;
  /** The session's last state name while a refused write's read-back is awaited. */
  let heldByRefusal: string | undefined;
  let lostSinceKnown = false;

  function setState(raw: number | undefined, certainty: Certainty, ts: bigint | undefined, src: Source): void {
    const cur = rec.current();
    if (raw !== undefined && cur.raw !== undefined && cur.certainty === 'inferred' && certainty === 'known' && low(raw) === low(cur.raw)) {
      // The assumed default (001b after open or reset) was right about the state but not
      // about reserved bits 3–31: the read corrects the value, it is not a transition.
      // (Checked before absorbs(): when raw is the current value too, both do the same.)
      rec.correct(raw, 'known');
      return;
    }
    // Same state seen again (a better source upgrades certainty in place), or unknown again.
    if (rec.absorbs(raw, certainty)) return;
    accrueNotRunning(ts);
    const prev = cur.raw;
    rec.enter(raw, certainty, ts, src);
    opts.onStateChange?.(ref.id, raw, stateName(raw), protocol);
    transition(prev, raw, ts, src);
    if (raw !== undefined && session?.kind === 'save') convergenceEnter(session.conv, v1Phase(raw), ts, src, currentOp !== undefined ? opText(currentOp) : stateName(raw));
    if (raw !== undefined) {
      everKnown = true;
      lostSinceKnown = false;
    }
  }

  /**
   * A device_state write the driver refused (hard failure, not EAGAIN): the session fails
   * with it as its reason. A refused attempt to start a save or resume from outside one is
   * a failed session of its own (QEMU's save_setup or load_setup failed, §3.3).
   */
  function refused(o: V1StateWriteOp, entry: WriteEntry): void {
    const text = `the driver refused ${stateName(entry.fromRaw)} → ${o.value === undefined ? 'an unseen state' : stateText(o.value)} (${resultText(o.result)})`;
    if (session !== undefined) {
      session.failed = true;
      if (session.failure === undefined) session.failure = { text, src: o.src };
      return;
    }
    if (o.value === undefined) return;
    const n = low(o.value);
    if (n !== 2 && n !== 3 && n !== 4) return;
    startSession(n === 4 ? 'resume' : 'save', o.tsNs, o.src, o.value);
    const s = session as SessionBuilder | undefined;
    if (s === undefined) return;
    s.states.length = 0;
    s.states.push(stateName(entry.fromRaw));
    s.failed = true;
    s.failure = { text, src: o.src };
    endSession('failed', o.tsNs);
  }

  function startSession(kind: SessionKind, ts: bigint | undefined, src: Source, raw: number): void {
    // Set on the core, not spread into a new literal: record/extended.ts says why.
    const core = newSessionCore(kind, ts, stateName(raw), src, rec.intervalCount(), rec.writeCount(), opts.gaps?.count ?? 0) as SessionBuilder;
    core.failure = undefined;
    core.partial = false;
    session = core;
    rec.holdForSession();
  }

  /** A failed session's reason is its first failed transition, unless a more specific one is given. */
  function endSession(outcome: SessionOutcome, ts: bigint | undefined, reason?: SessionReason): void {
    const s = session;
    if (s === undefined) return;
    session = undefined;
    const held = rec.releaseHeld();
    const why: SessionReason | undefined = reason ?? (outcome === 'failed' && s.failure !== undefined ? { text: s.failure.text, src: s.failure.src } : undefined);
    // Each field set on the one result object, in the order the JSON shows them, instead of
    // a spread per step (record/extended.ts: a new hidden class per session).
    const done: Building<MigrationSession> = sessionResult(s, outcome, ts);
    if (s.partial) done.partial = true;
    if (why !== undefined) {
      done.reason = why.text;
      if (why.src !== undefined) done.reasonSrc = why.src;
      if (why.drain !== undefined) done.drain = why.drain;
    }
    if (s.kind === 'save') done.convergence = convergenceOf(s, ts);
    sessions.push(done);
    if (opts.onSessionEnd !== undefined) {
      // The interval in progress belongs to the session too: the state the session ended in
      // (entered at ts: a zero-length span, as in the finished timeline), or the one the fd
      // was closed / the trace ended in. Without it `watch --export` sent one state span
      // fewer per session than `analyze --export` (issue 14).
      const cur = rec.current();
      const current = cur.raw !== undefined || cur.src !== undefined ? [rec.currentUntil(ts)] : [];
      opts.onSessionEnd(
        snapshotWith([...rec.intervalsFrom(s.firstInterval), ...held.intervals, ...current], [...rec.writesFrom(s.firstWrite), ...held.writes], [done]),
        done,
      );
    }
  }

  function convergenceOf(s: SessionBuilder, ts: bigint | undefined): NonNullable<MigrationSession['convergence']> {
    convergenceEnd(s.conv, ts, currentOp?.src, currentOp !== undefined ? opText(currentOp) : 'the session ended');
    return sessionConvergence(s.conv, {
      protocol: 'v1',
      endNs: ts,
      notRunningNs: s.notRunningNs,
      partial: s.partial || s.pendingDropped > 0,
      gapsNow: opts.gaps?.count ?? 0,
      limit: opts.downtimeLimit?.(),
      options: opts.convergence ?? { stallIterations: DEFAULT_STALL_ITERATIONS },
    });
  }

  /**
   * SAVING was seen cleared after stop-and-copy: did the stay drain (spec §2.5)? The same
   * answer gives the save its outcome and V1-SAVE-DRAIN its finding.
   */
  function leaveStopCopy(next: number): SessionDrain | undefined {
    const sc = stopCopy;
    stopCopy = undefined;
    if (sc === undefined) return undefined;
    const o = currentOp;
    const n = low(next);
    // A read that finds the state changed, with no write that could have done it, shows the
    // driver moving on its own (V1-ASYNC), not the VMM leaving early.
    const by: SessionDrain['by'] = o?.op === 'v1-state-read' && !sc.unseenWrite ? 'driver' : 'vmm';
    const m = opts.episode?.();
    const exempt = n === 1 && (m?.failure !== undefined || m?.ending !== undefined);
    const status: SessionDrain['status'] = sc.last !== undefined ? (sc.last.bytes === 0n ? 'drained' : 'pending') : sc.unseen || !sc.entrySeen ? 'unknown' : 'never-read';
    const exit = evidenceOf(o);
    const evidence = [sc.entry, ...(sc.last !== undefined && status === 'pending' ? [sc.last.ev] : []), ...(exit !== undefined ? [exit] : [])];
    return {
      status,
      ...(sc.last !== undefined ? { pendingBytes: sc.last.bytes } : {}),
      by,
      exempt,
      to: stateText(next),
      evidence,
      uncertain: (opts.gaps?.count ?? 0) !== sc.gapSerial,
    };
  }

  /** What a save's end says about the stop-and-copy stay that preceded it. */
  function drainReason(d: SessionDrain): SessionReason {
    const src = d.evidence[d.evidence.length - 1]?.src;
    switch (d.status) {
      case 'drained':
        return { text: `pending_bytes read 0 in stop-and-copy before ${d.to}`, src, drain: d };
      case 'pending':
        return { text: `left stop-and-copy for ${d.to} with ${hex(d.pendingBytes ?? 0n)} bytes still pending${d.by === 'driver' ? ' (the device moved on its own)' : ''}`, src, drain: d };
      case 'never-read':
        return { text: `left stop-and-copy for ${d.to} without reading pending_bytes there${d.by === 'driver' ? ' (the device moved on its own)' : ''}`, src, drain: d };
      case 'unknown':
        return { text: `whether stop-and-copy was drained before ${d.to} is not shown (pending_bytes values not seen)`, src, drain: d };
    }
  }

  /** Session bookkeeping for a v1 state change (spec §2.4 flows, §3.3 call sites). */
  function transition(prev: number | undefined, next: number | undefined, ts: bigint | undefined, src: Source): void {
    const held = heldByRefusal;
    heldByRefusal = undefined;
    if (next === undefined) {
      // A refused write makes the state unknown until the read-back; the session did not
      // visit a new state because of it, so its state list waits for what the read shows.
      if (refusing && session !== undefined) heldByRefusal = session.states[session.states.length - 1];
      else session?.states.push('UNKNOWN');
      return;
    }
    const n = low(next);
    // The read-back shows the state the device kept (spec §2.3 rule 3): nothing new visited.
    if (held !== undefined && held === stateName(next) && session !== undefined) {
      if (n === 2 || n === 3 || n === 4) return;
    }
    const saving = n === 2 || n === 3;
    // Entering stop-and-copy starts a stay; SAVING seen cleared ends it (unknown states in between keep it).
    let drain: SessionDrain | undefined;
    if (n === 2 && stopCopy === undefined) {
      const o = currentOp;
      const entry = evidenceOf(o, 'entered stop-and-copy');
      if (entry !== undefined) stopCopy = { entry, entrySeen: o?.op === 'v1-state-write' || o?.op === 'qemu', gapSerial: opts.gaps?.count ?? 0, last: undefined, unseen: false, unseenWrite: false };
    } else if ((next & 2) === 0) drain = leaveStopCopy(next);
    if (session === undefined) {
      if (saving) startSession('save', ts, src, next);
      else if (n === 4) startSession('resume', ts, src, next);
      // Found already saving or resuming with nothing known before it (the device's first
      // state the trace shows, or the first after lost events): the session began before what
      // the trace shows. A state before it that was only invisible (an unseen value) is not that.
      // A write into it (or QEMU's set_state event, which follows one) shows the start.
      const foundByRead = currentOp?.op === 'v1-state-read';
      if (session !== undefined && prev === undefined && (lostSinceKnown || (!everKnown && foundByRead))) (session as SessionBuilder).partial = true;
      return;
    }
    session.states.push(stateName(next));
    if (n === 6 || n === 5 || n === 7) {
      endSession('failed', ts, { text: `the device entered ${stateText(next)}`, src });
      return;
    }
    if (session.kind === 'save') {
      if (saving) return;
      const undrained = drain !== undefined && !drain.exempt && (drain.status === 'pending' || drain.status === 'never-read');
      if (n === 0) {
        if (session.failed) endSession('failed', ts);
        else if (drain === undefined) endSession('failed', ts, { text: `reached STOP without stop-and-copy (010b) seen`, src });
        // Values invisible (syscall-only trace, no QEMU events): say unknown, never guess.
        else endSession(drain.status === 'drained' ? 'completed' : drain.status === 'unknown' ? 'unknown' : 'failed', ts, drainReason(drain));
      } else if (n === 1) {
        if (session.failed) endSession('failed', ts);
        else if (undrained && drain !== undefined) endSession('failed', ts, drainReason(drain));
        else endSession('cancelled', ts, { text: 'the VMM took the device back to RUNNING before the save completed', src, ...(drain !== undefined ? { drain } : {}) });
      } else if (n === 4) {
        if (session.failed) endSession('failed', ts);
        else if (undrained && drain !== undefined) endSession('failed', ts, drainReason(drain));
        else endSession('cancelled', ts, { text: 'the VMM moved the device to RESUMING before the save completed', src, ...(drain !== undefined ? { drain } : {}) });
        startSession('resume', ts, src, next);
      }
      return;
    }
    // resume
    if (n === 4) return;
    if (n === 1) endSession(session.failed ? 'failed' : 'completed', ts, session.failed ? undefined : { text: 'the device reached RUNNING after RESUMING', src });
    else if (n === 0) endSession(session.failed ? 'failed' : 'cancelled', ts, session.failed ? undefined : { text: 'the device went to STOP from RESUMING, not to RUNNING', src });
    else if (saving) {
      endSession(session.failed ? 'failed' : 'cancelled', ts, session.failed ? undefined : { text: 'the device went back to saving before the resume completed', src });
      startSession('save', ts, src, next);
    }
  }

  function snapshotWith(tl: readonly StateInterval[], ws: readonly StateWrite[], ss: readonly MigrationSession[], sessionsDropped = 0): DeviceTimeline {
    return rec.deviceTimeline({ ref, comm, protocol, region, resets, timeline: tl, writes: ws, sessions: ss, sessionsDropped });
  }

  return {
    /** v1 once a v1 op was seen; 'unknown' while only open/close/reset/QEMU events were (tracker.ts dispatches v2 devices). */
    protocol(): Protocol {
      return protocol;
    },
    /** `settling`: a write's value is still unseen, waiting for QEMU's event (settleUnseenWrite). */
    current(): { raw: number | undefined; certainty: Certainty; settling: boolean } {
      const cur = rec.current();
      return { raw: cur.raw, certainty: cur.certainty, settling: unseenWrite !== undefined };
    },
    badAccess(o: V1BadAccessOp): void {
      currentOp = o;
      settleUnseenWrite(undefined);
      note(o);
      protocol = 'v1';
      // A mis-sized write over device_state that the driver did not refuse (V1-WIDTH) may
      // have changed the state in a way nobody can tell (as device-view.ts applyOp says).
      if (o.write && o.fields.includes('device_state') && o.result.ok !== false) {
        awaitingReadBack = undefined;
        setState(undefined, 'unknown', o.tsNs, o.src);
      }
    },
    open(o: OpenOp): void {
      currentOp = o;
      settleUnseenWrite(undefined);
      note(o);
      // A freshly opened device is in its default state: RUNNING for v1 (spec §2.4 flow 0).
      // Inferred, not known: the trace has not shown it.
      setState(V1_RUNNING, 'inferred', o.tsNs, o.src);
    },
    close(o: CloseOp): void {
      currentOp = o;
      settleUnseenWrite(undefined);
      note(o);
      accrueNotRunning(o.tsNs);
      // A refused transition after which the VMM gave up is a failed save, not an incomplete one.
      if (session !== undefined) endSession(session.failed ? 'failed' : 'incomplete', o.tsNs, session.failed ? undefined : { text: 'the device was closed mid-session', src: o.src });
      stopCopy = undefined;
      rec.finish(o.tsNs, 'fd-closed');
      ended = true;
    },
    region(o: RegionOp): void {
      currentOp = o;
      settleUnseenWrite(undefined);
      note(o);
      protocol = 'v1';
      region = { index: o.index, offset: o.offset, size: o.size, source: o.source, evidence: o.evidence };
    },
    v1Write(o: V1StateWriteOp): void {
      currentOp = o;
      settleUnseenWrite(undefined);
      note(o);
      protocol = 'v1';
      const entry: WriteEntry = {
        tsNs: o.tsNs,
        fromRaw: rec.current().raw,
        toRaw: o.value,
        result: o.result.ok === undefined ? 'unknown' : o.result.ok ? 'ok' : 'failed',
        errno: o.result.errno,
        readBackRaw: undefined,
        src: o.src,
      };
      const writeId = rec.addWrite(entry);
      if (o.result.ok === true) {
        awaitingReadBack = undefined;
        if (o.value === undefined) {
          unseenWrite = { writeId, ts: o.tsNs, src: o.src };
          if (stopCopy !== undefined) stopCopy.unseenWrite = true;
        } else setState(o.value, 'known', o.tsNs, o.src);
      } else if (o.result.ok === false) {
        // EAGAIN is transient (spec §6.1 V1-EAGAIN): not a failed transition, the state stays.
        // After a hard failure the driver reports the previous state or, on an internal
        // error, 110b (spec §2.3 rule 3): which one only a read shows, so until then the
        // state is unknown, never the previous one assumed. Except in 110b: only a reset
        // leaves the error state (spec §2.7 [REV]), so a refused write leaves it there.
        if (isHardFailure(o.result)) {
          refused(o, entry);
          const cur = rec.current().raw;
          if (cur === undefined || !v1IsError(cur)) {
            refusing = true;
            setState(undefined, 'unknown', o.tsNs, o.src);
            refusing = false;
          }
        }
        awaitingReadBack = { writeId, op: o };
      } else {
        // The exit was not seen: the write may or may not have taken effect.
        awaitingReadBack = undefined;
        setState(undefined, 'unknown', o.tsNs, o.src);
      }
    },
    v1Read(o: V1StateReadOp): void {
      currentOp = o;
      settleUnseenWrite(undefined);
      note(o);
      protocol = 'v1';
      if (o.result.ok !== true || o.value === undefined) return;
      if (awaitingReadBack !== undefined) {
        const a = awaitingReadBack;
        rec.patchWrite(a.writeId, { readBackRaw: o.value });
        awaitingReadBack = undefined;
        opts.onReadBack?.(a.op, o);
      }
      setState(o.value, 'known', o.tsNs, o.src);
    },
    v1Field(o: V1FieldOp): void {
      currentOp = o;
      settleUnseenWrite(undefined);
      note(o);
      protocol = 'v1';
      if (session === undefined || o.result.ok !== true) return;
      if (o.field === 'pending_bytes' && !o.write) {
        syscallPendingSeen = true;
        if (o.value !== undefined) {
          pendingSample(o.tsNs, o.value);
          awaitingPendingValue = false;
        } else {
          // QEMU's vfio_update_pending event, if traced, follows with the value.
          awaitingPendingValue = true;
          if (stopCopy !== undefined) stopCopy.unseen = true;
        }
      }
      if (session.kind === 'save' && o.field === 'data_offset' && !o.write) session.iterations++;
      if (session.kind === 'resume' && o.field === 'data_size' && o.write) session.iterations++;
    },
    v1Data(o: V1DataOp): void {
      currentOp = o;
      settleUnseenWrite(undefined);
      note(o);
      protocol = 'v1';
      if (o.result.ok !== true || o.result.ret === undefined) return;
      rec.addBytes(o.result.ret);
      if (session !== undefined) {
        session.bytes += o.result.ret;
        convergenceBytes(session.conv, o.result.ret);
      }
    },
    reset(o: ResetOp): void {
      currentOp = o;
      settleUnseenWrite(undefined);
      note(o);
      if (o.result.ok === undefined) {
        // Whether the reset happened is not shown: the state is unknown (device-view.ts agrees).
        setState(undefined, 'unknown', o.tsNs, o.src);
        return;
      }
      if (o.result.ok !== true) return;
      resets++;
      awaitingReadBack = undefined;
      if (session !== undefined) {
        session.failed = true;
        if (session.failure === undefined) session.failure = { text: 'the device was reset (VFIO_DEVICE_RESET) during the session', src: o.src };
      }
      stopCopy = undefined;
      // Reset returns the device to RUNNING (spec §2.6); inferred until a read shows it.
      if (rec.current().raw === V1_RUNNING) setState(undefined, 'unknown', o.tsNs, o.src);
      setState(V1_RUNNING, 'inferred', o.tsNs, o.src);
    },
    qemu(o: QemuEventOp): void {
      currentOp = o;
      const hadUnseen = unseenWrite !== undefined;
      settleUnseenWrite(o);
      note(o);
      if (hadUnseen && o.event === 'vfio_migration_set_state') return; // consumed above
      if (session?.kind === 'save') convergenceQemu(session.conv, o);
      const pending = o.args['pending'];
      if (o.event === 'vfio_update_pending' && typeof pending === 'bigint' && (awaitingPendingValue || !syscallPendingSeen)) {
        awaitingPendingValue = false;
        pendingSample(o.tsNs, pending);
        return;
      }
      // QEMU's set_state event (v1: decimal new device_state, emitted after a successful
      // write, spec §4.2) fills the value a syscall-only trace lacks.
      const state = o.args['state'];
      if (o.event === 'vfio_migration_set_state' && typeof state === 'bigint') {
        protocol = 'v1';
        const cur = rec.current();
        if (cur.raw !== Number(state) || cur.certainty === 'unknown') setState(Number(state), 'inferred', o.tsNs, o.src);
      }
    },
    gap(ts: bigint | undefined, src: Source): void {
      settleUnseenWrite(undefined);
      // Lost events may hide any transition: from here the state is unknown until seen.
      const cur = rec.current();
      lostSinceKnown = true;
      if (ended || (cur.raw === undefined && cur.src === undefined)) return;
      setState(undefined, 'unknown', ts, src);
    },
    end(lastTs: bigint | undefined): void {
      settleUnseenWrite(undefined);
      if (ended) return;
      if (session !== undefined) {
        accrueNotRunning(lastTs);
        endSession(session.failed ? 'failed' : 'incomplete', lastTs, session.failed ? undefined : { text: 'the trace ended mid-session' });
      }
      rec.finish(lastTs, 'trace-ended');
      ended = true;
    },
    snapshot(): DeviceTimeline {
      return snapshotWith(rec.intervals(), rec.writes(), sessions.items, sessions.dropped());
    },
  };
}

export type DeviceState = ReturnType<typeof createDeviceState>;
