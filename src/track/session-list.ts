// A device's finished sessions, optionally keeping only the latest `max` (older ones are
// counted, not kept: DeviceTimeline.sessionsDropped). `analyze` keeps every session (the
// report, JSON and export need them all); `watch` hands each session out as it ends
// (onSessionEnd: printed, exported) and keeps the latest few, so a VMM that migrates for
// months does not grow watch's memory (bench/watch-soak.ts measures it).
//
// With a spill file (analyze, report), every session is kept but the older ones live in the
// file (spilled-list.ts): memory holds the latest few per device (issue 13).

import type { MigrationSession } from './types.js';
import type { SpillFile } from './spill-file.js';
import { createSpilledList } from './spilled-list.js';

export interface SessionList {
  push(s: MigrationSession): void;
  /** The sessions kept, oldest first. */
  readonly items: readonly MigrationSession[];
  dropped(): number;
}

export interface SessionSpill {
  readonly file: SpillFile;
  /** Sessions a device keeps in memory before the older ones move to the file. */
  readonly after?: number;
}

export function createSessionList(max: number | undefined, spill?: SessionSpill): SessionList {
  if (max === undefined && spill !== undefined) {
    const list = createSpilledList<MigrationSession>(spill.file, spill.after);
    return { push: (s) => list.push(s), items: list.view, dropped: () => 0 };
  }
  const items: MigrationSession[] = [];
  let dropped = 0;
  return {
    push(s) {
      items.push(s);
      // One at a time: the list is at most max + 1 long, so shift() stays cheap.
      if (max !== undefined && items.length > max) {
        items.shift();
        dropped++;
      }
    },
    items,
    dropped: () => dropped,
  };
}
