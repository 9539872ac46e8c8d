// The page's in-memory form of the embedded ReportModel: every column decoded once into a
// typed array (times as doubles, NaN when unknown), plus the sort orders the timeline
// needs for binary search. Types only; built by decode.ts.

import type { ModelLane, ReportModel } from '../model-types.js';

export interface DSources {
  /** Index into model.files, -1 when none. */
  readonly file: Int32Array;
  /** Line, NaN when none. */
  readonly line: Float64Array;
  /** Byte offset, -1 when none. */
  readonly byteOffset: Float64Array;
}

export interface DIntervals {
  readonly n: number;
  readonly state: Int32Array;
  readonly raw: Int32Array;
  /** Relative ns as the trace shows them, NaN when unknown. */
  readonly start: Float64Array;
  readonly end: Float64Array;
  /** Where the interval is drawn: unknown starts take the previous end, open ends run to the trace end. */
  readonly drawA: Float64Array;
  readonly drawB: Float64Array;
  /** Prefix maximum of drawB, so a binary search finds the first interval reaching into a view. */
  readonly maxB: Float64Array;
  /** 1 for an interval still open when the trace ended. */
  readonly openAtEnd: Uint8Array;
  readonly certainty: Uint8Array;
  readonly bytes: Float64Array;
  readonly src: DSources;
}

export interface DWrites {
  readonly n: number;
  readonly ts: Float64Array;
  readonly from: Int32Array;
  readonly fromRaw: Int32Array;
  readonly to: Int32Array;
  readonly toRaw: Int32Array;
  readonly result: Uint8Array;
  readonly errno: Int32Array;
  readonly readBack: Int32Array;
  readonly src: DSources;
  /** Indexes of writes with a known time, sorted by time, and those times. */
  readonly order: Int32Array;
  readonly orderTs: Float64Array;
}

export interface DSessions {
  readonly n: number;
  readonly kind: Uint8Array;
  readonly start: Float64Array;
  readonly end: Float64Array;
  readonly drawA: Float64Array;
  readonly drawB: Float64Array;
  readonly outcome: Uint8Array;
  /** statesOff[i]..statesOff[i+1] indexes model.sessions.states. */
  readonly statesOff: Int32Array;
  readonly states: Int32Array;
  readonly iterations: Float64Array;
  readonly bytes: Float64Array;
  readonly notRunningNs: Float64Array;
  readonly pendingOff: Int32Array;
  readonly pendingTs: Float64Array;
  readonly pendingBytes: Float64Array;
  readonly pendingDropped: Float64Array;
  /** The convergence columns (model-types.ts ModelConvergence), NaN when absent. */
  readonly conv: DConvergence;
}

export interface DConvergence {
  readonly verdict: Float64Array;
  readonly fits: Float64Array;
  readonly stopStart: Float64Array;
  readonly estimateBytes: Float64Array;
  readonly actualBytes: Float64Array;
  readonly predictedNs: Float64Array;
  readonly actualNs: Float64Array;
  readonly otherDevicesNs: Float64Array;
  readonly qemuDowntimeNs: Float64Array;
  readonly limitNs: Float64Array;
  readonly dominant: Float64Array;
}

export interface DLane {
  readonly index: number;
  readonly model: ModelLane;
  readonly iv: DIntervals;
  readonly w: DWrites;
  readonly ss: DSessions;
  /** Global finding indexes on this lane with a known time, sorted by time, and those times. */
  readonly findingOrder: Int32Array;
  readonly findingTs: Float64Array;
}

export interface DFindings {
  readonly n: number;
  /** Indexes into model.strings. */
  readonly rule: Int32Array;
  /** 0 error, 1 warning. */
  readonly severity: Uint8Array;
  /** 0 vmm, 1 driver. */
  readonly blame: Uint8Array;
  /** 0 certain, 1 uncertain. */
  readonly certainty: Uint8Array;
  readonly device: Int32Array;
  /** Lane index, -1 when the finding's device has no lane. */
  readonly lane: Int32Array;
  readonly specRef: Int32Array;
  readonly message: readonly string[];
  readonly evidenceWhat: readonly string[];
  readonly evidenceText: readonly (string | null)[];
  readonly ts: Float64Array;
  readonly evidenceOff: Int32Array;
  readonly evidenceSrc: DSources;
}

export interface DGaps {
  readonly n: number;
  readonly ts: Float64Array;
  /** Events lost, -1 when unknown. */
  readonly lost: Int32Array;
  readonly order: Int32Array;
  readonly orderTs: Float64Array;
  readonly src: DSources;
}

export interface Decoded {
  readonly model: ReportModel;
  readonly t0: bigint;
  /** Relative ns of the last timestamp; at least 1 so that a view always has a width. */
  readonly span: number;
  readonly lanes: readonly DLane[];
  readonly findings: DFindings;
  readonly gaps: DGaps;
  /** Rule texts by id. */
  readonly rules: ReadonlyMap<string, { readonly title: string; readonly description: string; readonly specRef: string }>;
}
