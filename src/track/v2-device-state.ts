// One protocol-v2 device's state machine as the trace shows it (spec §5): the same
// DeviceTimeline / MigrationSession shapes as v1 (device-state.ts), so reports and
// exports treat both protocols alike.
//
// Decisions (spec §5.5):
// - A successful SET of a combination walks several arcs inside one ioctl. The trace
//   cannot time them, so the timeline gets one interval (the final state, from the SET's
//   time); the arcs are listed on the state write (`path`) and in the session's `states`.
// - A failed SET leaves the device in the original state, any state on the path, or ERROR
//   (§5.2): the state is unknown until a GET or QEMU's event shows it, unless the core
//   must have rejected the request before any arc (predictSet().rejectCertain).
// - The flags come from a MIGRATION GET reply when traced, else the least set the states
//   seen need (v2FlagsSource 'inferred'); paths computed with inferred flags say so.
// - Sessions follow the data transfer session of §5.3: a save starts at RUNNING→PRE_COPY,
//   RUNNING_P2P→PRE_COPY_P2P or STOP→STOP_COPY and ends at STOP_COPY→STOP (completed when
//   a read() returned 0 in STOP_COPY: end of stream), PRE_COPY(_P2P)→RUNNING(_P2P)
//   (cancelled); a resume starts at STOP→RESUMING and ends at RESUMING→STOP (completed:
//   the driver accepted the data). The rest of the ending SET's path is part of the
//   session (so a resume reads RESUMING, STOP, RUNNING_P2P, RUNNING). ERROR or a reset
//   fails it; close or the end of the trace leave it incomplete. iterations count data
//   batches: read() (save) or write() (resume) calls that moved bytes.
// - Without argument words (ftrace) a successful FEATURE call may have been a SET: the
//   state becomes unknown unless QEMU's events (v2-qemu.ts) say what happened.

import type { Building } from '../record/extended.js';
import { newSessionCore, sessionResult, type SessionCore } from './session-core.js';
import type { CloseOp, DeviceRef, OpBase, OpenOp, QemuEventOp, ResetOp, V2Op, V2SetStateOp } from '../decode/ops.js';
import { assertNever } from '../protocol/assert-never.js';
import { v2ArcEndsSession, v2ArcStartsSession } from '../protocol/v2-arcs.js';
import type { V2StateName } from '../protocol/v2.js';
import { v2QemuFact } from '../decode/v2-qemu.js';
import type { Source } from '../record/types.js';
import type { DeviceStateOptions } from './device-state.js';
import { createTimelineRecorder, type Certainty, type WriteEntry } from './timeline-recorder.js';
import type { DeviceTimeline, MigrationSession, PrecopySample, SessionKind, SessionOutcome, StateInterval, StateWrite } from './types.js';
import { V2_ERROR, V2_RESUMING, V2_RUNNING, V2_STOP_COPY, flagsFor, flagsShownBy, predictSet, v2InSavingGroup, v2Name, v2NotRunning } from './v2-model.js';
import { V2_STATES } from '../protocol/v2.js';
import { convergenceBytes, convergenceEnd, convergenceEnter, convergenceEstimate, convergenceQemu, convergenceSample, convergenceSizeUnknown, type ConvergencePhase } from './convergence-input.js';
import { DEFAULT_STALL_ITERATIONS, sessionConvergence } from './convergence.js';
import { createSessionList } from './session-list.js';

/** v2 states by convergence phase (spec §5.3): PRE_COPY(_P2P) pre-copy, STOP_COPY stop-copy. */
function v2Phase(raw: number): ConvergencePhase {
  const name = V2_STATES[raw];
  return name === 'PRE_COPY' || name === 'PRE_COPY_P2P' ? 'pre-copy' : name === 'STOP_COPY' ? 'stop-copy' : 'other';
}

/** A SET as the recorder keeps it, with what v2 adds to a state write (types.ts StateWrite). */
interface V2WriteEntry extends WriteEntry {
  path: string[] | undefined;
  pathFlags: 'feature' | 'inferred' | undefined;
  dataFd: number | undefined;
  valueSource: 'ioctl' | 'qemu';
}

interface SessionBuilder extends SessionCore {
  precopy: PrecopySample[];
  /** Not-running time is counted up to here (so no stretch is counted twice). */
  accruedTo: bigint | undefined;
  /** The decoder's serial of the session's data fd, when the SET's reply was seen. */
  serial: number | undefined;
  dataFd: number | undefined;
  /** Any data op of this session was seen (else the tracer did not record data traffic). */
  dataSeen: boolean;
  /** read() returned 0 in STOP_COPY: the end of the stream (spec §5.4). */
  eof: boolean;
  stopCopyLength: bigint | undefined;
  /** The first failed SET of the session, in words, and its record (its reason when it fails). */
  failure: Why | undefined;
  /** The read() that returned 0 in STOP_COPY (the fact a completed save's reason cites). */
  eofSrc: Source | undefined;
}

/** A session's reason in words and the record that decided it (MigrationSession.reason, reasonSrc). */
interface Why {
  readonly text: string;
  readonly src: Source | undefined;
}

export function createV2DeviceState(ref: DeviceRef, opts: DeviceStateOptions) {
  let comm: string | undefined;
  let resets = 0;
  const rec = createTimelineRecorder<V2WriteEntry>({
    maxIntervals: opts.maxIntervals,
    stateName: v2Name,
    isNotRunning: v2NotRunning,
    writeOf: (base, w) => {
      // Set one by one on base (made for this write), not spread (record/extended.ts: a new hidden class per write).
      const out: Building<StateWrite> = base;
      if (w.path !== undefined) out.path = w.path;
      if (w.pathFlags !== undefined) out.pathFlags = w.pathFlags;
      if (w.dataFd !== undefined) out.dataFd = w.dataFd;
      out.valueSource = w.valueSource;
      return out;
    },
    ...(opts.sessionSpill !== undefined ? { spill: opts.sessionSpill } : {}),
  });
  const sessions = createSessionList(opts.maxSessions, opts.sessionSpill);
  let session: SessionBuilder | undefined;
  let learnedFlags: number | undefined;
  let shownFlags = 0;
  let ended = false;
  /** QEMU ~9.x announced a SET before issuing it (v2-qemu.ts 'request'). */
  let announced: { newState: number; recoverState: number | undefined; next: 'new' | 'recover' } | undefined;
  /**
   * A successful FEATURE call whose struct was not seen, waiting one op: QEMU 8.0 traces
   * set_state right after a successful SET, so if the next op is that event the call was
   * that SET; otherwise the state is unknown from the call on.
   */
  let unexplained: OpBase | undefined;
  /** The last failed SET, waiting for the GET that shows where it left the device. */
  let lastFailed: number | undefined;

  const flags = () => flagsFor(learnedFlags, shownFlags);

  /** The op being handled (its record ends or starts the convergence phases). */
  let lastOp: OpBase | undefined;

  function note(o: OpBase): void {
    lastOp = o;
    if (comm === undefined && o.comm !== undefined) comm = o.comm;
  }

  /**
   * Time in the current (not running) state inside session `s`, up to `ts`. A session can
   * be accrued more than once before the interval closes (close/end, then finishSession),
   * so `accruedTo` marks what is counted already.
   */
  function accrueNotRunning(ts: bigint | undefined, s: SessionBuilder | undefined = session): void {
    if (s === undefined) return;
    const n = rec.notRunningUpTo(ts, [s.startNs, s.accruedTo]);
    if (n > 0n) {
      s.notRunningNs += n;
      s.accruedTo = ts;
    }
  }

  /** Change the current state (one interval per change; no session bookkeeping here). */
  function setState(raw: number | undefined, certainty: Certainty, ts: bigint | undefined, src: Source): void {
    if (raw !== undefined) shownFlags |= flagsShownBy(raw);
    // Same state seen again (a better source upgrades certainty in place), or unknown again.
    if (rec.absorbs(raw, certainty)) return;
    accrueNotRunning(ts);
    rec.enter(raw, certainty, ts, src);
    opts.onStateChange?.(ref.id, raw, v2Name(raw), 'v2');
    if (raw !== undefined && session?.kind === 'save') convergenceEnter(session.conv, v2Phase(raw), ts, src, `${v2Name(raw)} entered`);
  }

  function startSession(kind: SessionKind, ts: bigint | undefined, src: Source, first: string, serial: number | undefined, dataFd: number | undefined): void {
    // Set on the core, not spread into a new literal (record/extended.ts: a new hidden class per session).
    const core = newSessionCore(kind, ts, first, src, rec.intervalCount(), rec.writeCount(), opts.gaps?.count ?? 0) as SessionBuilder;
    core.precopy = [];
    core.accruedTo = undefined;
    core.serial = serial;
    core.dataFd = dataFd;
    core.dataSeen = false;
    core.eof = false;
    core.stopCopyLength = undefined;
    core.failure = undefined;
    core.eofSrc = undefined;
    session = core;
    rec.holdForSession();
  }

  /** The state a SET or a shown state is about to enter (setState runs after the session bookkeeping). */
  let arriving: StateInterval | undefined;
  const arrive = (raw: number, certainty: Certainty, o: OpBase): StateInterval => ({
    state: v2Name(raw),
    raw,
    startNs: o.tsNs,
    endNs: o.tsNs,
    certainty,
    bytes: 0,
    src: o.src,
  });

  /** Why a v2 session has its outcome (MigrationSession.reason): the failure if it failed, else `why`. */
  function reasonOf(s: SessionBuilder, outcome: SessionOutcome, why: Why | undefined): Why | undefined {
    if (outcome === 'failed' && s.failure !== undefined) return s.failure;
    return why;
  }

  function finishSession(s: SessionBuilder, outcome: SessionOutcome, ts: bigint | undefined, why?: Why): void {
    accrueNotRunning(ts, s);
    // Only the session in progress has items held past the cap (holdForSession).
    const held = session === s ? rec.releaseHeld() : { intervals: [], writes: [] };
    if (session === s) session = undefined;
    const reason = reasonOf(s, outcome, why);
    // Each field set on the one result object, in the order the JSON shows them (record/extended.ts).
    const done: Building<MigrationSession> = sessionResult(s, outcome, ts);
    if (reason !== undefined) {
      done.reason = reason.text;
      if (reason.src !== undefined) done.reasonSrc = reason.src;
    }
    if (s.precopy.length > 0) done.precopy = s.precopy;
    if (s.stopCopyLength !== undefined) done.stopCopyLength = s.stopCopyLength;
    if (s.dataFd !== undefined) done.dataFd = s.dataFd;
    if (s.kind === 'save') done.convergence = convergenceOf(s, ts);
    sessions.push(done);
    if (opts.onSessionEnd !== undefined) {
      // A session ends before the state change that ends it is applied (walkSessions runs
      // before setState), so the interval being left (STOP_COPY of a save, RESUMING of a
      // resume) is still open here: hand it over closed at the session's end, as v1 does.
      const start = rec.current().startNs;
      const leaving: StateInterval[] = start !== undefined && ts !== undefined && ts >= start ? [rec.currentUntil(ts)] : [];
      // …and the state it ends in, entered at ts right after (a zero-length span, as in the
      // finished timeline; without it `watch --export` lacked one state span per session).
      const entered: StateInterval[] = arriving !== undefined && arriving.startNs === ts ? [arriving] : [];
      opts.onSessionEnd(snapshotWith([...rec.intervalsFrom(s.firstInterval), ...held.intervals, ...leaving, ...entered], [...rec.writesFrom(s.firstWrite), ...held.writes], [done]), done);
    }
  }

  function convergenceOf(s: SessionBuilder, ts: bigint | undefined): NonNullable<MigrationSession['convergence']> {
    convergenceEnd(s.conv, ts, lastOp?.src, arriving !== undefined ? `${arriving.state} entered` : 'the session ended');
    return sessionConvergence(s.conv, {
      protocol: 'v2',
      endNs: ts,
      notRunningNs: s.notRunningNs,
      partial: s.pendingDropped > 0 || !s.dataSeen,
      gapsNow: opts.gaps?.count ?? 0,
      limit: opts.downtimeLimit?.(),
      options: opts.convergence ?? { stallIterations: DEFAULT_STALL_ITERATIONS },
    });
  }

  /** Why a session ends as outcomeAt says (the words of MigrationSession.reason). */
  function whyAt(s: SessionBuilder, from: V2StateName, outcome: SessionOutcome, src: Source): Why {
    if (s.kind === 'resume') return { text: 'RESUMING → STOP succeeded: the driver accepted the data', src };
    if (from !== 'STOP_COPY') return { text: `${from} → RUNNING: the save was cancelled before STOP_COPY`, src };
    if (s.eof) return { text: 'read() returned 0 (end of stream) in STOP_COPY before STOP', src: s.eofSrc ?? src };
    return { text: outcome === 'failed' ? 'STOP_COPY was left before read() returned 0: the end of the stream was never confirmed' : 'the session\'s data traffic was not traced: whether the stream was read to its end is not shown', src };
  }

  /** How a session ends at the arc `from` → `to` that ends it (spec §5.3). */
  function outcomeAt(s: SessionBuilder, from: V2StateName): SessionOutcome {
    if (s.failed) return 'failed';
    if (s.kind === 'resume') return 'completed'; // RESUMING→STOP succeeded: the driver accepted the data
    if (from !== 'STOP_COPY') return 'cancelled'; // PRE_COPY(_P2P) → RUNNING(_P2P)
    if (s.eof) return 'completed';
    return s.dataSeen ? 'failed' : 'unknown'; // not drained; or data traffic not traced
  }

  /**
   * Session bookkeeping for the arcs of one successful SET (or QEMU-reported change) from
   * `from` along `path`. The state change itself is done by the caller.
   */
  function walkSessions(from: V2StateName, path: readonly V2StateName[], ts: bigint | undefined, src: Source, serial: number | undefined, dataFd: number | undefined): void {
    let prev = from;
    let closing: { s: SessionBuilder; outcome: SessionOutcome; why: Why } | undefined;
    for (const next of path) {
      const starts = v2ArcStartsSession(prev, next);
      if (session !== undefined && v2ArcEndsSession(prev, next)) {
        const outcome = outcomeAt(session, prev);
        closing = { s: session, outcome, why: whyAt(session, prev, outcome, src) };
        session = undefined;
        closing.s.states.push(next);
      } else if (starts !== undefined) {
        if (closing !== undefined) finishSession(closing.s, closing.outcome, ts, closing.why);
        closing = undefined;
        if (session !== undefined) finishSession(session, session.failed ? 'failed' : 'unknown', ts, { text: 'a new data session started before this one ended', src });
        startSession(starts, ts, src, next, serial, dataFd);
      } else if (session !== undefined) session.states.push(next);
      else if (closing !== undefined) closing.s.states.push(next);
      prev = next;
    }
    if (closing !== undefined) finishSession(closing.s, closing.outcome, ts, closing.why);
  }

  /** A change to `to` whose arcs are unknown (state before unknown): settle sessions by what `to` is. */
  function jumpSessions(to: number, ts: bigint | undefined, src: Source, serial: number | undefined, dataFd: number | undefined): void {
    const name = v2Name(to);
    if (session !== undefined) {
      const stays = session.kind === 'save' ? v2InSavingGroup(to) : to === V2_RESUMING;
      if (stays && serial === undefined) {
        session.states.push(name);
        return;
      }
      session.states.push(name);
      finishSession(session, session.failed || to === V2_ERROR ? 'failed' : 'unknown', ts, { text: to === V2_ERROR ? 'the device entered ERROR' : `the device was next seen in ${name}; the arcs between are not shown`, src });
    }
    if (serial !== undefined) startSession(to === V2_RESUMING ? 'resume' : 'save', ts, src, name, serial, dataFd);
  }

  /** A SET whose requested state is known (from the struct or from QEMU's announcement). */
  function applySet(o: OpBase, requested: number, result: V2SetStateOp['result'], dataFd: number | undefined, serial: number | undefined, valueSource: 'ioctl' | 'qemu'): void {
    const certainty: Certainty = valueSource === 'ioctl' ? 'known' : 'inferred';
    const from = rec.current().raw;
    // A successful SET proves the device supports the requested state (inferred flags' lower bound).
    if (result.ok === true && requested >= 0 && requested < V2_STATES.length) shownFlags |= flagsShownBy(requested);
    const fl = flags();
    const pred = from === undefined ? undefined : predictSet(from, requested, fl);
    const path = pred?.walk.kind === 'path' ? pred.walk.states : undefined;
    const entry: V2WriteEntry = {
      tsNs: o.tsNs,
      fromRaw: from,
      toRaw: requested,
      result: result.ok === undefined ? 'unknown' : result.ok ? 'ok' : 'failed',
      errno: result.errno,
      readBackRaw: undefined,
      src: o.src,
      path: path === undefined ? undefined : [...path],
      pathFlags: path === undefined ? undefined : fl.source,
      dataFd,
      valueSource,
    };
    const writeId = rec.addWrite(entry);
    if (result.ok === true) {
      const fromName = from === undefined ? undefined : V2_STATES[from];
      arriving = arrive(requested, certainty, o);
      if (fromName !== undefined && path !== undefined) walkSessions(fromName, path, o.tsNs, o.src, serial, dataFd);
      else jumpSessions(requested, o.tsNs, o.src, serial, dataFd);
      arriving = undefined;
      setState(requested, certainty, o.tsNs, o.src);
      return;
    }
    if (result.ok === false) {
      if (pred?.rejectCertain === true) return; // rejected by the core: nothing changed
      if (session !== undefined) {
        session.failed = true;
        session.failure ??= { text: `SET ${v2Name(from)} → ${v2Name(requested)} failed (${result.errno !== undefined ? `errno ${result.errno}` : 'no errno'})`, src: o.src };
      }
      lastFailed = writeId;
      session?.states.push('UNKNOWN');
    }
    // Failed (state anywhere on the path or ERROR) or exit not seen: unknown until shown.
    setState(undefined, 'unknown', o.tsNs, o.src);
  }

  /** A state shown by a GET or by QEMU, with no SET of ours to explain it. */
  function shown(raw: number, certainty: Certainty, o: OpBase): void {
    if (lastFailed !== undefined) {
      rec.patchWrite(lastFailed, { readBackRaw: raw });
      lastFailed = undefined;
    }
    if (raw === rec.current().raw) {
      setState(raw, certainty, o.tsNs, o.src);
      return;
    }
    arriving = arrive(raw, certainty, o);
    jumpSessions(raw, o.tsNs, o.src, undefined, undefined);
    arriving = undefined;
    setState(raw, certainty, o.tsNs, o.src);
  }

  /** Returns true when `q` was consumed as the explanation of the unseen call. */
  function settleUnexplained(q: QemuEventOp | undefined): boolean {
    const u = unexplained;
    if (u === undefined) return false;
    unexplained = undefined;
    const fact = q === undefined ? undefined : v2QemuFact(q);
    if (fact?.kind === 'now') {
      applySet(u, fact.state, { ok: true, ret: 0, errno: undefined }, undefined, undefined, 'qemu');
      return true;
    }
    setState(undefined, 'unknown', u.tsNs, u.src);
    return false;
  }

  function snapshotWith(tl: readonly StateInterval[], ws: readonly StateWrite[], ss: readonly MigrationSession[], sessionsDropped = 0): DeviceTimeline {
    const fl = flags();
    const device = rec.deviceTimeline({ ref, comm, protocol: 'v2', region: undefined, resets, timeline: tl, writes: ws, sessions: ss, sessionsDropped });
    return { ...device, v2Flags: fl.value, v2FlagsSource: fl.source };
  }

  function v2(o: V2Op): void {
    switch (o.op) {
      case 'v2-feature': {
        if (o.call.flags !== undefined) return; // a PROBE, another feature, or a malformed call
        // The struct was not seen: it may have been a SET.
        if (announced !== undefined) {
          const requested = announced.next === 'new' ? announced.newState : announced.recoverState;
          if (o.result.ok === false && announced.next === 'new' && announced.recoverState !== undefined && announced.recoverState !== V2_ERROR) announced.next = 'recover';
          else announced = undefined;
          if (requested !== undefined) {
            applySet(o, requested, o.result, undefined, undefined, 'qemu');
            return;
          }
        }
        if (o.result.ok === true) unexplained = o;
        return;
      }
      case 'v2-mig-flags':
        if (o.result.ok === true && o.migFlags !== undefined) learnedFlags = o.migFlags;
        return;
      case 'v2-set-state':
        announced = undefined;
        applySet(o, o.requested, o.result, o.dataFd, o.session, 'ioctl');
        return;
      case 'v2-get-state':
        if (o.result.ok === true && o.state !== undefined) shown(o.state, 'known', o);
        return;
      case 'v2-data-size':
        // A refused MIG_DATA_SIZE is what makes QEMU fall back to its 100 GiB sentinel (field-2026.md).
        if (session?.kind === 'save' && o.result.ok === false) convergenceSizeUnknown(session.conv, { src: o.src, what: `MIG_DATA_SIZE GET failed (errno ${o.result.errno ?? '?'}): the driver could not say its stop-copy size` });
        if (session !== undefined && o.result.ok === true && o.stopCopyLength !== undefined) {
          session.stopCopyLength = o.stopCopyLength;
          if (session.kind === 'save') convergenceEstimate(session.conv, o.tsNs, o.stopCopyLength, 'mig-data-size', o.src, `MIG_DATA_SIZE GET: stop_copy_length ${o.stopCopyLength}`);
        }
        return;
      case 'v2-precopy-info': {
        const s = session;
        if (s === undefined || s.serial !== o.session || o.result.ok !== true || o.initialBytes === undefined || o.dirtyBytes === undefined) return;
        if (s.pending.length < opts.maxPendingSamples) {
          s.pending.push({ tsNs: o.tsNs, bytes: o.initialBytes + o.dirtyBytes });
          s.precopy.push({ tsNs: o.tsNs, initialBytes: o.initialBytes, dirtyBytes: o.dirtyBytes });
        } else s.pendingDropped++;
        if (s.kind === 'save') convergenceSample(s.conv, o.tsNs, o.initialBytes + o.dirtyBytes, o.src, `PRECOPY_INFO: initial ${o.initialBytes} + dirty ${o.dirtyBytes}`);
        opts.onPending?.(ref.id, 'v2', o.initialBytes + o.dirtyBytes, o.tsNs);
        return;
      }
      case 'v2-data': {
        if (o.result.ok !== true || o.result.ret === undefined) {
          if (session !== undefined && session.serial === o.session) session.dataSeen = true;
          return;
        }
        const n = o.result.ret;
        rec.addBytes(n);
        const s = session;
        if (s === undefined || s.serial !== o.session) return;
        s.dataSeen = true;
        if (n > 0) {
          s.bytes += n;
          s.iterations++;
          convergenceBytes(s.conv, n);
        } else if (!o.write && rec.current().raw === V2_STOP_COPY) {
          s.eof = true;
          s.eofSrc ??= o.src;
        }
        return;
      }
      case 'v2-data-close':
      case 'v2-device-access':
        return;
      default:
        assertNever(o);
    }
  }

  return {
    current(): { raw: number | undefined; certainty: Certainty } {
      const cur = rec.current();
      return { raw: cur.raw, certainty: cur.certainty };
    },
    v2(o: V2Op): void {
      settleUnexplained(undefined);
      note(o);
      v2(o);
    },
    open(o: OpenOp): void {
      settleUnexplained(undefined);
      note(o);
      // A freshly opened device is RUNNING (spec §5.3: default state; §7). Inferred.
      setState(V2_RUNNING, 'inferred', o.tsNs, o.src);
    },
    close(o: CloseOp): void {
      settleUnexplained(undefined);
      note(o);
      accrueNotRunning(o.tsNs);
      if (session !== undefined) finishSession(session, session.failed ? 'failed' : 'incomplete', o.tsNs, { text: 'the device was closed mid-session', src: o.src });
      rec.finish(o.tsNs, 'fd-closed');
      ended = true;
    },
    reset(o: ResetOp): void {
      settleUnexplained(undefined);
      note(o);
      announced = undefined;
      if (o.result.ok !== true) {
        if (o.result.ok === undefined) setState(undefined, 'unknown', o.tsNs, o.src);
        return;
      }
      resets++;
      lastFailed = undefined;
      if (session !== undefined) {
        session.states.push('RUNNING');
        finishSession(session, 'failed', o.tsNs, { text: 'the device was reset (VFIO_DEVICE_RESET) during the session', src: o.src });
      }
      // Reset returns the device to RUNNING (spec §5.3); inferred until a GET shows it.
      if (rec.current().raw === V2_RUNNING) setState(undefined, 'unknown', o.tsNs, o.src);
      setState(V2_RUNNING, 'inferred', o.tsNs, o.src);
    },
    qemu(o: QemuEventOp): void {
      const consumed = settleUnexplained(o);
      note(o);
      if (session?.kind === 'save') convergenceQemu(session.conv, o);
      if (consumed) return;
      const fact = v2QemuFact(o);
      if (fact === undefined) return;
      if (fact.kind === 'request') {
        announced = { newState: fact.newState, recoverState: fact.recoverState, next: 'new' };
        return;
      }
      announced = undefined;
      const cur = rec.current();
      if (cur.raw === fact.state) {
        if (cur.certainty === 'unknown') setState(fact.state, 'inferred', o.tsNs, o.src);
        return;
      }
      shown(fact.state, 'inferred', o);
    },
    gap(ts: bigint | undefined, src: Source): void {
      settleUnexplained(undefined);
      const cur = rec.current();
      if (ended || (cur.raw === undefined && cur.src === undefined)) return;
      setState(undefined, 'unknown', ts, src);
    },
    end(lastTs: bigint | undefined): void {
      settleUnexplained(undefined);
      if (ended) return;
      if (session !== undefined) {
        accrueNotRunning(lastTs);
        finishSession(session, session.failed ? 'failed' : 'incomplete', lastTs, { text: 'the trace ended mid-session', src: undefined });
      }
      rec.finish(lastTs, 'trace-ended');
      ended = true;
    },
    snapshot(): DeviceTimeline {
      return snapshotWith(rec.intervals(), rec.writes(), sessions.items, sessions.dropped());
    },
  };
}

export type V2DeviceState = ReturnType<typeof createV2DeviceState>;
