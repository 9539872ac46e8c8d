// What `analyze --export` keeps of each session beyond the Analysis: the session's own
// intervals and state writes as the tracker handed them over when it ended (track
// onSessionEnd), for the devices whose lists the per-device cap cut short. Below the cap
// the device's lists hold every session completely and nothing is kept here; past it, the
// export takes each session's spans from here (export-analysis.ts SessionSlices), so no
// state span is lost to the cap (issue 13: 100,000 sessions exported 220,000 spans, not
// 400,000, and said "nothing lost").

import type { Source } from '../record/types.js';
import type { DeviceTimeline, MigrationSession, StateInterval, StateWrite } from '../track/types.js';
import type { SessionSlices } from '../export/export-analysis.js';

interface Slice {
  readonly timeline: readonly StateInterval[];
  readonly stateWrites: readonly StateWrite[];
}

export interface SessionSliceKeeper extends SessionSlices {
  /** Pass as the pipeline's onSessionEnd. */
  readonly onSessionEnd: (device: DeviceTimeline, session: MigrationSession) => void;
  /** Sessions kept (for tests and the bench). */
  readonly kept: () => number;
}

export function createSessionSliceKeeper(): SessionSliceKeeper {
  const bySrc = new WeakMap<Source, Slice>();
  const bySession = new WeakMap<MigrationSession, Slice>();
  /**
   * Each device's latest session, not kept yet: the state it ended in is still open when it
   * ends, and the cap may drop that interval later, so it is kept once any later session
   * of the device finds the cap reached.
   */
  const latest = new Map<string, { session: MigrationSession; slice: Slice }>();
  let kept = 0;
  const keep = (session: MigrationSession, slice: Slice): void => {
    if (session.src !== undefined) bySrc.set(session.src, slice);
    bySession.set(session, slice);
    kept++;
  };
  return {
    onSessionEnd(device, session) {
      const slice: Slice = { timeline: device.timeline, stateWrites: device.stateWrites };
      const cut = device.intervalsDropped > 0 || (device.stateWritesDropped ?? 0) > 0;
      const prev = latest.get(device.id);
      if (cut) {
        // The previous session stays where keep() put it.
        latest.delete(device.id);
        keep(session, slice);
        return;
      }
      // Below the cap only the latest session of a device is held (one per device).
      if (prev !== undefined) {
        if (prev.session.src !== undefined) bySrc.delete(prev.session.src);
        bySession.delete(prev.session);
        kept--;
      }
      latest.set(device.id, { session, slice });
      keep(session, slice);
    },
    get(session) {
      return (session.src !== undefined ? bySrc.get(session.src) : undefined) ?? bySession.get(session);
    },
    kept: () => kept,
  };
}
