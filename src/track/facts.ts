// What the tracker tells its observer (the checker) besides the ops themselves: the facts
// it derived from them, in the order they happened. Rules read these instead of keeping
// their own copy of a device's state (DESIGN.md "One model of each device"), so a finding
// and the timeline it cites come from the same step of the same model.

import type { AnyDeviceOp } from '../decode/ops.js';
import type { Source } from '../record/types.js';
import type { DeviceContext } from './device-view.js';
import type { MigrationEnd } from './migration-episode.js';
import type { DeviceTimeline, MigrationSession } from './types.js';

export type TrackerFact =
  /** The device's migration episode ended (migration-episode.ts says when and why). */
  | { readonly kind: 'migration-end'; readonly end: MigrationEnd }
  /** A save or resume session ended, with its outcome and the reason for it. */
  | { readonly kind: 'session-end'; readonly device: DeviceTimeline; readonly session: MigrationSession }
  /** The device was closed, or the trace ended with it open: its view starts afresh after this. */
  | { readonly kind: 'device-finished'; readonly reason: 'close' | 'end-of-trace'; readonly src: Source | undefined };

export interface TrackerObserver {
  /** A device op, with the device's view as it was BEFORE the op. */
  op(o: AnyDeviceOp, view: DeviceContext): void;
  /** A fact, right after the op (or the end of the trace) that produced it. */
  fact(f: TrackerFact, view: DeviceContext): void;
}
