// What a migration session of either protocol keeps while it runs, and the
// MigrationSession it becomes when it ends. The v1 and v2 state machines add their own
// protocol fields on top (device-state.ts, v2-device-state.ts).

import type { Building } from '../record/extended.js';
import type { Source } from '../record/types.js';
import type { MigrationSession, PendingSample, SessionKind, SessionOutcome } from './types.js';
import { newConvergenceInput, type ConvergenceInput } from './convergence-input.js';

export interface SessionCore {
  kind: SessionKind;
  startNs: bigint | undefined;
  states: string[];
  iterations: number;
  bytes: number;
  pending: PendingSample[];
  pendingDropped: number;
  notRunningNs: bigint;
  failed: boolean;
  src: Source | undefined;
  /** Where the session's intervals and writes start in the device's recorder (for onSessionEnd slices). */
  firstInterval: number;
  firstWrite: number;
  /** What the convergence account needs (saves; convergence-input.ts). */
  conv: ConvergenceInput;
}

/**
 * A session starting now. `intervalsSoFar`/`writesSoFar` are the recorder's counts: the
 * write that started the session is the last one recorded, hence `writesSoFar - 1`.
 */
export function newSessionCore(kind: SessionKind, ts: bigint | undefined, firstState: string, src: Source | undefined, intervalsSoFar: number, writesSoFar: number, gapSerial = 0): SessionCore {
  return {
    kind,
    startNs: ts,
    states: [firstState],
    iterations: 0,
    bytes: 0,
    pending: [],
    pendingDropped: 0,
    notRunningNs: 0n,
    failed: false,
    src,
    firstInterval: intervalsSoFar,
    firstWrite: Math.max(0, writesSoFar - 1),
    conv: newConvergenceInput(gapSerial),
  };
}

/** The fields every ended session has, in the order the JSON shows them; the state machines set the optional ones after. */
export function sessionResult(s: SessionCore, outcome: SessionOutcome, endNs: bigint | undefined): Building<MigrationSession> {
  return {
    kind: s.kind,
    startNs: s.startNs,
    endNs,
    outcome,
    states: s.states,
    iterations: s.iterations,
    bytes: s.bytes,
    pending: s.pending,
    pendingDropped: s.pendingDropped,
    notRunningNs: s.notRunningNs,
    src: s.src,
  };
}
