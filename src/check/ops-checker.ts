// A tracker and a checker wired together over a stream of ProtocolOps: what the pipeline
// does per input (src/cli/pipeline.ts), for callers that have ops rather than trace files
// (tests, and users checking their own op sequences). The checker reads the tracker's
// model (DESIGN.md "One model of each device"); this only puts the two side by side.

import type { ProtocolOp } from '../decode/ops.js';
import { createTracker, type Tracker, type TrackerOptions } from '../track/tracker.js';
import { createChecker, type CheckerOptions } from './checker.js';
import type { Finding, NotJudged } from './types.js';

export interface OpsChecker {
  op(o: ProtocolOp): void;
  /** End of the ops: the tracker closes what is open, then end-of-trace findings are reported. Later ops are ignored. */
  end(): void;
  readonly tracker: Tracker;
  /** Items rules left undecided at a cap (Checker.notJudged). */
  notJudged(): readonly NotJudged[];
}

export function createOpsChecker(opts: CheckerOptions, trackerOpts: Omit<TrackerOptions, 'observer'> = {}): OpsChecker {
  const checker = createChecker(opts);
  const tracker = createTracker({ ...trackerOpts, observer: checker.observer });
  let ended = false;
  return {
    tracker,
    notJudged: () => checker.notJudged(),
    op(o: ProtocolOp): void {
      if (!ended) tracker.op(o);
    },
    end(): void {
      if (ended) return;
      ended = true;
      tracker.end();
      checker.end();
    },
  };
}

/** Every finding of a whole op sequence. */
export function checkOps(ops: Iterable<ProtocolOp>, opts: Omit<CheckerOptions, 'onFinding'> = {}): Finding[] {
  const out: Finding[] = [];
  const c = createOpsChecker({ ...opts, onFinding: (f) => out.push(f) });
  for (const o of ops) c.op(o);
  c.end();
  return out;
}
