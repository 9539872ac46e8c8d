// The data the HTML report embeds: a compact, JSON-serialisable projection of an Analysis.
//
// Why not embed the Analysis itself: a 100,000-session trace has ~500,000 intervals and
// ~400,000 state writes; as objects with named keys that is tens of megabytes. Here every
// table is columnar (one array per field), repeated strings are interned, and times are
// delta-coded, which keeps the file a fraction of that size and lets the page decode each
// column into a typed array once.
//
// Times: every time is nanoseconds relative to `t0` (the earliest timestamp in the
// analysis), so it fits a double exactly for traces shorter than ~104 days; the page
// rebuilds the exact absolute bigint as BigInt(t0) + BigInt(rel) when it shows a record.
// Columns are coded as column-codec.ts describes (delta, spans, run-length). An unknown
// value is `null`: JSON has no `undefined`, so this is the one place the report uses null.

import type { ReportSummary } from './summary.js';

/** A column of optional integers: plain, or run-length coded as [value, count, …]. */
export type Column = readonly (number | null)[] | { readonly rle: readonly (number | null)[] };

/** Where a record came from: index into ReportModel.files, line or -1, byte offset or -1. */
export interface ModelSources {
  readonly file: Column;
  /** Delta-coded line numbers (null when the source has no line). */
  readonly line: Column;
  readonly byteOffset: Column;
}

export interface ModelState {
  readonly name: string;
  readonly color: string;
  /** Drawn so that it never vanishes at low zoom (ERROR, INVALID_*). */
  readonly alarm: boolean;
}

export interface ModelIntervals {
  readonly count: number;
  /** Index into ReportModel.states. */
  readonly state: Column;
  /** Raw device_state value, -1 when unknown. */
  readonly raw: Column;
  /** Span-coded (column-codec.ts spans) with `end`. */
  readonly start: Column;
  readonly end: Column;
  /** Indexes of intervals still open when the trace ended (StateInterval.openAtEnd). */
  readonly openAtEnd: readonly number[];
  /** 0 known, 1 inferred, 2 unknown (StateInterval.certainty). */
  readonly certainty: Column;
  readonly bytes: Column;
  readonly src: ModelSources;
}

export interface ModelWrites {
  readonly count: number;
  readonly ts: Column;
  readonly from: Column;
  readonly fromRaw: Column;
  readonly to: Column;
  readonly toRaw: Column;
  /** 0 ok, 1 failed, 2 unknown (StateWrite.result). */
  readonly result: Column;
  /** errno, 0 when none. */
  readonly errno: Column;
  /** Raw value read back after a failed write, -1 when none. */
  readonly readBack: Column;
  readonly src: ModelSources;
}

export interface ModelSessions {
  readonly count: number;
  /** 0 save, 1 resume. */
  readonly kind: Column;
  /** Span-coded with `end`. */
  readonly start: Column;
  readonly end: Column;
  /** Index into ReportModel.outcomes. */
  readonly outcome: Column;
  /** States visited, flattened: statesCount[i] entries per session, indexes into states. */
  readonly statesCount: Column;
  readonly states: Column;
  readonly iterations: Column;
  readonly bytes: Column;
  /** notRunningNs as a number (display only; exact value is in the JSON export). */
  readonly notRunningNs: Column;
  /** pending_bytes samples, flattened: pendingCount[i] per session. */
  readonly pendingCount: Column;
  readonly pendingTs: Column;
  readonly pendingBytes: Column;
  readonly pendingDropped: Column;
  /** A save's convergence account (track/convergence.ts), one column per figure; null when absent (resumes, unknown figures). */
  readonly conv: ModelConvergence;
}

export interface ModelConvergence {
  /** 0 unknown, 1 converging, 2 stalled, 3 growing. */
  readonly verdict: Column;
  /** 0 unknown, 1 yes, 2 no. */
  readonly fits: Column;
  /** Stop-copy entry, trace-relative ns (not delta-coded: most are null). */
  readonly stopStart: Column;
  readonly estimateBytes: Column;
  readonly actualBytes: Column;
  readonly predictedNs: Column;
  readonly actualNs: Column;
  readonly otherDevicesNs: Column;
  readonly qemuDowntimeNs: Column;
  readonly limitNs: Column;
  /** Index into strings: the device that dominated the downtime. */
  readonly dominant: Column;
}

export interface ModelLane {
  readonly id: string;
  /** The host the device is on (DeviceTimeline.host); null when no input names it. */
  readonly host: string | null;
  readonly pid: number | null;
  readonly comm: string | null;
  readonly fd: number;
  readonly naming: string;
  readonly protocol: string;
  readonly region: string | null;
  readonly resets: number;
  /** Intervals the tracker did not keep (its per-device cap). */
  readonly intervalsDropped: number;
  readonly intervals: ModelIntervals;
  readonly writes: ModelWrites;
  readonly sessions: ModelSessions;
}

export interface ModelFindings {
  readonly count: number;
  /** Index into strings. */
  readonly rule: Column;
  /** 0 error, 1 warning. */
  readonly severity: Column;
  /** 0 vmm, 1 driver. */
  readonly blame: Column;
  /** 0 certain, 1 uncertain. */
  readonly certainty: Column;
  /** Index into strings (the device id as the finding names it). */
  readonly device: Column;
  /** Index into lanes, -1 when the device has no lane. */
  readonly lane: Column;
  readonly ts: Column;
  readonly message: readonly string[];
  /** Index into strings. */
  readonly specRef: Column;
  /** Evidence, flattened: evidenceCount[i] entries per finding. */
  readonly evidenceCount: Column;
  readonly evidenceSrc: ModelSources;
  readonly evidenceWhat: readonly string[];
  /** The trace line each evidence entry cites, as the input has it (null: not supplied, or a binary record). */
  readonly evidenceText?: readonly (string | null)[];
}

export interface ModelGaps {
  readonly count: number;
  readonly ts: Column;
  /** Events lost, -1 when the tracer did not say. */
  readonly lost: Column;
  readonly src: ModelSources;
}

export interface ModelRule {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly specRef: string;
}

/** One migration of the `migrations` section, as the facts the terminal prints (report/migration-facts.ts). */
export interface ModelMigration {
  readonly title: string;
  readonly outcome: string;
  readonly when: string;
  readonly facts: readonly (readonly [string, string, string])[];
}

export interface ReportModel {
  readonly format: 'migscope-report-1';
  readonly title: string;
  readonly tool: { readonly name: string; readonly version: string };
  readonly host: string | null;
  /** Absolute trace-clock ns of relative time 0, as a decimal string (bigint). */
  readonly t0: string;
  /** Relative ns of the latest timestamp (0 when the analysis has no time at all). */
  readonly span: number;
  readonly clock: { readonly source: string; readonly clock: string | null; readonly offsetNs: string | null };
  readonly input: {
    /** clockShift: why and by how much this input's times were moved onto the analysis' clock (its own clock-sync), else null. */
    readonly files: readonly { readonly path: string; readonly format: string; readonly clock: string | null; readonly clockShift: string | null }[];
    readonly records: number;
    readonly malformed: number;
    readonly lostEvents: number;
    readonly problems: readonly { readonly where: string; readonly message: string }[];
    readonly problemsDropped: number;
  };
  readonly summary: ReportSummary;
  readonly states: readonly ModelState[];
  /** Source file names, indexed by ModelSources.file. */
  readonly files: readonly string[];
  /** Interned strings (rule ids, spec refs, finding device ids). */
  readonly strings: readonly string[];
  readonly rules: readonly ModelRule[];
  readonly lanes: readonly ModelLane[];
  readonly findings: ModelFindings;
  readonly gaps: ModelGaps;
  /** Session outcome names and colours, indexed like ModelSessions.outcome. */
  readonly outcomes: readonly string[];
  readonly outcomeColors: readonly string[];
  readonly migrations: readonly ModelMigration[];
}
