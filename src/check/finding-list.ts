// The findings of one analysis as the checker reports them, and the finished list the
// Analysis carries: in time order, each one judged once every input is read (its input's
// health, the destination's view of a save, the device's final name).
//
// With a spill file (analyze, report), the findings past the latest few wait in it like the
// sessions do (track/spilled-list.ts): a 2 GB trace has ≈ 20,000 of them with ≈ 45,000
// evidence entries, and kept as objects they were most of what grew in the heap with the
// trace (issue 13). Sorting them needs only their times, kept here beside the file; the
// finished list is written once, in order, with every judgement applied, and read back by
// the outputs one finding at a time. Without a spill file (watch, `--export`, tests) the
// findings are plain objects as before.

import type { Finding } from './types.js';
import type { SpillFile } from '../track/spill-file.js';
import { createSpilledList, totalsOf, type SpillFold, type SpilledList } from '../track/spilled-list.js';

/** The counts every summary shows (analysis/summary.ts, report/html/summary.ts). */
export interface FindingTotals {
  total: number;
  readonly error: { vmm: number; driver: number };
  readonly warning: { vmm: number; driver: number };
  uncertain: number;
}

const FINDING_TOTALS: SpillFold<Finding, FindingTotals> = {
  init: () => ({ total: 0, error: { vmm: 0, driver: 0 }, warning: { vmm: 0, driver: 0 }, uncertain: 0 }),
  add(t, f) {
    t.total++;
    t[f.severity][f.blame]++;
    if (f.certainty === 'uncertain') t.uncertain++;
  },
};

/**
 * The totals of a finished list: kept as the judged findings were written when it is a
 * spill view (no read of the file: each summary read all 19,717 findings of a 2 GB trace
 * back, and what it decoded outlived the young generation), else counted now.
 */
export function findingTotals(findings: readonly Finding[]): FindingTotals {
  return totalsOf(findings, FINDING_TOTALS);
}

/** Findings kept in memory before the older ones move to the spill file. */
export const FINDINGS_IN_MEMORY = 256;

export interface FindingList {
  push(f: Finding): void;
  readonly length: number;
  /** Drops the oldest finding kept (watch's cap); only without a spill file. */
  shift(): void;
  /**
   * Every finding in time order (stable; findings without a time last), each passed through
   * `judge`. Called once, at the end: with a spill file the list is read in that order and
   * written again, judged.
   */
  finished(judge: (f: Finding) => Finding): readonly Finding[];
}

/** Time order, stable: a finding without a time goes after every timed one (Array.prototype.sort is stable). */
function byTime(a: bigint | undefined, b: bigint | undefined): number {
  return a === undefined ? (b === undefined ? 0 : 1) : b === undefined ? -1 : a < b ? -1 : a > b ? 1 : 0;
}

export function createFindingList(spill?: SpillFile, inMemory = FINDINGS_IN_MEMORY): FindingList {
  if (spill === undefined) {
    const items: Finding[] = [];
    return {
      push: (f) => void items.push(f),
      get length() {
        return items.length;
      },
      shift: () => void items.shift(),
      finished(judge) {
        items.sort((a, b) => byTime(a.tsNs, b.tsNs));
        return items.map(judge);
      },
    };
  }
  const list: SpilledList<Finding> = createSpilledList<Finding>(spill, inMemory);
  const times: (bigint | undefined)[] = [];
  return {
    push(f) {
      times.push(f.tsNs);
      list.push(f);
    },
    get length() {
      return list.length;
    },
    shift() {
      throw new Error('a spilled finding list keeps every finding');
    },
    finished(judge) {
      const order = times.map((_, i) => i);
      order.sort((a, b) => byTime(times[a], times[b]));
      const out = createSpilledList<Finding, FindingTotals>(spill, inMemory, FINDING_TOTALS);
      const view = list.view;
      for (const i of order) out.push(judge(view[i] as Finding));
      return out.view;
    },
  };
}
