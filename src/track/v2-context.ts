// What the checker knows about one protocol-v2 device between ops (spec §5): the last
// known state and how it became known, the migration flags (learned or the lower bound
// the states seen prove), and the data sessions by the decoder's serial. The checker
// updates it after every rule has seen the op (applyV2), as device-context.ts does for v1.
// Bounded: a few fields plus the last MAX_SESSIONS sessions.

import type { AnyDeviceOp, V2Op, V2SetStateOp } from '../decode/ops.js';
import { v2QemuFact } from '../decode/v2-qemu.js';
import { qemuMigrationAbandoned } from '../decode/qemu-facts.js';
import { v2ArcEndsSession, v2ArcStartsSession, v2StateFromRaw, v2Walk, type V2Walk } from '../protocol/v2-arcs.js';
import { MIG_FLAG_P2P, MIG_FLAG_PRE_COPY, MIG_FLAG_STOP_COPY, V2_STATES, type V2StateName } from '../protocol/v2.js';
import type { Source } from '../record/types.js';
import { flagsFor, flagsShownBy, predictSet, rawOf, v2InSavingGroup, V2_ERROR, V2_RESUMING, V2_RUNNING, V2_STOP_COPY, type V2Flags } from './v2-model.js';
import { isHardFailure } from './op-text.js';
import type { Evidence } from './evidence.js';
import { v2Evidence, v2OpText } from './v2-op-text.js';

export type V2How = 'set' | 'get' | 'qemu' | 'reset' | 'open';

export interface V2Known {
  readonly raw: number;
  readonly how: V2How;
  readonly src: Source;
  readonly what: string;
  readonly tsNs: bigint | undefined;
  readonly gapSerial: number;
}

export interface V2Session {
  /** The decoder's serial of the data fd (undefined when the SET's reply was not seen). */
  readonly serial: number | undefined;
  readonly kind: 'save' | 'resume';
  readonly dataFd: number | undefined;
  readonly start: Evidence;
  readonly gapSerialAtStart: number;
  /** What ended it: a session-ending arc, a reset, ERROR, or a new session (spec §5.3). */
  ended: Evidence | undefined;
  /** It ended by a successful SET (its session-ending arc or a change out of its group), not a reset or ERROR. */
  endedBySet: boolean;
  /** read() returned 0 in STOP_COPY: end of stream. */
  eof: boolean;
  /** Any data op of the session was seen (the tracer recorded data traffic). */
  dataSeen: boolean;
  /** A data op's result was not seen: byte totals are not exact. */
  inexact: boolean;
  readBytes: bigint;
  writeBytes: bigint;
  /** A SET failed (hard) during the session. */
  failed: boolean;
  /** The session's last successful PRECOPY_INFO reply with initial_bytes (spec §5.4; V2-PRECOPY-INFO reads it). */
  precopyInfo: { readonly initialBytes: bigint; readonly dirtyBytes: bigint | undefined; readonly flags: number | undefined; readonly ev: Evidence; readonly gapSerial: number } | undefined;
}

export interface V2ContextFields {
  /** A v2 op was seen for this device. */
  isV2: boolean;
  state: V2Known | undefined;
  learnedFlags: { readonly value: number; readonly src: Source } | undefined;
  /** Flags the states seen prove (lower bound). */
  shownFlags: number;
  /** The open data session, if any. */
  session: V2Session | undefined;
  /** Recent sessions, newest last (for ops on older data fds). */
  sessions: V2Session[];
  /** A successful FEATURE call with an unseen struct, settled by QEMU's next event (see v2-device-state.ts). */
  unexplained: AnyDeviceOp | undefined;
  /** QEMU ~9.x announced the SET it is about to issue. */
  announced: { readonly newState: number; readonly recoverState: number | undefined; next: 'new' | 'recover' } | undefined;
  /** QEMU's migration notifier said the migration is failing or cancelled, since the current session started: abandonment. */
  abandoned: Evidence | undefined;
  /** The last SET MIG_DEVICE_STATE, when it failed (a later SET or a reset forgets it). */
  failedSet: V2FailedSet | undefined;
  /**
   * The first hard-failed SET (not one the core certainly rejected, which moves nothing) not
   * yet followed by a successful SET, a reset or a GET showing ERROR: the VMM owes a
   * recovery (spec §5.2 [L518], QEMU's recover state §5.6).
   */
  recoveryOwed: { readonly o: V2SetStateOp; readonly gapSerial: number } | undefined;
}

/** A failed SET and what it may have done (spec §5.2 [L518], §5.5 [LHEAD]). */
export interface V2FailedSet {
  readonly o: V2SetStateOp;
  /** The state before the SET, when known. */
  readonly before: V2Known | undefined;
  readonly gapSerial: number;
  /** Not EAGAIN. */
  readonly hard: boolean;
  /**
   * Where the device may be now: the original state, any state on the kernel's path for
   * (before, requested) under every flag set the trace allows, or ERROR. Empty when the
   * state before is unknown.
   */
  readonly mayBeIn: readonly number[];
  /** A successful GET came after the failure (the first one is what V2-FAIL-STATE judges). */
  readonly getSeen: boolean;
}

const MAX_SESSIONS = 8;

export function newV2Context(): V2ContextFields {
  return { isV2: false, state: undefined, learnedFlags: undefined, shownFlags: 0, session: undefined, sessions: [], unexplained: undefined, announced: undefined, abandoned: undefined, failedSet: undefined, recoveryOwed: undefined };
}

export function v2Flags(v: Readonly<V2ContextFields>): V2Flags {
  return flagsFor(v.learnedFlags?.value, v.shownFlags);
}

/** The valid flag combinations of §5.2 (STOP_COPY always). */
const VALID_FLAGS = [MIG_FLAG_STOP_COPY, MIG_FLAG_STOP_COPY | MIG_FLAG_P2P, MIG_FLAG_STOP_COPY | MIG_FLAG_PRE_COPY, MIG_FLAG_STOP_COPY | MIG_FLAG_P2P | MIG_FLAG_PRE_COPY];

/**
 * Every flag set the device may have: the learned one, or each valid combination that
 * includes what the states seen prove. Rules that depend on the path fire only when all
 * of these agree (never a verdict from a guessed flag set).
 */
export function possibleFlags(v: Readonly<V2ContextFields>): readonly number[] {
  if (v.learnedFlags !== undefined) return [v.learnedFlags.value];
  const lb = v.shownFlags | MIG_FLAG_STOP_COPY;
  return VALID_FLAGS.filter((f) => (f & lb) === lb);
}

/** The walks a SET of `requested` from `cur` takes under each possible flag set. */
export function possibleWalks(v: Readonly<V2ContextFields>, cur: number, requested: number): readonly V2Walk[] {
  const c = v2StateFromRaw(cur);
  if (c === undefined) return [];
  return possibleFlags(v).map((f) => v2Walk(c, requested, f));
}

export function pathStartsSession(from: V2StateName, path: readonly V2StateName[]): 'save' | 'resume' | undefined {
  let prev = from;
  let out: 'save' | 'resume' | undefined;
  for (const next of path) {
    out = v2ArcStartsSession(prev, next) ?? out;
    prev = next;
  }
  return out;
}

export function pathEndsSession(from: V2StateName, path: readonly V2StateName[]): boolean {
  let prev = from;
  for (const next of path) {
    if (v2ArcEndsSession(prev, next)) return true;
    prev = next;
  }
  return false;
}

function known(o: AnyDeviceOp, raw: number, how: V2How, gapSerial: number, what?: string): V2Known {
  return { raw, how, src: o.src, what: what ?? v2OpText(o), tsNs: o.tsNs, gapSerial };
}

function addSession(v: V2ContextFields, s: V2Session): void {
  // An abandonment concerns the migration it was announced in: a new session (the next
  // migration attempt) starts without it, so V2-SAVE-DRAIN watches it again.
  v.abandoned = undefined;
  v.session = s;
  v.sessions.push(s);
  if (v.sessions.length > MAX_SESSIONS) v.sessions.shift();
}

function endSession(v: V2ContextFields, why: Evidence, bySet = false): void {
  if (v.session === undefined) return;
  v.session.ended = why;
  v.session.endedBySet = bySet;
  v.session = undefined;
}

export function sessionBySerial(v: Readonly<V2ContextFields>, serial: number): V2Session | undefined {
  for (let i = v.sessions.length - 1; i >= 0; i--) if (v.sessions[i]?.serial === serial) return v.sessions[i];
  return undefined;
}

/** A SET whose requested state is known: update state and sessions. */
function applySet(v: V2ContextFields, o: AnyDeviceOp, requested: number, result: V2SetStateOp['result'], serial: number | undefined, dataFd: number | undefined, how: V2How, gaps: number): void {
  const before = v.state;
  if (result.ok === true) {
    if (requested >= 0 && requested < V2_STATES.length) v.shownFlags |= flagsShownBy(requested);
    const from = before === undefined ? undefined : v2StateFromRaw(before.raw);
    const walks = before === undefined ? [] : possibleWalks(v, before.raw, requested);
    const paths = walks.flatMap((w) => (w.kind === 'path' ? [w.states] : []));
    const ends = from !== undefined && paths.length > 0 && paths.every((p) => pathEndsSession(from, p));
    const ev = { src: o.src, what: v2OpText(o) };
    if (v.session !== undefined) {
      const stays = v.session.kind === 'save' ? v2InSavingGroup(requested) : requested === V2_RESUMING;
      if (ends || !stays || serial !== undefined) endSession(v, ev, requested !== V2_ERROR);
    }
    if (serial !== undefined) {
      addSession(v, {
        serial,
        kind: requested === V2_RESUMING ? 'resume' : 'save',
        dataFd,
        start: ev,
        gapSerialAtStart: gaps,
        ended: undefined,
        endedBySet: false,
        eof: false,
        dataSeen: false,
        inexact: false,
        readBytes: 0n,
        writeBytes: 0n,
        failed: false,
        precopyInfo: undefined,
      });
    } else if (from !== undefined && v.session === undefined && paths.length > 0 && paths.every((p) => pathStartsSession(from, p) !== undefined)) {
      // A session started but its fd was not seen (values invisible): still a session.
      const kind = pathStartsSession(from, paths[0] ?? []) ?? 'save';
      addSession(v, { serial: undefined, kind, dataFd: undefined, start: ev, gapSerialAtStart: gaps, ended: undefined, endedBySet: false, eof: false, dataSeen: false, inexact: true, readBytes: 0n, writeBytes: 0n, failed: false, precopyInfo: undefined });
    }
    v.state = known(o, requested, how, gaps);
    if (requested === V2_ERROR) endSession(v, ev);
    return;
  }
  if (result.ok === false) {
    const pred = before === undefined ? undefined : predictSet(before.raw, requested, v2Flags(v));
    if (pred?.rejectCertain === true) return;
    if (isHardFailure(result) && v.session !== undefined) v.session.failed = true;
  }
  v.state = undefined;
}

/** Before applySet moves the state: what a failed SET leaves to judge (failedSet, recoveryOwed). */
function noteSetOutcome(v: V2ContextFields, o: V2SetStateOp, gaps: number): void {
  if (o.result.ok === true) v.recoveryOwed = undefined;
  if (o.result.ok !== false) {
    v.failedSet = undefined;
    return;
  }
  const before = v.state;
  const hard = isHardFailure(o.result);
  const rejectCertain = before !== undefined && predictSet(before.raw, o.requested, v2Flags(v))?.rejectCertain === true;
  const mayBeIn = new Set<number>();
  if (before !== undefined) {
    mayBeIn.add(before.raw).add(V2_ERROR);
    for (const w of possibleWalks(v, before.raw, o.requested)) if (w.kind === 'path') for (const s of w.states) mayBeIn.add(rawOf(s));
  }
  v.failedSet = { o, before, gapSerial: gaps, hard, mayBeIn: [...mayBeIn], getSeen: false };
  if (hard && !rejectCertain) v.recoveryOwed ??= { o, gapSerial: gaps };
}

/** A state shown by a GET or QEMU. */
function applyShown(v: V2ContextFields, o: AnyDeviceOp, raw: number, how: V2How, gaps: number): void {
  v.shownFlags |= raw >= 0 && raw < V2_STATES.length ? flagsShownBy(raw) : 0;
  if (v.session !== undefined) {
    const stays = v.session.kind === 'save' ? v2InSavingGroup(raw) : raw === V2_RESUMING;
    if (!stays) endSession(v, { src: o.src, what: v2OpText(o) });
  }
  v.state = known(o, raw, how, gaps);
}

/**
 * Before rules see `o`: an unexplained FEATURE call waits exactly one op (QEMU 8.0 traces
 * set_state right after a successful SET). Unless `o` is that event, the call may have
 * been a SET of anything: the state is unknown from it on.
 */
export function settleV2Before(v: V2ContextFields, o: AnyDeviceOp): void {
  if (v.unexplained === undefined) return;
  if (o.op === 'qemu' && v2QemuFact(o)?.kind === 'now') return; // applyV2 takes it as that SET
  v.unexplained = undefined;
  v.state = undefined;
}

/** Update the v2 context after `o` (rules have already seen it). */
export function applyV2(v: V2ContextFields, o: AnyDeviceOp, gaps: number): void {
  const u = v.unexplained;
  v.unexplained = undefined;
  if (u !== undefined) {
    const fact = o.op === 'qemu' ? v2QemuFact(o) : undefined;
    if (fact?.kind === 'now') {
      applySet(v, u, fact.state, { ok: true, ret: 0, errno: undefined }, undefined, undefined, 'qemu', gaps);
      return;
    }
    v.state = undefined;
  }
  switch (o.op) {
    case 'open':
      v.state = known(o, V2_RUNNING, 'open', gaps, 'device opened (starts in RUNNING)');
      return;
    case 'reset':
      v.announced = undefined;
      if (o.result.ok !== false) v.failedSet = undefined;
      if (o.result.ok === true) v.recoveryOwed = undefined;
      if (o.result.ok === true) {
        endSession(v, { src: o.src, what: v2OpText(o) });
        v.state = known(o, V2_RUNNING, 'reset', gaps, `${v2OpText(o)} (returns the device to RUNNING)`);
      } else if (o.result.ok === undefined) v.state = undefined;
      return;
    case 'qemu': {
      const fact = v2QemuFact(o);
      // The notifier's status (string ≤ 8.x, MigrationEventType number 9.0+; qemu-facts.ts).
      if (qemuMigrationAbandoned(o)) v.abandoned = { src: o.src, what: v2OpText(o) };
      if (fact === undefined) return;
      v.isV2 = true;
      if (fact.kind === 'request') {
        v.announced = { newState: fact.newState, recoverState: fact.recoverState, next: 'new' };
        return;
      }
      v.announced = undefined;
      if (v.state?.raw !== fact.state) applyShown(v, o, fact.state, 'qemu', gaps);
      return;
    }
    case 'close':
    case 'region':
    case 'v1-state-write':
    case 'v1-state-read':
    case 'v1-field':
    case 'v1-bad-access':
    case 'v1-data':
      return;
    default:
      applyV2Op(v, o, gaps);
  }
}

function applyV2Op(v: V2ContextFields, o: V2Op, gaps: number): void {
  v.isV2 = true;
  switch (o.op) {
    case 'v2-feature': {
      if (o.call.flags !== undefined) return;
      const a = v.announced;
      if (a !== undefined) {
        const requested = a.next === 'new' ? a.newState : a.recoverState;
        if (o.result.ok === false && a.next === 'new' && a.recoverState !== undefined && a.recoverState !== V2_ERROR) a.next = 'recover';
        else v.announced = undefined;
        if (requested !== undefined) applySet(v, o, requested, o.result, undefined, undefined, 'qemu', gaps);
        return;
      }
      if (o.result.ok === true) v.unexplained = o;
      return;
    }
    case 'v2-mig-flags':
      if (o.result.ok === true && o.migFlags !== undefined) v.learnedFlags = { value: o.migFlags, src: o.src };
      return;
    case 'v2-set-state':
      v.announced = undefined;
      noteSetOutcome(v, o, gaps);
      applySet(v, o, o.requested, o.result, o.session, o.dataFd, 'set', gaps);
      return;
    case 'v2-get-state':
      if (o.result.ok === true && o.state !== undefined) {
        if (v.failedSet !== undefined && !v.failedSet.getSeen) v.failedSet = { ...v.failedSet, getSeen: true };
        if (o.state === V2_ERROR) v.recoveryOwed = undefined;
        applyShown(v, o, o.state, 'get', gaps);
      }
      return;
    case 'v2-data': {
      const s = sessionBySerial(v, o.session);
      if (s === undefined) return;
      s.dataSeen = true;
      if (o.result.ok === undefined || o.result.ret === undefined) {
        s.inexact = true;
        return;
      }
      if (o.result.ok !== true) return;
      const n = BigInt(o.result.ret);
      if (o.write) s.writeBytes += n;
      else {
        s.readBytes += n;
        if (n === 0n && v.state?.raw === V2_STOP_COPY && s === v.session) s.eof = true;
      }
      return;
    }
    case 'v2-precopy-info': {
      const s = sessionBySerial(v, o.session);
      if (s !== undefined && o.result.ok === true && o.initialBytes !== undefined) {
        s.precopyInfo = { initialBytes: o.initialBytes, dirtyBytes: o.dirtyBytes, flags: o.flags, ev: v2Evidence(o), gapSerial: gaps };
      }
      return;
    }
    case 'v2-data-size':
    case 'v2-data-close':
    case 'v2-device-access':
      return;
    default: {
      const never: never = o;
      void never;
    }
  }
}

export { v2Evidence };
