// The intervals and state writes of one device, capped, and the not-running time of the
// interval in progress: the bookkeeping the v1 and v2 state machines (device-state.ts,
// v2-device-state.ts) share, so that each of them keeps only its protocol's rules (which
// states exist, when a session starts or ends). The recorder knows no protocol: the state
// names and what "not running" means are handed to it. The kept intervals and writes are
// columns (interval-store.ts, write-store.ts: issue 13), read back as plain objects.

import type { DeviceRef } from '../decode/ops.js';
import { extended, type Building } from '../record/extended.js';
import type { Source } from '../record/types.js';
import { createIntervalStore } from './interval-store.js';
import { smallFirst } from './small-first-store.js';
import type { SpillFile } from './spill-file.js';
import { spilledRows } from './spilled-rows.js';
import type { DeviceRegion, DeviceTimeline, MigrationSession, Protocol, StateInterval, StateWrite } from './types.js';
import { createWriteStore } from './write-store.js';

export type Certainty = StateInterval['certainty'];

/** The interval in progress (not yet in the timeline); mutated in place, as bytes are added on every data op (the hot path). */
interface Current {
  raw: number | undefined;
  certainty: Certainty;
  startNs: bigint | undefined;
  src: Source | undefined;
  bytes: number;
}

export type CurrentInterval = Readonly<Current>;

/**
 * A state write as the machines build it. Its value (v1: an unseen write filled by QEMU's
 * event) or its read-back arrives with a later op: the machines keep the write's id
 * (addWrite) and fill it in with patchWrite, as the recorder no longer keeps this object.
 */
export interface WriteEntry {
  tsNs: bigint | undefined;
  fromRaw: number | undefined;
  toRaw: number | undefined;
  result: StateWrite['result'];
  errno: number | undefined;
  readBackRaw: number | undefined;
  src: Source;
}

export interface TimelineRecorderOptions<W extends WriteEntry = WriteEntry> {
  /** Per-device cap on intervals, and separately on state writes (tracker's maxIntervalsPerDevice). */
  readonly maxIntervals: number;
  /** The spec's name of a raw state ("UNKNOWN" for undefined). */
  readonly stateName: (raw: number | undefined) => string;
  /** True for the states in which the device does not run (v1 §2.2 RUNNING bit clear; v2 §5.3). */
  readonly isNotRunning: (raw: number) => boolean;
  /** A write as the timeline shows it, from the fields every protocol has (v2 adds its own after them, on base itself: it is made for this write). */
  readonly writeOf?: (base: StateWrite, w: W) => StateWrite;
  /** Where the kept intervals and writes go, all but their latest blocks (spilled-rows.ts): analyze and report, with the sessions' spill file. */
  readonly spill?: { readonly file: SpillFile; readonly rowBlock?: number };
}

/** The patchable fields of a write: what a later op fills in. */
export type WritePatch = Partial<Pick<WriteEntry, 'toRaw' | 'readBackRaw'>>;

/** What a DeviceTimeline holds besides the recorder's intervals and writes. */
export interface TimelineParts {
  readonly ref: DeviceRef;
  readonly comm: string | undefined;
  readonly protocol: Protocol;
  readonly region: DeviceRegion | undefined;
  readonly resets: number;
  /** All intervals, or a session's slice of them (onSessionEnd). */
  readonly timeline: readonly StateInterval[];
  readonly writes: readonly StateWrite[];
  readonly sessions: readonly MigrationSession[];
  /** Finished sessions the device's session list no longer holds (session-list.ts). */
  readonly sessionsDropped?: number;
}

function nothingYet(): Current {
  return { raw: undefined, certainty: 'unknown', startNs: undefined, src: undefined, bytes: 0 };
}

export function createTimelineRecorder<W extends WriteEntry>(opts: TimelineRecorderOptions<W>) {
  const spill = opts.spill;
  const intervals = smallFirst(spill === undefined ? createIntervalStore : () => spilledRows(createIntervalStore, spill.file, 'interval', spill.rowBlock), 'interval');
  let intervalsDropped = 0;
  const writes = smallFirst(spill === undefined ? createWriteStore : () => spilledRows(createWriteStore, spill.file, 'state write', spill.rowBlock), 'state write');
  let writesDropped = 0;
  /** Writes added so far, kept or not: the next write's id. */
  let writeCount = 0;
  let cur: Current = nothingYet();
  // Past the cap, the items of the session in progress are still held for the session's own
  // slice (onSessionEnd): the device's list is cut short, the session never is, so every
  // session still gets all its state spans (watch --export, analyze --export). Bounded by
  // the cap too (a hostile session that never ends); what even that drops is counted.
  // Held writes are the entries themselves (few: past the cap, in one session), patched in place.
  let held: { intervals: StateInterval[]; writes: W[]; firstWriteId: number } | undefined;
  /** The latest write, its id, and whether the cap dropped it (a session starts with it). */
  let lastWrite: W | undefined;
  let lastWriteId = -1;
  let lastWriteDropped = false;

  /** The interval in progress as it would read closed at `ts` (not marked openAtEnd). */
  function currentUntil(ts: bigint | undefined): StateInterval {
    return { state: opts.stateName(cur.raw), raw: cur.raw, startNs: cur.startNs, endNs: ts, certainty: cur.certainty, bytes: cur.bytes, src: cur.src };
  }

  function closeCurrent(ts: bigint | undefined, openAtEnd: boolean): void {
    if (cur.startNs === undefined && cur.raw === undefined && cur.src === undefined) return; // nothing seen yet
    // Past the cap the interval is counted, so a report can say the timeline is cut short.
    if (intervals.length >= opts.maxIntervals) {
      intervalsDropped++;
      if (held !== undefined && held.intervals.length < opts.maxIntervals) held.intervals.push(closedUntil(ts, openAtEnd));
      return;
    }
    intervals.push(closedUntil(ts, openAtEnd));
  }

  /** The current interval closed at ts, marked when the trace ended in it (set on the interval, not spread: record/extended.ts). */
  function closedUntil(ts: bigint | undefined, openAtEnd: boolean): StateInterval {
    const iv: Building<StateInterval> = currentUntil(ts);
    if (openAtEnd) iv.openAtEnd = true;
    return iv;
  }

  function baseWrite(w: WriteEntry): StateWrite {
    return {
      tsNs: w.tsNs,
      fromRaw: w.fromRaw,
      from: opts.stateName(w.fromRaw),
      toRaw: w.toRaw,
      to: opts.stateName(w.toRaw),
      result: w.result,
      errno: w.errno,
      readBackRaw: w.readBackRaw,
      src: w.src,
    };
  }

  function stateWrite(w: W): StateWrite {
    const base = baseWrite(w);
    return opts.writeOf === undefined ? base : opts.writeOf(base, w);
  }

  return {
    current(): CurrentInterval {
      return cur;
    },
    /** Intervals kept so far: the timeline's list, read when the device's timeline is taken (snapshot). */
    intervals(): readonly StateInterval[] {
      return intervals.view;
    },
    /** Writes kept so far, as the timeline shows them. */
    writes(): readonly StateWrite[] {
      return writes.view;
    },
    /** How many intervals and writes are kept (where a session's own start), without taking the lists' views. */
    intervalCount: (): number => intervals.length,
    writeCount: (): number => writes.length,
    /** The kept intervals and writes from index i on, as new arrays (a session's slice). */
    intervalsFrom: (i: number): StateInterval[] => intervals.from(i),
    writesFrom: (i: number): StateWrite[] => writes.from(i),
    currentUntil,
    /** Bytes moved through the data path while in the current state. */
    addBytes(n: number): void {
      cur.bytes += n;
    },
    /**
     * A state seen that does not open a new interval: the current state again (a better
     * source upgrades its certainty in place), or unknown after unknown (nothing to add).
     * Returns false when the caller should account the interval and call `enter`.
     */
    absorbs(raw: number | undefined, certainty: Certainty): boolean {
      if (raw === cur.raw && raw !== undefined) {
        if (certainty === 'known') cur.certainty = 'known';
        return true;
      }
      return raw === undefined && cur.raw === undefined && cur.certainty === 'unknown' && cur.src !== undefined;
    },
    /** Correct the current interval's value and certainty without a transition (v1 reserved bits). */
    correct(raw: number, certainty: Certainty): void {
      cur.raw = raw;
      cur.certainty = certainty;
    },
    /** Close the current interval at `ts` and open one in `raw`. */
    enter(raw: number | undefined, certainty: Certainty, ts: bigint | undefined, src: Source): void {
      closeCurrent(ts, false);
      cur = { raw, certainty, startNs: ts, src, bytes: 0 };
    },
    /**
     * Close the current interval for good: the fd was closed (nothing is current after
     * it), or the trace ended with the device still in it (marked openAtEnd).
     */
    finish(ts: bigint | undefined, how: 'fd-closed' | 'trace-ended'): void {
      closeCurrent(ts, how === 'trace-ended');
      if (how === 'fd-closed') cur = nothingYet();
    },
    /**
     * Time spent not running in the current interval up to `ts`, counted from the latest
     * of its start and `since` (a session's start; v2 also where it last accrued, so no
     * stretch is counted twice). 0n while running, unknown, or untimed.
     */
    notRunningUpTo(ts: bigint | undefined, since: readonly (bigint | undefined)[]): bigint {
      if (ts === undefined || cur.raw === undefined || !opts.isNotRunning(cur.raw)) return 0n;
      let from = cur.startNs;
      for (const t of since) if (t !== undefined && (from === undefined || t > from)) from = t;
      return from !== undefined && ts > from ? ts - from : 0n;
    },
    /**
     * Every attempt to change the state, up to the cap; later ones are counted. Returns the
     * write's id, for patchWrite: the recorder keeps its own copy, not `w`.
     */
    addWrite(w: W): number {
      const id = writeCount++;
      lastWrite = w;
      lastWriteId = id;
      lastWriteDropped = writes.length >= opts.maxIntervals;
      if (!lastWriteDropped) writes.push(stateWrite(w));
      else {
        writesDropped++;
        if (held !== undefined && held.writes.length < opts.maxIntervals) held.writes.push(w);
      }
      return id;
    },
    /**
     * Fills in write `id` (its value, or its read-back) wherever it is kept: the device's
     * list, or held for the session past the cap, or as the latest write a session may start
     * with. A write the cap dropped and nothing holds is gone: the patch changes nothing.
     */
    patchWrite(id: number, p: WritePatch): void {
      // Ids count every write and the list keeps the first ones: id i is item i while kept.
      if (id < writes.length) {
        let w = writes.at(id);
        if ('toRaw' in p) w = extended(w, { toRaw: p.toRaw, to: opts.stateName(p.toRaw) });
        if ('readBackRaw' in p) w = extended(w, { readBackRaw: p.readBackRaw });
        writes.set(id, w);
        return;
      }
      const entries: W[] = [];
      if (id === lastWriteId && lastWrite !== undefined) entries.push(lastWrite);
      const k = held === undefined ? -1 : id - held.firstWriteId;
      const h = held !== undefined && k >= 0 ? held.writes[k] : undefined;
      if (h !== undefined) entries.push(h);
      for (const e of entries) {
        if ('toRaw' in p) e.toRaw = p.toRaw;
        if ('readBackRaw' in p) e.readBackRaw = p.readBackRaw;
      }
    },
    /**
     * A session starts (after the write that started it was added): from now on, items past
     * the cap are held for its slice, beginning with that write if the cap dropped it.
     */
    holdForSession(): void {
      const startsWithLast = lastWriteDropped && lastWrite !== undefined;
      held = { intervals: [], writes: startsWithLast && lastWrite !== undefined ? [lastWrite] : [], firstWriteId: startsWithLast ? lastWriteId : writeCount };
    },
    /** The session's items past the cap (empty below it), and the end of holding. */
    releaseHeld(): { readonly intervals: readonly StateInterval[]; readonly writes: readonly StateWrite[] } {
      const h = held;
      held = undefined;
      return h === undefined ? { intervals: [], writes: [] } : { intervals: h.intervals, writes: h.writes.map(stateWrite) };
    },
    deviceTimeline(p: TimelineParts): DeviceTimeline {
      return {
        id: p.ref.id,
        pid: p.ref.pid,
        comm: p.comm,
        fd: p.ref.fd,
        naming: p.ref.naming,
        protocol: p.protocol,
        region: p.region,
        timeline: p.timeline,
        stateWrites: p.writes,
        sessions: p.sessions,
        resets: p.resets,
        intervalsDropped,
        // Only when writes were lost, so timelines within the cap read as before.
        ...(writesDropped > 0 ? { stateWritesDropped: writesDropped } : {}),
        ...((p.sessionsDropped ?? 0) > 0 ? { sessionsDropped: p.sessionsDropped } : {}),
      };
    },
  };
}
