// What the tracker tells its observer (the checker) besides the ops themselves: the facts
// it derived from them, in the order they happened. Rules read these instead of keeping
// their own copy of a device's state (DESIGN.md "One model of each device"), so a finding
// and the timeline it cites come from the same step of the same model.

import type { AnyDeviceOp } from '../decode/ops.js';
import type { Source } from '../record/types.js';
import type { DeviceContext, KnownState } from './device-view.js';
import type { V1StateReadOp, V1StateWriteOp } from '../decode/ops.js';
import type { MigrationEnd } from './migration-episode.js';
import type { DeviceTimeline, MigrationSession } from './types.js';

export type TrackerFact =
  /** The device's migration episode ended (migration-episode.ts says when and why). */
  | { readonly kind: 'migration-end'; readonly end: MigrationEnd }
  /** A save or resume session ended, with its outcome and the reason for it. */
  | { readonly kind: 'session-end'; readonly device: DeviceTimeline; readonly session: MigrationSession }
  /**
   * A failed device_state write and the first read after it that showed a value (v1, spec
   * §2.3 rule 3), with what was known of the state before the write.
   */
  | {
      readonly kind: 'read-back';
      readonly write: V1StateWriteOp;
      readonly read: V1StateReadOp;
      readonly before: KnownState | undefined;
      /** Events were lost before the write since the state was last established. */
      readonly beforeUncertain: boolean;
      /** The lost-events serial at the write (a gap since means the read-back may not be the first). */
      readonly gapSerial: number;
    }
  /** The device was closed, or the trace ended with it open: its view starts afresh after this. */
  | { readonly kind: 'device-finished'; readonly reason: 'close' | 'end-of-trace'; readonly src: Source | undefined };

/**
 * A traced process is gone and the tracker no longer holds its devices (host mode:
 * TrackerOptions.evictGoneProcesses). Not a fact about one device but about a process, so
 * it has its own observer hook: a rule that indexes devices by process or by name drops
 * that process's entries from this, and keeps no list of devices of its own to find them.
 *
 * Ordering: the decoder closes every fd of the process just before its process-exit op,
 * so each device's close (its migration-end, session-end and device-finished facts, every
 * finding of that device life and of its siblings) is handled, and onProcessGone has run
 * (watch exports what the process ended), before this is sent.
 */
export interface ProcessEvicted {
  readonly kind: 'process-evicted';
  readonly pid: number;
  /** The evicted devices' views as the tracker last held them (each finished: closed). */
  readonly devices: readonly DeviceContext[];
  /**
   * Names (device ids without a "@..." suffix) of the evicted devices that a device of
   * another process still has open: the other end of a local migration may still pair with
   * what this process left (the destination QEMU opens its devices at start-up, before the
   * stream begins, so it is open when the source exits).
   */
  readonly namesInUse: ReadonlySet<string>;
  readonly tsNs: bigint | undefined;
  readonly src: Source;
}

/** A device id without the "@pidN" / "@file" suffix the tracker and the pipeline add to tell two devices of one name apart. */
export function baseName(id: string): string {
  const at = id.indexOf('@');
  return at > 0 ? id.slice(0, at) : id;
}

export interface TrackerObserver {
  /** A device op, with the device's view as it was BEFORE the op. */
  op(o: AnyDeviceOp, view: DeviceContext): void;
  /** A fact, right after the op (or the end of the trace) that produced it. */
  fact(f: TrackerFact, view: DeviceContext): void;
  /** A gone process's devices were evicted (after every fact of theirs). */
  processEvicted?(f: ProcessEvicted): void;
}
