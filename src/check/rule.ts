// What a rule is: its catalogue entry (id, severity, blame, spec reference, the text a
// human reads in the report) and the handler that watches ops. The checker (checker.ts)
// drives handlers; rules never see raw trace lines (DESIGN.md "Data flow").

import type { DeviceOp, V2Op } from '../decode/ops.js';
import type { Source } from '../record/types.js';
import type { DeviceContext } from '../track/device-view.js';
import type { MigrationEnd } from '../track/migration-episode.js';
import type { ProcessEvicted, TrackerFact } from '../track/facts.js';
import type { Blame, Evidence, Severity } from './types.js';

/** The catalogue entry of a rule: what docs and the HTML report show. */
export interface RuleInfo {
  /** Stable id from spec/vfio-migration.md §6 (never renumbered). */
  readonly id: string;
  readonly title: string;
  /** Every severity the rule can report (split rules report several). */
  readonly severities: readonly Severity[];
  /** Every party the rule can blame. */
  readonly blames: readonly Blame[];
  /** Where the rule comes from, e.g. "spec §6.1; §2.3 rule 1 [L58]". */
  readonly specRef: string;
  /** The rule in words a human understands (used by the HTML report). */
  readonly description: string;
  /**
   * Which lost events could explain a finding of this rule, and so when it is reported
   * as `uncertain` (DESIGN.md "Knowing versus guessing").
   */
  readonly uncertainWhen: string;
  /**
   * Rules that keep a bounded index: what the items past the cap are, which the rule
   * leaves undecided and counts through RuleEnv.notJudged (shown as Analysis.notJudged).
   */
  readonly notJudgedWhat?: string;
}

/** A finding as a rule reports it; the checker adds rule id, spec reference and device. */
export interface FindingDraft {
  readonly severity: Severity;
  readonly blame: Blame;
  readonly tsNs: bigint | undefined;
  readonly message: string;
  readonly evidence: readonly Evidence[];
  /** True when lost events could explain the finding (see RuleInfo.uncertainWhen). */
  readonly uncertain: boolean;
}

/** Resolved checker options rules may read. */
export interface RuleOptions {
  /** V1-EAGAIN: report after more than this many consecutive EAGAIN failures. */
  readonly eagainLimit: number;
  /** V1-SEGMENTS: how many data_size values per session are kept for comparison. */
  readonly segmentsKept: number;
  /**
   * V2-BLOCKED-ARC: a VFIO_DEVICE_FEATURE ioctl whose exit the trace does not show, entered
   * at least this long before the trace's last event, did not return (ns).
   */
  readonly v2HangNs: bigint;
  /** MIG-ESTIMATE-WRONG: stop-copy data above this many times the device's last estimate. */
  readonly estimateFactor: number;
}

export interface RuleEnv {
  readonly options: RuleOptions;
  /** Report a finding about the device `ctx` describes. */
  report(ctx: DeviceContext, draft: FindingDraft): void;
  /**
   * `count` items this rule cannot judge (a cap against hostile input was reached): they
   * are counted under the rule's id, with its notJudgedWhat, never dropped silently.
   */
  notJudged(count?: number): void;
}

/** Why a device's story ended. */
export type FinishReason = 'close' | 'end-of-trace';

/**
 * Hooks a rule may implement. `ctx` is the device's context as it was BEFORE the op (the
 * checker updates it after every handler has seen the op), so a handler compares the op
 * with what was known.
 */
export interface RuleHooks {
  /** Ops of both protocols' common kinds and of v1 (v1 rules never see v2 ops). */
  op?(o: DeviceOp, ctx: DeviceContext): void;
  /** Protocol-v2 ops (decode/ops.ts V2Op); only v2 rules implement this. */
  v2Op?(o: V2Op, ctx: DeviceContext): void;
  /** The device's migration ended (migration-context.ts says when). */
  migrationEnd?(end: MigrationEnd, ctx: DeviceContext): void;
  /** The device was closed or the trace ended; the context is dropped afterwards. */
  finish?(reason: FinishReason, at: Source | undefined, ctx: DeviceContext): void;
  /** Every fact the tracker derived (track/facts.ts), before the specific hooks above. */
  fact?(f: TrackerFact, ctx: DeviceContext): void;
}

/** A rule whose state is one device's: `create` is called once per device. */
export interface DeviceRuleDef extends RuleInfo {
  readonly scope: 'device';
  create(env: RuleEnv): RuleHooks;
}

/**
 * A rule that relates devices (same process, or the two ends of a migration): `create`
 * is called once per checker and sees every device's ops.
 */
export interface GlobalRuleDef extends RuleInfo {
  readonly scope: 'global';
  create(env: RuleEnv): GlobalRuleHooks;
}

export interface GlobalRuleHooks extends RuleHooks {
  /** The trace ended (after every device's finish). */
  end?(): void;
  /**
   * A gone process's devices left the tracker (host mode, track/facts.ts ProcessEvicted):
   * drop every index entry of that process. Everything its devices' histories decide was
   * decided before (their close came first: see ProcessEvicted).
   */
  processEvicted?(f: ProcessEvicted): void;
  /** Entries the rule's indexes hold now (tests of host mode's memory: bounded by live devices). */
  liveEntries?(): number;
}

export type RuleDef = DeviceRuleDef | GlobalRuleDef;
