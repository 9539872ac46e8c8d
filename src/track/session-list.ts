// A device's finished sessions, optionally keeping only the latest `max` (older ones are
// counted, not kept: DeviceTimeline.sessionsDropped). `analyze` keeps every session (the
// report, JSON and export need them all); `watch` hands each session out as it ends
// (onSessionEnd: printed, exported) and keeps the latest few, so a VMM that migrates for
// months does not grow watch's memory (bench/watch-soak.ts measures it).

import type { MigrationSession } from './types.js';

export interface SessionList {
  push(s: MigrationSession): void;
  /** The sessions kept, oldest first. */
  readonly items: readonly MigrationSession[];
  dropped(): number;
}

export function createSessionList(max: number | undefined): SessionList {
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
