// One device's state machine as the trace shows it (protocol v1, spec §2): the current
// state and how sure we are of it, the closed intervals, the state writes with their
// read-backs, and the migration session in progress.

import { newSessionCore, sessionResult, type SessionCore } from './session-core.js';
import type {
  CloseOp,
  DeviceRef,
  OpenOp,
  OpBase,
  QemuEventOp,
  RegionOp,
  ResetOp,
  V1DataOp,
  V1FieldOp,
  V1StateReadOp,
  V1StateWriteOp,
} from '../decode/ops.js';
import { ERRNO } from '../protocol/ioctl.js';
import { V1_RUNNING, v1StateName } from '../protocol/v1.js';
import type { Source } from '../record/types.js';
import { createTimelineRecorder, type Certainty, type WriteEntry } from './timeline-recorder.js';
import type { DeviceRegion, DeviceTimeline, MigrationSession, Protocol, SessionKind, SessionOutcome, StateInterval } from './types.js';

interface SessionBuilder extends SessionCore {
  /** Last pending_bytes read while in stop-and-copy (010b); undefined if none. */
  lastPendingInStopCopy: bigint | undefined;
  /** A pending_bytes read in stop-and-copy whose value the tracer could not see (and nothing filled it). */
  pendingUnseenInStopCopy: boolean;
}

export interface DeviceStateOptions {
  readonly maxPendingSamples: number;
  readonly maxIntervals: number;
  readonly onSessionEnd: ((device: DeviceTimeline, session: MigrationSession) => void) | undefined;
  readonly onStateChange: ((deviceId: string, raw: number | undefined, state: string, protocol: Protocol) => void) | undefined;
  /** Each pending-bytes sample: v1 pending_bytes (§2.5), v2 PRECOPY_INFO initial + dirty (§5.4). Optional. */
  readonly onPending?: ((deviceId: string, protocol: 'v1' | 'v2', bytes: bigint, tsNs: bigint | undefined) => void) | undefined;
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
  const rec = createTimelineRecorder<WriteEntry>({ maxIntervals: opts.maxIntervals, stateName, isNotRunning: (raw) => (raw & V1_RUNNING) === 0 });
  const sessions: MigrationSession[] = [];
  let session: SessionBuilder | undefined;
  let awaitingReadBack: WriteEntry | undefined;
  /** A pending_bytes read whose value the tracer did not see, waiting for QEMU's event. */
  let awaitingPendingValue = false;
  let syscallPendingSeen = false;
  /** A successful device_state write whose value the tracer did not see (see settleUnseenWrite). */
  let unseenWrite: { entry: WriteEntry; ts: bigint | undefined; src: Source } | undefined;

  function pendingSample(ts: bigint | undefined, bytes: bigint): void {
    if (session === undefined) return;
    if (session.pending.length < opts.maxPendingSamples) session.pending.push({ tsNs: ts, bytes });
    else session.pendingDropped++;
    opts.onPending?.(ref.id, 'v1', bytes, ts);
    const raw = rec.current().raw;
    if (raw !== undefined && low(raw) === 2) session.lastPendingInStopCopy = bytes;
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
        w.entry.toRaw = Number(state);
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
  }

  function startSession(kind: SessionKind, ts: bigint | undefined, src: Source, raw: number): void {
    session = {
      ...newSessionCore(kind, ts, stateName(raw), src, rec.intervals().length, rec.writes().length),
      lastPendingInStopCopy: undefined,
      pendingUnseenInStopCopy: false,
    };
  }

  function endSession(outcome: SessionOutcome, ts: bigint | undefined): void {
    const s = session;
    if (s === undefined) return;
    session = undefined;
    const done = sessionResult(s, outcome, ts);
    sessions.push(done);
    if (opts.onSessionEnd !== undefined) {
      opts.onSessionEnd(
        snapshotWith(rec.intervals().slice(s.firstInterval), rec.writes().slice(s.firstWrite), [done]),
        done,
      );
    }
  }

  /** Session bookkeeping for a v1 state change (spec §2.4 flows, §3.3 call sites). */
  function transition(prev: number | undefined, next: number | undefined, ts: bigint | undefined, src: Source): void {
    if (next === undefined) {
      session?.states.push('UNKNOWN');
      return;
    }
    const n = low(next);
    const saving = n === 2 || n === 3;
    if (session === undefined) {
      if (saving) startSession('save', ts, src, next);
      else if (n === 4) startSession('resume', ts, src, next);
      return;
    }
    session.states.push(stateName(next));
    if (n === 6 || n === 5 || n === 7) {
      endSession('failed', ts);
      return;
    }
    if (session.kind === 'save') {
      if (saving) return;
      if (n === 0) {
        const drained = session.lastPendingInStopCopy === 0n;
        // Values invisible (syscall-only trace, no QEMU events): say unknown, never guess.
        const unseen = session.pendingUnseenInStopCopy && session.lastPendingInStopCopy === undefined;
        endSession(session.failed ? 'failed' : drained ? 'completed' : unseen ? 'unknown' : 'failed', ts);
      } else if (n === 1) {
        endSession(session.failed ? 'failed' : 'cancelled', ts);
      } else if (n === 4) {
        endSession(session.failed ? 'failed' : 'cancelled', ts);
        startSession('resume', ts, src, next);
      }
      return;
    }
    // resume
    if (n === 4) return;
    if (n === 1) endSession(session.failed ? 'failed' : 'completed', ts);
    else if (n === 0) endSession(session.failed ? 'failed' : 'cancelled', ts);
    else if (saving) {
      endSession(session.failed ? 'failed' : 'cancelled', ts);
      startSession('save', ts, src, next);
    }
    void prev;
  }

  function snapshotWith(tl: readonly StateInterval[], ws: readonly WriteEntry[], ss: readonly MigrationSession[]): DeviceTimeline {
    return rec.deviceTimeline({ ref, comm, protocol, region, resets, timeline: tl, writes: ws, sessions: ss });
  }

  return {
    /** v1 once a v1 op was seen; 'unknown' while only open/close/reset/QEMU events were (tracker.ts dispatches v2 devices). */
    protocol(): Protocol {
      return protocol;
    },
    current(): { raw: number | undefined; certainty: Certainty } {
      const cur = rec.current();
      return { raw: cur.raw, certainty: cur.certainty };
    },
    touch(o: OpBase): void {
      settleUnseenWrite(undefined);
      note(o);
      protocol = 'v1';
    },
    open(o: OpenOp): void {
      settleUnseenWrite(undefined);
      note(o);
      // A freshly opened device is in its default state: RUNNING for v1 (spec §2.4 flow 0).
      // Inferred, not known: the trace has not shown it.
      setState(V1_RUNNING, 'inferred', o.tsNs, o.src);
    },
    close(o: CloseOp): void {
      settleUnseenWrite(undefined);
      note(o);
      accrueNotRunning(o.tsNs);
      if (session !== undefined) endSession('incomplete', o.tsNs);
      rec.finish(o.tsNs, 'fd-closed');
      ended = true;
    },
    region(o: RegionOp): void {
      settleUnseenWrite(undefined);
      note(o);
      protocol = 'v1';
      region = { index: o.index, offset: o.offset, size: o.size, source: o.source, evidence: o.evidence };
    },
    v1Write(o: V1StateWriteOp): void {
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
      rec.addWrite(entry);
      if (o.result.ok === true) {
        awaitingReadBack = undefined;
        if (o.value === undefined) unseenWrite = { entry, ts: o.tsNs, src: o.src };
        else setState(o.value, 'known', o.tsNs, o.src);
      } else if (o.result.ok === false) {
        // EAGAIN is transient (spec §6.1 V1-EAGAIN): not a failed transition.
        if (o.result.errno !== ERRNO.EAGAIN && session !== undefined) session.failed = true;
        awaitingReadBack = entry;
      } else {
        // The exit was not seen: the write may or may not have taken effect.
        setState(undefined, 'unknown', o.tsNs, o.src);
      }
    },
    v1Read(o: V1StateReadOp): void {
      settleUnseenWrite(undefined);
      note(o);
      protocol = 'v1';
      if (o.result.ok !== true || o.value === undefined) return;
      if (awaitingReadBack !== undefined) {
        awaitingReadBack.readBackRaw = o.value;
        awaitingReadBack = undefined;
      }
      setState(o.value, 'known', o.tsNs, o.src);
    },
    v1Field(o: V1FieldOp): void {
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
          const raw = rec.current().raw;
          if (raw !== undefined && low(raw) === 2) session.pendingUnseenInStopCopy = true;
        }
      }
      if (session.kind === 'save' && o.field === 'data_offset' && !o.write) session.iterations++;
      if (session.kind === 'resume' && o.field === 'data_size' && o.write) session.iterations++;
    },
    v1Data(o: V1DataOp): void {
      settleUnseenWrite(undefined);
      note(o);
      protocol = 'v1';
      if (o.result.ok !== true || o.result.ret === undefined) return;
      rec.addBytes(o.result.ret);
      if (session !== undefined) session.bytes += o.result.ret;
    },
    reset(o: ResetOp): void {
      settleUnseenWrite(undefined);
      note(o);
      if (o.result.ok !== true) return;
      resets++;
      awaitingReadBack = undefined;
      if (session !== undefined) {
        session.failed = true;
      }
      // Reset returns the device to RUNNING (spec §2.6); inferred until a read shows it.
      if (rec.current().raw === V1_RUNNING) setState(undefined, 'unknown', o.tsNs, o.src);
      setState(V1_RUNNING, 'inferred', o.tsNs, o.src);
    },
    qemu(o: QemuEventOp): void {
      const hadUnseen = unseenWrite !== undefined;
      settleUnseenWrite(o);
      note(o);
      if (hadUnseen && o.event === 'vfio_migration_set_state') return; // consumed above
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
      if (ended || (cur.raw === undefined && cur.src === undefined)) return;
      setState(undefined, 'unknown', ts, src);
    },
    end(lastTs: bigint | undefined): void {
      settleUnseenWrite(undefined);
      if (ended) return;
      if (session !== undefined) {
        accrueNotRunning(lastTs);
        endSession('incomplete', lastTs);
      }
      rec.finish(lastTs, 'trace-ended');
      ended = true;
    },
    snapshot(): DeviceTimeline {
      return snapshotWith(rec.intervals(), rec.writes(), sessions);
    },
  };
}

export type DeviceState = ReturnType<typeof createDeviceState>;
