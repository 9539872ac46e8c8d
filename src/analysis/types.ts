// The result of one analysis: what `migscope analyze --json` prints (schema documented in
// docs/json-schema.md) and what report/ and export/ render.

import type { DeviceTimeline } from '../track/types.js';
import type { Finding, NotJudged } from '../check/types.js';
import type { InputProblem } from '../record/types.js';
import type { Migration } from '../track/migration-types.js';

export interface InputFile {
  readonly path: string;
  readonly format: string;
  /** The clock of the times this input's records carry in the analysis (a merged input: its timeline's clock). */
  readonly clock: string | undefined;
  /**
   * How the format was found, when not from the input's first lines: e.g. a QEMU log whose
   * first trace line comes after QEMU's own messages (src/cli/detect.ts). Absent otherwise.
   */
  readonly detection?: string;
  /**
   * The host the input itself says it was recorded on (ParserSink.host: a migscope capture
   * header's host=, trace.dat's UNAME nodename, libvirt's hostname: line) and where that was
   * read; absent when it names none. Not the host of `placement`, which may come from --host.
   */
  readonly host?: InputHost;
  /** With several inputs: which host it was taken to be from and how its times were put on that host's timeline. */
  readonly placement?: InputPlacement;
  /**
   * Present when this input's times were moved onto the analysis' clock (`Analysis.clock`):
   * it is (or was merged into) a capture whose own clock-sync record gives another offset
   * than the analysis' first one — a second host's capture. Its device times in the
   * analysis are `own trace time + shiftNs`, so that wall = t + clock.offsetNs holds for
   * every device (src/cli/pipeline.ts).
   */
  readonly clockShift?: InputClockShift;
}

export interface InputClockShift {
  /** Nanoseconds added to the input's trace times: its own offset − the analysis' offset. */
  readonly shiftNs: bigint;
  /** wall = trace + ownOffsetNs by the input's own (first) clock-sync record. */
  readonly ownOffsetNs: bigint;
  readonly rule: string;
}

export interface InputHost {
  readonly name: string;
  /** Where the name was read, e.g. "capture header host= (capture.txt:1)". */
  readonly how: string;
}

/**
 * How one input of several was placed (src/cli/input-merge.ts; docs/input-formats.md
 * "Merging inputs of one host"). Inputs of one host are merged into one time-ordered
 * record stream on the clock of its capture (its `timeline` input), after each input's
 * own stamps are moved by `offsetNs`; an input whose clock cannot be reconciled with the
 * timeline is analysed on its own (`merged` false) and `rule` says why.
 */
export interface InputPlacement {
  /** The host name (--host, the name an input gives, or "the host of <capture>"); undefined when unknown. */
  readonly host: string | undefined;
  /** What put the input on that host (--host, the only capture among the inputs, …) or why no host is known. */
  readonly hostRule: string;
  readonly merged: boolean;
  /** The input whose clock the merged timeline runs on. */
  readonly timeline?: string;
  /** The input's own clock (e.g. "realtime" for QEMU's and libvirt's stamps). */
  readonly ownClock?: string | undefined;
  /** Nanoseconds added to this input's own stamps to put them on the timeline (0 for the timeline's own input). */
  readonly offsetNs?: bigint;
  /** The clock rule that gave the offset, or why the input could not be placed. */
  readonly rule: string;
}

export interface InputSummary {
  readonly files: readonly InputFile[];
  /** Every trace record read, relevant or not. */
  readonly records: number;
  /** Lines or blocks that could not be parsed or were cut off (problem kinds malformed, truncated). */
  readonly malformed: number;
  /** Records dropped as an exact repeat of an earlier one (problem kind duplicate). */
  readonly duplicates: number;
  /** Records earlier than the one before them on their CPU/thread (problem kind time-backwards). */
  readonly timeBackwards: number;
  readonly lostEvents: number;
  /** Lost-event windows (the count may be unknown). */
  readonly gaps: readonly { readonly tsNs: bigint | undefined; readonly count: number | undefined; readonly file: string; readonly line: number | undefined; readonly byteOffset: number | undefined }[];
  /** The first problems, with where they are; `problemsDropped` counts the rest. */
  readonly problems: readonly InputProblem[];
  readonly problemsDropped: number;
  /** Earliest and latest trace timestamps seen (trace clock, ns). */
  readonly firstTsNs: bigint | undefined;
  readonly lastTsNs: bigint | undefined;
}

/**
 * How trace times map to wall-clock time.
 * sync: from a clock-sync record written by `migscope capture`.
 * offset: from --clock-offset.
 * relative: neither; times are trace-clock times and exports say so.
 */
export interface ClockMapping {
  readonly source: 'sync' | 'offset' | 'relative';
  readonly clock: string | undefined;
  /** wallNs = traceNs + offsetNs. undefined when relative. */
  readonly offsetNs: bigint | undefined;
}

export interface Analysis {
  readonly tool: { readonly name: 'migscope'; readonly version: string };
  readonly host: string | undefined;
  readonly input: InputSummary;
  readonly clock: ClockMapping;
  readonly devices: readonly DeviceTimeline[];
  readonly findings: readonly Finding[];
  /**
   * The migrations themselves, from QMP and QEMU's migration trace events (track/migration-types.ts).
   * Always set by the pipeline; optional so that hand-built analyses (tests, exports) need not carry it.
   */
  readonly migrations?: readonly Migration[];
  /**
   * What rules left undecided at a cap against hostile input (check/types.ts NotJudged),
   * one entry per rule that left any; absent when every item was judged.
   */
  readonly notJudged?: readonly NotJudged[];
}
