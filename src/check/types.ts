// A finding: one rule of spec/vfio-migration.md §6 broken, with who is at fault and the
// trace lines that show it.

import type { Source } from '../record/types.js';

export type Severity = 'error' | 'warning';
/** vmm = the user application driving the protocol (QEMU); driver = the vendor/kernel driver. */
export type Blame = 'vmm' | 'driver';
/**
 * certain: the trace shows it. uncertain: events were lost in the window and the missing
 * events could explain it (DESIGN.md "Knowing versus guessing").
 */
export type Certainty = 'certain' | 'uncertain';

export type { Evidence } from '../track/evidence.js';
import type { Evidence } from '../track/evidence.js';

export interface Finding {
  /** Stable rule id from the spec's catalogue (never renumbered). */
  readonly rule: string;
  readonly severity: Severity;
  readonly blame: Blame;
  readonly device: string;
  readonly tsNs: bigint | undefined;
  readonly message: string;
  readonly evidence: readonly Evidence[];
  readonly certainty: Certainty;
  /** Where the rule comes from, e.g. "spec §6.1; L58". */
  readonly specRef: string;
}

/**
 * What a rule had to leave undecided because a cap against hostile input was reached
 * (STYLE.md: every cap is counted where the user looks). One per rule that left any; the
 * analysis lists them (Analysis.notJudged), the terminal and watch summaries print them.
 */
export interface NotJudged {
  readonly rule: string;
  /** How many items the rule did not judge. */
  readonly count: number;
  /** What those items are and why they were not judged (the rule's RuleInfo.notJudgedWhat). */
  readonly what: string;
}
