// The tracker's model of one device as rules read it (DESIGN.md "One model of each
// device"): its last known device_state and how it came to be known, the most recent
// read, the migration region, whether events were lost since the state was last seen,
// the migration episode (migration-episode.ts) and the v2 context (v2-context.ts). Only
// the tracker writes it (tracker.ts), in the same step that moves the device's timeline
// (device-state.ts), so a rule's view and the timeline are one story; rules see it as it
// was BEFORE the op they are handed. Bounded: a fixed number of fields per device.

import { assertNever } from '../protocol/assert-never.js';
import type { AnyDeviceOp, DeviceOp, DeviceRef, V1DataOp, V1FieldOp, V1StateWriteOp } from '../decode/ops.js';
import type { V2ContextFields } from './v2-context.js';
import { v1IsError, v1IsSaving, v1IsValid, V1_RESUMING, V1_RUNNING, V1_STATE_MASK } from '../protocol/v1.js';
import type { Source } from '../record/types.js';
import type { MigrationState } from './migration-episode.js';
import { isEagain, isHardFailure, opText } from './op-text.js';
import { qemuSetState } from '../decode/qemu-facts.js';
import type { Evidence } from './evidence.js';
import type { Protocol } from './types.js';

/**
 * How the state became known.
 * read: a device_state read with a seen value. write: a successful write of a seen value.
 * qemu: QEMU's vfio_migration_set_state event (traced after a successful write, §3.3).
 * reset: a successful VFIO_DEVICE_RESET, which returns the device to RUNNING (§2.6).
 * open: the default state after open (§2.4 flow 0; §7).
 * The last two are what the protocol promises, not what the trace showed.
 */
export type StateHow = 'read' | 'write' | 'qemu' | 'reset' | 'open';

export interface KnownState {
  readonly raw: number;
  readonly how: StateHow;
  readonly src: Source;
  /** What the record shows, for evidence lists. */
  readonly what: string;
  readonly tsNs: bigint | undefined;
  /** The checker's gap count when this became known (see gapSince). */
  readonly gapSerial: number;
  /** The device's device_state write count when this became known (see writtenSince). */
  readonly writeSerial: number;
}

/** A data-path field read of the current save round. */
export interface FieldRead {
  readonly op: V1FieldOp;
  /** Undefined when the tracer did not show the value. */
  readonly value: bigint | undefined;
  readonly gapSerial: number;
}

/**
 * One v1 save round (spec §2.5 [L58]: pending_bytes → data_offset → data_size → data), as
 * the tracker follows it while the device is not known to be outside saving. A pending_bytes
 * read begins a round; data_offset and data_size are the first reads of each in the round
 * (a failed read is not one). A device_state write, a data_size write or a reset starts a
 * new buffer (offset and size forgotten); a reset, the open or a known state outside
 * saving forgets the round. V1-SAVE-ORDER, V1-SAVE-STABLE, V1-EMPTY-ITER and V1-DATA-OFFSET
 * read it.
 */
export interface SaveRound {
  readonly pending: FieldRead | undefined;
  readonly dataOffset: FieldRead | undefined;
  readonly dataSize: FieldRead | undefined;
}

export const NO_ROUND: SaveRound = { pending: undefined, dataOffset: undefined, dataSize: undefined };

/** One v1 resume chunk: from its data_offset read to the data_size write that closes it. */
export interface ResumeChunk {
  /** The data_offset read that began the chunk (also its identity). */
  readonly offset: V1FieldOp;
  /** data_offset's value, undefined when the read failed or the tracer did not show it. */
  readonly base: bigint | undefined;
  readonly gapSerial: number;
  /** Bytes of the chunk's successful data writes. */
  readonly bytes: bigint;
  readonly writes: number;
  /** A data write of the chunk failed or its result was not seen: bytes is not exact. */
  readonly bytesUnknown: boolean;
}

/**
 * The v1 resume sequence (spec §2.5 [L58]: data_offset read → data writes → data_size
 * write, per chunk) as the tracker follows it while the device is not known to be outside
 * resuming. Ops are taken in the state known before them, as rules see them.
 * V1-RESUME-ORDER reads it.
 */
export interface ResumeView {
  /** The state was last known outside resuming (so an entry into resuming can be seen). */
  readonly offSeen: boolean;
  /** The entry into resuming was seen (undefined outside resuming, or when it was not shown). */
  readonly entry: { readonly gapSerial: number } | undefined;
  /** The last chunk boundary (a data_size write) since the state was last known outside resuming. */
  readonly boundary: { readonly gapSerial: number; readonly op: V1FieldOp } | undefined;
  /** The chunk in progress (since its data_offset read). */
  readonly chunk: ResumeChunk | undefined;
}

export const NO_EAGAIN: DeviceContextFields['eagain'] = { state: undefined, data: undefined };

export const NO_RESUME: ResumeView = { offSeen: false, entry: undefined, boundary: undefined, chunk: undefined };

/**
 * Consecutive EAGAIN failures of one kind of access (spec §6.1 V1-EAGAIN): device_state
 * writes (reads in between do not break the streak), or data-path accesses (pending_bytes,
 * data_offset, data_size, the data section). Any other result of the same kind ends it.
 */
export interface EagainStreak {
  readonly count: number;
  readonly first: DeviceOp;
  readonly gapSerial: number;
}

export interface RegionInfo {
  readonly offset: bigint;
  readonly size: bigint | undefined;
  readonly src: Source;
}

/** Counts GapOps seen so far; shared by every device of one tracker (one input). */
export interface GapCounter {
  count: number;
}

export interface DeviceContextFields {
  /** The tracker's key for the device (id, pid and, without a pid, file; see deviceKey). */
  readonly key: string;
  readonly device: DeviceRef;
  /** The protocol the tracker decided for the device ('unknown' until a v1 or v2 op shows it). */
  protocol: Protocol;
  region: RegionInfo | undefined;
  /** Last known device_state; undefined when the trace cannot tell. */
  state: KnownState | undefined;
  /** Most recent device_state read with a seen value (reset forgets it). */
  lastRead: KnownState | undefined;
  /** device_state writes (and mis-sized writes over it) so far, whatever their result. */
  writeSerial: number;
  /** The last state known to be one of the five valid v1 states (spec §2.2). */
  lastValid: KnownState | undefined;
  /**
   * Since lastValid became known, a write could have led to the error state 110b: it failed
   * hard (not EAGAIN), its result or value was not seen, it wrote 110b, or a mis-sized write
   * over device_state went through (V1-ERROR-ORIGIN reads this; spec §2.7 [REV]).
   */
  errorPossible: boolean;
  /**
   * The last device_state write failed hard (not EAGAIN) and the VMM has not read
   * device_state (nor reset the device) since (spec §2.3 rule 3: it should read it back).
   */
  unreadFailure: { readonly write: V1StateWriteOp; readonly gapSerial: number } | undefined;
  /** The v1 save round in progress (see SaveRound). */
  round: SaveRound;
  /**
   * The entry into saving was seen: the state was known outside saving and is now saving
   * (possibly through unknown states between). Undefined outside saving, or when the save
   * was already under way when the trace showed it.
   */
  saveEntry: { readonly gapSerial: number } | undefined;
  /** The state was last known outside saving (so an entry into saving can be seen). */
  offSeen: boolean;
  /** The v1 resume sequence in progress (see ResumeView). */
  resume: ResumeView;
  /** The current EAGAIN streaks (see EagainStreak); undefined when the last access of the kind did not fail with EAGAIN. */
  eagain: { readonly state: EagainStreak | undefined; readonly data: EagainStreak | undefined };
  /**
   * Events were lost since the state was last re-established by a seen read, a
   * successful write of a seen value, or QEMU's set_state event.
   */
  stateUncertain: boolean;
  readonly gaps: Readonly<GapCounter>;
  migration: MigrationState;
  /** Protocol v2: state, flags and data sessions (v2-context.ts). */
  readonly v2: V2ContextFields;
}

/** What rules see: read-only. */
export type DeviceContext = Readonly<Omit<DeviceContextFields, 'v2'>> & { readonly v2: Readonly<V2ContextFields> };

export function stateEvidence(k: KnownState, note?: string): Evidence {
  return { src: k.src, what: note === undefined ? k.what : `${k.what} (${note})` };
}

/** True when a device_state write (of any result) came after `k` became known. */
export function writtenSince(ctx: DeviceContext, k: KnownState): boolean {
  return ctx.writeSerial !== k.writeSerial;
}

/** True when a gap (lost events) happened after `serial` was taken from ctx.gaps.count. */
export function gapSince(ctx: DeviceContext, serial: number): boolean {
  return ctx.gaps.count !== serial;
}

/**
 * The key that separates devices. The device id is the name when known, and the two ends
 * of a migration traced on two hosts share it, so the pid is part of the key; without a
 * pid (ftrace text without tgid) the file is, so two hosts' files never merge.
 */
export function deviceKey(o: AnyDeviceOp): string {
  return o.device.pid !== undefined ? `${o.device.id}\u0000${o.device.pid}` : `${o.device.id}\u0000file:${o.src.file}`;
}

function knownAs(ctx: DeviceContextFields, o: DeviceOp, raw: number, how: StateHow, gaps: number): KnownState {
  const what = how === 'open' ? 'device opened (starts in RUNNING, 001b)' : how === 'reset' ? `${opText(o)} (returns the device to RUNNING, 001b)` : opText(o);
  return { raw, how, src: o.src, what, tsNs: o.tsNs, gapSerial: gaps, writeSerial: ctx.writeSerial };
}

/** Update what is known about device_state after `o` (rules have already seen it). */
export function applyOp(ctx: DeviceContextFields, o: DeviceOp): void {
  const before = ctx.state;
  applyState(ctx, o);
  noteErrorPossible(ctx, o);
  const s = ctx.state;
  if (s !== undefined && s !== ctx.lastValid && v1IsValid(s.raw)) {
    ctx.lastValid = s;
    ctx.errorPossible = false;
  }
  if (before === undefined || v1IsSaving(before.raw)) ctx.round = nextRound(ctx, ctx.round, o);
  if (before === undefined || v1IsResuming(before.raw)) ctx.resume = nextResume(ctx, ctx.resume, o);
  ctx.eagain = nextEagain(ctx, o);
  if (s === undefined) return;
  if (!v1IsSaving(s.raw)) {
    ctx.round = NO_ROUND;
    ctx.saveEntry = undefined;
    ctx.offSeen = true;
  } else if (ctx.offSeen) {
    ctx.saveEntry = { gapSerial: ctx.gaps.count };
    ctx.offSeen = false;
  }
  if (!v1IsResuming(s.raw)) {
    if (ctx.resume !== OFF_RESUME) ctx.resume = OFF_RESUME;
  } else if (ctx.resume.offSeen) {
    // What was followed while the state was unknown (a chunk begun) stays.
    ctx.resume = { ...ctx.resume, offSeen: false, entry: { gapSerial: ctx.gaps.count } };
  }
}

const OFF_RESUME: ResumeView = { ...NO_RESUME, offSeen: true };

function v1IsResuming(raw: number): boolean {
  return (raw & V1_STATE_MASK) === V1_RESUMING;
}

/** The resume sequence after `o`, taken in the state before it (see ResumeView). */
function nextResume(ctx: DeviceContextFields, r: ResumeView, o: DeviceOp): ResumeView {
  if (o.op === 'v1-field' && o.field === 'data_offset' && !o.write) {
    return { ...r, chunk: { offset: o, base: o.result.ok === true ? o.value : undefined, gapSerial: ctx.gaps.count, bytes: 0n, writes: 0, bytesUnknown: false } };
  }
  if (o.op === 'v1-data' && o.write) {
    const c = r.chunk;
    if (c === undefined) return r;
    const ok = o.result.ok === true;
    return { ...r, chunk: { ...c, writes: c.writes + 1, bytes: ok ? c.bytes + BigInt(o.size) : c.bytes, bytesUnknown: c.bytesUnknown || !ok } };
  }
  if (o.op === 'v1-field' && o.field === 'data_size' && o.write) return { ...r, chunk: undefined, boundary: { gapSerial: ctx.gaps.count, op: o } };
  return r;
}

/** Which EAGAIN streak an op belongs to (see EagainStreak), undefined for ops of neither kind. */
export function eagainPath(o: DeviceOp): { readonly path: 'state' | 'data'; readonly op: V1StateWriteOp | V1FieldOp | V1DataOp } | undefined {
  if (o.op === 'v1-state-write') return { path: 'state', op: o };
  if (o.op === 'v1-field' || o.op === 'v1-data') return { path: 'data', op: o };
  return undefined;
}

/** The EAGAIN streaks after `o` (see EagainStreak). */
function nextEagain(ctx: DeviceContextFields, o: DeviceOp): DeviceContextFields['eagain'] {
  const e = ctx.eagain;
  const kind = eagainPath(o);
  if (kind === undefined) return e;
  const { path } = kind;
  const prev = e[path];
  const next = !isEagain(kind.op.result) ? undefined : prev === undefined ? { count: 1, first: o, gapSerial: ctx.gaps.count } : { ...prev, count: prev.count + 1 };
  return next === prev ? e : path === 'state' ? { ...e, state: next } : { ...e, data: next };
}

/** The save round after `o` (see SaveRound). */
function nextRound(ctx: DeviceContextFields, r: SaveRound, o: DeviceOp): SaveRound {
  switch (o.op) {
    case 'v1-field': {
      if (o.write) return o.field === 'data_size' ? { ...r, dataOffset: undefined, dataSize: undefined } : r;
      if (o.result.ok === false) return r;
      const read: FieldRead = { op: o, value: o.result.ok === true ? o.value : undefined, gapSerial: ctx.gaps.count };
      if (o.field === 'pending_bytes') return { pending: read, dataOffset: undefined, dataSize: undefined };
      if (o.field === 'data_offset' && r.dataOffset === undefined) return { ...r, dataOffset: read };
      if (o.field === 'data_size' && r.dataSize === undefined) return { ...r, dataSize: read };
      return r;
    }
    case 'v1-state-write':
      return r.dataOffset === undefined && r.dataSize === undefined ? r : { ...r, dataOffset: undefined, dataSize: undefined };
    case 'reset':
    case 'open':
      return NO_ROUND;
    default:
      return r;
  }
}

/** Whether `o` could lead to 110b legitimately, or unseen (the errorPossible field). */
function noteErrorPossible(ctx: DeviceContextFields, o: DeviceOp): void {
  if (o.op === 'v1-state-write') {
    if (isHardFailure(o.result) || o.result.ok === undefined || o.value === undefined || (o.result.ok === true && v1IsError(o.value))) ctx.errorPossible = true;
  } else if (o.op === 'v1-bad-access' && o.write && o.fields.includes('device_state') && o.result.ok !== false) ctx.errorPossible = true;
}

function applyState(ctx: DeviceContextFields, o: DeviceOp): void {
  const gaps = ctx.gaps.count;
  const known = (op: DeviceOp, raw: number, how: StateHow, g: number): KnownState => knownAs(ctx, op, raw, how, g);
  switch (o.op) {
    case 'v1-state-write':
      ctx.writeSerial++;
      ctx.unreadFailure = isHardFailure(o.result) ? { write: o, gapSerial: gaps } : undefined;
      if (o.result.ok === true && o.value !== undefined) {
        ctx.state = known(o, o.value, 'write', gaps);
        ctx.stateUncertain = false;
      } else if (o.result.ok !== false || (isHardFailure(o.result) && !(ctx.state !== undefined && v1IsError(ctx.state.raw)))) {
        // Success with an unseen value, or an unseen result: the state is unknown now. So it
        // is after a hard failure: the driver keeps the previous state or reports 110b
        // (§2.3 rule 3), and only the read-back shows which (V1-FAIL-READBACK checks it).
        // EAGAIN is transient and leaves the state as it was (§6.1 V1-EAGAIN); so does a
        // refused write in 110b, which only a reset leaves (§2.7 [REV]).
        ctx.state = undefined;
      }
      return;
    case 'v1-state-read':
      ctx.unreadFailure = undefined;
      if (o.result.ok === true && o.value !== undefined) {
        ctx.state = known(o, o.value, 'read', gaps);
        ctx.lastRead = ctx.state;
        ctx.stateUncertain = false;
      }
      return;
    case 'reset':
      ctx.unreadFailure = undefined;
      if (o.result.ok === true) {
        ctx.state = known(o, V1_RUNNING, 'reset', gaps);
        ctx.lastRead = undefined;
      } else if (o.result.ok === undefined) {
        ctx.state = undefined;
        ctx.lastRead = undefined;
      }
      return;
    case 'open':
      // The device's story starts here: events lost before the open cannot concern it.
      ctx.state = known(o, V1_RUNNING, 'open', gaps);
      ctx.lastRead = undefined;
      ctx.stateUncertain = false;
      return;
    case 'region':
      ctx.region = { offset: o.offset, size: o.size, src: o.src };
      return;
    case 'qemu': {
      const s = qemuSetState(o);
      if (s !== undefined) {
        ctx.state = known(o, s, 'qemu', gaps);
        ctx.stateUncertain = false;
      }
      return;
    }
    case 'v1-bad-access':
      if (o.write && o.fields.includes('device_state')) ctx.writeSerial++;
      // A mis-sized write over device_state that the driver did not refuse (V1-WIDTH)
      // may have changed the state in a way nobody can tell.
      if (o.write && o.fields.includes('device_state') && o.result.ok !== false) ctx.state = undefined;
      return;
    case 'v1-field':
    case 'v1-data':
    case 'close':
      return;
    default:
      assertNever(o);
  }
}
