// Protocol-v2 facts the tracker and the checker both apply, so that they agree: which
// migration flags a device has (learned or inferred), what a SET does from a known state
// (spec §5.5, via protocol/v2-arcs.ts), and which states are "not running".

import { MIG_FLAG_P2P, MIG_FLAG_PRE_COPY, MIG_FLAG_STOP_COPY, V2_STATES, type V2StateName } from '../protocol/v2.js';
import { v2StateFromRaw, v2Walk, type V2Walk } from '../protocol/v2-arcs.js';

export const V2_ERROR = 0;
export const V2_STOP = 1;
export const V2_RUNNING = 2;
export const V2_STOP_COPY = 3;
export const V2_RESUMING = 4;
export const V2_RUNNING_P2P = 5;
export const V2_PRE_COPY = 6;
export const V2_PRE_COPY_P2P = 7;

export function v2Name(raw: number | undefined): string {
  if (raw === undefined) return 'UNKNOWN';
  return V2_STATES[raw] ?? `INVALID_${raw}`;
}

/** The flags a state proves the device has (spec §5.3 "needs flag"); a lower bound. */
export function flagsShownBy(raw: number): number {
  switch (raw) {
    case V2_RUNNING_P2P:
      return MIG_FLAG_STOP_COPY | MIG_FLAG_P2P;
    case V2_PRE_COPY:
      return MIG_FLAG_STOP_COPY | MIG_FLAG_PRE_COPY;
    case V2_PRE_COPY_P2P:
      return MIG_FLAG_STOP_COPY | MIG_FLAG_P2P | MIG_FLAG_PRE_COPY;
    default:
      return MIG_FLAG_STOP_COPY;
  }
}

/** The flags to walk with: the MIGRATION GET reply when seen, else the least set the states seen need. */
export interface V2Flags {
  readonly value: number;
  readonly source: 'feature' | 'inferred';
}

export function flagsFor(learned: number | undefined, shown: number): V2Flags {
  return learned !== undefined ? { value: learned, source: 'feature' } : { value: shown | MIG_FLAG_STOP_COPY, source: 'inferred' };
}

/** Device not running (vCPU-visible work stopped): STOP, STOP_COPY, RESUMING, ERROR. */
export function v2NotRunning(raw: number): boolean {
  return raw === V2_STOP || raw === V2_STOP_COPY || raw === V2_RESUMING || raw === V2_ERROR;
}

/** The saving group (PRE_COPY, PRE_COPY_P2P, STOP_COPY) shares one data session (spec §5.3). */
export function v2InSavingGroup(raw: number): boolean {
  return raw === V2_PRE_COPY || raw === V2_PRE_COPY_P2P || raw === V2_STOP_COPY;
}

export interface SetPrediction {
  readonly walk: V2Walk;
  /**
   * True when the core rejects the request before any arc (so the state cannot have
   * changed) whatever flags beyond the known lower bound the device has: the request is
   * out of range or ERROR, the flags were learned, or the arc is the blocked one.
   */
  readonly rejectCertain: boolean;
}

/** What the kernel does for a SET of `requested` from `cur` (spec §5.5). */
export function predictSet(cur: number, requested: number, flags: V2Flags): SetPrediction | undefined {
  const c = v2StateFromRaw(cur);
  if (c === undefined) return undefined;
  const walk = v2Walk(c, requested, flags.value);
  const rangeOrError = requested === V2_ERROR || requested >= V2_STATES.length || requested < 0;
  const rejectCertain = walk.kind === 'blocked' || (walk.kind === 'einval' && (flags.source === 'feature' || rangeOrError));
  return { walk, rejectCertain };
}

export function pathNames(states: readonly V2StateName[]): string[] {
  return states.map((s) => s);
}

export function rawOf(name: V2StateName): number {
  return V2_STATES.indexOf(name);
}
