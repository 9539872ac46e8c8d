// A device's finished sessions, optionally keeping only the latest `max` (older ones are
// counted, not kept: DeviceTimeline.sessionsDropped). `analyze` keeps every session (the
// report, JSON and export need them all); `watch` hands each session out as it ends
// (onSessionEnd: printed, exported) and keeps the latest few, so a VMM that migrates for
// months does not grow watch's memory (bench/watch-soak.ts measures it).
//
// With a spill file (analyze, report), every session is kept but the older ones live in the
// file (spilled-list.ts): memory holds the latest few per device (issue 13).

import type { MigrationSession, SessionOutcome } from './types.js';
import type { SpillFile } from './spill-file.js';
import { createSpilledList, totalsOf, type SpillFold } from './spilled-list.js';
import { windowHead } from './stop-copy-window.js';

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
  /** Rows per block of the intervals and state writes spilled to the same file (spilled-rows.ts; tests make it small). */
  readonly rowBlock?: number;
}

export function createSessionList(max: number | undefined, spill?: SessionSpill): SessionList {
  if (max === undefined && spill !== undefined) {
    // Each session's stop-copy window kept before it in the file, for downtime-shares.ts.
    const list = createSpilledList(spill.file, spill.after, SESSION_TOTALS, windowHead);
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

/** What the summaries count over a device's sessions (analysis/summary.ts, report/html/summary.ts, report/terminal.ts). */
export interface SessionTotals {
  count: number;
  byKind: Record<MigrationSession['kind'], number>;
  outcomes: Record<SessionOutcome, number>;
  bytesByKind: Record<MigrationSession['kind'], number>;
  notRunningNs: bigint;
  maxNotRunningNs: bigint;
  pendingDropped: number;
  /** The earliest and latest time a session shows (its start, end and pending_bytes samples); undefined when none has one. */
  minNs: bigint | undefined;
  maxNs: bigint | undefined;
}

const SESSION_TOTALS: SpillFold<MigrationSession, SessionTotals> = {
  init: () => ({
    count: 0,
    byKind: { save: 0, resume: 0 },
    outcomes: { completed: 0, failed: 0, cancelled: 0, incomplete: 0, unknown: 0 },
    bytesByKind: { save: 0, resume: 0 },
    notRunningNs: 0n,
    maxNotRunningNs: 0n,
    pendingDropped: 0,
    minNs: undefined,
    maxNs: undefined,
  }),
  add(t, s) {
    t.count++;
    t.byKind[s.kind]++;
    t.outcomes[s.outcome]++;
    t.bytesByKind[s.kind] += s.bytes;
    t.notRunningNs += s.notRunningNs;
    if (s.notRunningNs > t.maxNotRunningNs) t.maxNotRunningNs = s.notRunningNs;
    t.pendingDropped += s.pendingDropped;
    const see = (ts: bigint | undefined): void => {
      if (ts === undefined) return;
      if (t.minNs === undefined || ts < t.minNs) t.minNs = ts;
      if (t.maxNs === undefined || ts > t.maxNs) t.maxNs = ts;
    };
    see(s.startNs);
    see(s.endNs);
    for (const p of s.pending) see(p.tsNs);
  },
};

/**
 * The totals of a device's sessions: kept as they were spilled when the list is a spill
 * view (no read of the file), else counted now.
 */
export function sessionTotals(sessions: readonly MigrationSession[]): SessionTotals {
  return totalsOf(sessions, SESSION_TOTALS);
}
