// The lines every text summary (analyze's terminal view, watch's closing summary) prints
// for what rules left undecided at a cap (Analysis.notJudged): a cap is counted where the
// user looks, not only in --json.

import type { Analysis } from '../analysis/types.js';

/** One line per rule that left items undecided, e.g. "not judged: 7 VFIO_DEVICE_FEATURE … (V2-BLOCKED-ARC)"; none when all were judged. */
export function notJudgedLines(a: Analysis, indent = ''): string[] {
  return (a.notJudged ?? []).map((n) => `${indent}not judged: ${n.count} ${n.what} (${n.rule})`);
}
