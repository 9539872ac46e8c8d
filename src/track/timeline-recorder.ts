// The intervals and state writes of one device, capped, and the not-running time of the
// interval in progress: the bookkeeping the v1 and v2 state machines (device-state.ts,
// v2-device-state.ts) share, so that each of them keeps only its protocol's rules (which
// states exist, when a session starts or ends). The recorder knows no protocol: the state
// names and what "not running" means are handed to it.

import type { DeviceRef } from '../decode/ops.js';
import type { Source } from '../record/types.js';
import type { DeviceRegion, DeviceTimeline, MigrationSession, Protocol, StateInterval, StateWrite } from './types.js';

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
 * A state write as the machines build it: mutable, because its value (v1: an unseen write
 * filled by QEMU's event) or its read-back arrives with a later op.
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

export interface TimelineRecorderOptions {
  /** Per-device cap on intervals, and separately on state writes (tracker's maxIntervalsPerDevice). */
  readonly maxIntervals: number;
  /** The spec's name of a raw state ("UNKNOWN" for undefined). */
  readonly stateName: (raw: number | undefined) => string;
  /** True for the states in which the device does not run (v1 §2.2 RUNNING bit clear; v2 §5.3). */
  readonly isNotRunning: (raw: number) => boolean;
}

/** What a DeviceTimeline holds besides the recorder's intervals and writes. */
export interface TimelineParts<W extends WriteEntry> {
  readonly ref: DeviceRef;
  readonly comm: string | undefined;
  readonly protocol: Protocol;
  readonly region: DeviceRegion | undefined;
  readonly resets: number;
  /** All intervals, or a session's slice of them (onSessionEnd). */
  readonly timeline: readonly StateInterval[];
  readonly writes: readonly W[];
  readonly sessions: readonly MigrationSession[];
  /** Finished sessions the device's session list no longer holds (session-list.ts). */
  readonly sessionsDropped?: number;
}

function nothingYet(): Current {
  return { raw: undefined, certainty: 'unknown', startNs: undefined, src: undefined, bytes: 0 };
}

export function createTimelineRecorder<W extends WriteEntry>(opts: TimelineRecorderOptions) {
  const intervals: StateInterval[] = [];
  let intervalsDropped = 0;
  const writes: W[] = [];
  let writesDropped = 0;
  let cur: Current = nothingYet();
  // Past the cap, the items of the session in progress are still held for the session's own
  // slice (onSessionEnd): the device's list is cut short, the session never is, so every
  // session still gets all its state spans (watch --export, analyze --export). Bounded by
  // the cap too (a hostile session that never ends); what even that drops is counted.
  let held: { intervals: StateInterval[]; writes: W[] } | undefined;
  /** The latest write and whether the cap dropped it (a session starts with it). */
  let lastWrite: W | undefined;
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
      if (held !== undefined && held.intervals.length < opts.maxIntervals) held.intervals.push({ ...currentUntil(ts), ...(openAtEnd ? { openAtEnd: true } : {}) });
      return;
    }
    intervals.push({ ...currentUntil(ts), ...(openAtEnd ? { openAtEnd: true } : {}) });
  }

  function stateWrite(w: WriteEntry): StateWrite {
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

  return {
    current(): CurrentInterval {
      return cur;
    },
    /** Intervals kept so far (sessions remember where theirs start). */
    intervals(): readonly StateInterval[] {
      return intervals;
    },
    writes(): readonly W[] {
      return writes;
    },
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
    /** Every attempt to change the state, up to the cap; later ones are counted. */
    addWrite(w: W): void {
      lastWrite = w;
      lastWriteDropped = writes.length >= opts.maxIntervals;
      if (!lastWriteDropped) writes.push(w);
      else {
        writesDropped++;
        if (held !== undefined && held.writes.length < opts.maxIntervals) held.writes.push(w);
      }
    },
    /**
     * A session starts (after the write that started it was added): from now on, items past
     * the cap are held for its slice, beginning with that write if the cap dropped it.
     */
    holdForSession(): void {
      held = { intervals: [], writes: lastWriteDropped && lastWrite !== undefined ? [lastWrite] : [] };
    },
    /** The session's items past the cap (empty below it), and the end of holding. */
    releaseHeld(): { readonly intervals: readonly StateInterval[]; readonly writes: readonly W[] } {
      const h = held ?? { intervals: [], writes: [] };
      held = undefined;
      return h;
    },
    /** The fields of a StateWrite every protocol has (v2 adds its own after them). */
    stateWrite,
    deviceTimeline(p: TimelineParts<W>, toStateWrite: (w: W) => StateWrite = stateWrite): DeviceTimeline {
      return {
        id: p.ref.id,
        pid: p.ref.pid,
        comm: p.comm,
        fd: p.ref.fd,
        naming: p.ref.naming,
        protocol: p.protocol,
        region: p.region,
        timeline: p.timeline,
        stateWrites: p.writes.map(toStateWrite),
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
