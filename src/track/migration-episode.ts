// When a device is "in a migration", derived from its state values and QEMU's events.
// Shared by V1-FAIL-RECOVER, V1-SAVE-DRAIN and V1-GROUP-RECOVER so that they agree on
// when a migration starts, fails and ends.
//
// Start: the known state enters SAVING (010b, 011b) or RESUMING (100b), or a write that
//   tries to enter one fails (a failed save_setup is still a migration that failed).
// Failure: the first failed device_state write with an errno other than EAGAIN (EAGAIN
//   is transient, spec §6.1 V1-EAGAIN).
// End:
//   - the known state is RUNNING (001b) again (resume done, or recovery after a failure);
//   - QEMU resumed the VM: vfio_vmstate_change running 1, traced after its write (§3.3);
//   - QEMU's migration state notifier with failed / cancelled / cancelling / completed.
//     QEMU traces that event BEFORE the recovery write it makes in the same callback
//     (§3.3: the notifier writes 001b), so the end waits: it is settled at the device's
//     next op that is not part of a device_state set sequence (read, write, QEMU's
//     set_state event), or earlier when the device reaches RUNNING;
//   - the device is closed, or the trace ends.
// A save that reached STOP (000b) stays "in a migration" until one of these: the source
// may still have to recover if the migration fails after stop-and-copy.

import type { DeviceOp } from '../decode/ops.js';
import { V1_RESUMING, V1_SAVING, V1_STATE_MASK } from '../protocol/v1.js';
import type { Source } from '../record/types.js';
import type { DeviceContext, KnownState } from './device-view.js';
import { isHardFailure, opText, resultText } from './op-text.js';
import { qemuMigrationEnding, qemuSetState, qemuVmRunning } from '../decode/qemu-facts.js';

export interface MigrationFailure {
  readonly src: Source;
  readonly tsNs: bigint | undefined;
  /** The state before the failed write, when known. */
  readonly fromRaw: number | undefined;
  readonly toRaw: number | undefined;
  readonly errno: number;
  readonly gapSerial: number;
  /** The failed write as a record shows it, and its result in words (for evidence lists). */
  readonly what: string;
  readonly resultText: string;
}

/** After a migration's failed transition (spec §2.7 [REV]: the VMM should write 001b). */
export interface AfterFailure {
  /** The state was shown after the failure: a read with a seen value, or a successful write of one. */
  stateSeen: boolean;
  /** A later device_state write's value or result was not seen (or a mis-sized write over it). */
  unseenWrite: boolean;
  /** The VMM tried to write RUNNING (001b), whatever the driver answered. */
  triedRunning: boolean;
}

function noteAfterFailure(f: AfterFailure, o: DeviceOp): void {
  if (o.op === 'v1-state-write') {
    if (o.value !== undefined && (o.value & V1_STATE_MASK) === 1) f.triedRunning = true;
    else if (o.value === undefined || o.result.ok === undefined) f.unseenWrite = true;
    if (o.result.ok === true && o.value !== undefined) f.stateSeen = true;
  } else if (o.op === 'v1-state-read') {
    if (o.result.ok === true && o.value !== undefined) f.stateSeen = true;
  } else if (o.op === 'v1-bad-access' && o.write && o.fields.includes('device_state')) f.unseenWrite = true;
}

function freshAfterFailure(): AfterFailure {
  return { stateSeen: false, unseenWrite: false, triedRunning: false };
}

export interface ActiveMigration {
  readonly kind: 'save' | 'resume';
  readonly startSrc: Source;
  readonly startNs: bigint | undefined;
  readonly gapSerialAtStart: number;
  /** First hard failure of a device_state write during the migration. */
  failure: MigrationFailure | undefined;
  /** What the trace shows after that failure (V1-FAIL-RECOVER reads it); set with `failure`. */
  afterFailure: AfterFailure | undefined;
  /** The op by which the migration took the device out of RUNNING (known 001b → other). */
  movedOutOfRunning: { readonly src: Source; readonly what: string; readonly tsNs: bigint | undefined } | undefined;
  /** A notifier said the migration ended; settled at the next op outside a set sequence. */
  ending: { readonly status: string; readonly src: Source; readonly tsNs: bigint | undefined } | undefined;
}

export interface MigrationState {
  active: ActiveMigration | undefined;
}

export interface MigrationEnd {
  readonly migration: ActiveMigration;
  /** Human-readable: why the migration is over. */
  readonly reason: string;
  /** True when the device is back in RUNNING (so no recovery is owed). */
  readonly backToRunning: boolean;
  readonly src: Source | undefined;
  readonly tsNs: bigint | undefined;
}

export function newMigrationState(): MigrationState {
  return { active: undefined };
}

function lowBits(raw: number): number {
  return raw & V1_STATE_MASK;
}

function isMigrationState(raw: number): boolean {
  const low = lowBits(raw);
  return low === V1_SAVING || low === (V1_SAVING | 1) || low === V1_RESUMING;
}

/** Ops that belong to a device_state set sequence (read, write, read-back; §3.3). */
function inSetSequence(o: DeviceOp): boolean {
  return o.op === 'v1-state-read' || o.op === 'v1-state-write' || (o.op === 'qemu' && qemuSetState(o) !== undefined);
}

/** Before rules see `o`: settle a notifier-announced end when `o` is past the recovery sequence. */
export function settleBefore(m: MigrationState, o: DeviceOp): MigrationEnd | undefined {
  const a = m.active;
  if (a === undefined || a.ending === undefined || inSetSequence(o)) return undefined;
  m.active = undefined;
  return {
    migration: a,
    reason: `QEMU's migration state notifier reported "${a.ending.status}"`,
    backToRunning: false,
    src: a.ending.src,
    tsNs: a.ending.tsNs,
  };
}

/**
 * After the device context applied `o` (prev is the known state before it): start,
 * record failures, or end the migration.
 */
export function updateAfter(ctx: DeviceContext, o: DeviceOp, prev: KnownState | undefined): MigrationEnd | undefined {
  const m = ctx.migration;
  const now = ctx.state;
  const changed = now !== undefined && now !== prev;

  if (m.active === undefined) {
    // A read that only confirms a migration state the device was already known to be in
    // (after a migration ended without recovery) does not start a new one.
    if (changed && isMigrationState(now.raw) && (prev === undefined || !isMigrationState(prev.raw))) {
      m.active = {
        kind: lowBits(now.raw) === V1_RESUMING ? 'resume' : 'save',
        startSrc: o.src,
        startNs: o.tsNs,
        gapSerialAtStart: ctx.gaps.count,
        failure: undefined,
        afterFailure: undefined,
        // Moved out of RUNNING by the migration: from a known RUNNING, or by the VMM's own
        // write into a migration state (its value seen, or QEMU's set_state event) when the
        // state before was not visible (ftrace sees no read values): either way the VMM owes
        // the device its way back.
        movedOutOfRunning:
          (prev !== undefined && lowBits(prev.raw) === 1) || (prev === undefined && (now.how === 'write' || now.how === 'qemu'))
            ? { src: o.src, what: opText(o), tsNs: o.tsNs }
            : undefined,
        ending: undefined,
      };
      return undefined;
    }
    if (o.op === 'v1-state-write' && o.value !== undefined && isMigrationState(o.value) && isHardFailure(o.result)) {
      m.active = {
        kind: lowBits(o.value) === V1_RESUMING ? 'resume' : 'save',
        startSrc: o.src,
        startNs: o.tsNs,
        gapSerialAtStart: ctx.gaps.count,
        failure: failureOf(ctx, o, prev),
        afterFailure: freshAfterFailure(),
        movedOutOfRunning: undefined,
        ending: undefined,
      };
    }
    return undefined;
  }

  const a = m.active;
  if (a.afterFailure !== undefined) noteAfterFailure(a.afterFailure, o);
  if (o.op === 'v1-state-write' && isHardFailure(o.result) && a.failure === undefined) {
    a.failure = failureOf(ctx, o, prev);
    a.afterFailure = freshAfterFailure();
  }
  if (changed && prev !== undefined && lowBits(prev.raw) === 1 && lowBits(now.raw) !== 1 && a.movedOutOfRunning === undefined) {
    a.movedOutOfRunning = { src: o.src, what: opText(o), tsNs: o.tsNs };
  }
  if (changed && lowBits(now.raw) === 1) {
    m.active = undefined;
    return { migration: a, reason: 'the device is back in RUNNING', backToRunning: true, src: o.src, tsNs: o.tsNs };
  }
  if (o.op === 'qemu') {
    if (qemuVmRunning(o)) {
      m.active = undefined;
      return { migration: a, reason: 'QEMU resumed the VM (vfio_vmstate_change running 1)', backToRunning: false, src: o.src, tsNs: o.tsNs };
    }
    const status = qemuMigrationEnding(o);
    if (status !== undefined && a.ending === undefined) a.ending = { status, src: o.src, tsNs: o.tsNs };
  }
  return undefined;
}

/** The device is closed or the trace ends: any migration ends with it. */
export function finishMigration(m: MigrationState, reason: string, src: Source | undefined, tsNs: bigint | undefined): MigrationEnd | undefined {
  const a = m.active;
  if (a === undefined) return undefined;
  m.active = undefined;
  if (a.ending !== undefined) {
    return { migration: a, reason: `QEMU's migration state notifier reported "${a.ending.status}"`, backToRunning: false, src: a.ending.src, tsNs: a.ending.tsNs };
  }
  return { migration: a, reason, backToRunning: false, src, tsNs };
}

function failureOf(ctx: DeviceContext, o: DeviceOp & { op: 'v1-state-write' }, prev: KnownState | undefined): MigrationFailure {
  return {
    src: o.src,
    tsNs: o.tsNs,
    fromRaw: prev?.raw,
    toRaw: o.value,
    errno: o.result.errno ?? 0,
    gapSerial: ctx.gaps.count,
    what: opText(o),
    resultText: resultText(o.result),
  };
}
