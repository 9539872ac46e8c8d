// Counts every output shows the same way: terminal, JSON, HTML, metrics.

import type { Analysis } from './types.js';
import type { SessionOutcome } from '../track/types.js';
import { sessionTotals } from '../track/session-list.js';
import { findingTotals } from '../check/finding-list.js';

export interface AnalysisSummary {
  readonly devices: number;
  readonly sessions: number;
  readonly outcomes: Readonly<Record<SessionOutcome, number>>;
  readonly findings: number;
  readonly bySeverity: { readonly error: number; readonly warning: number };
  readonly byBlame: { readonly vmm: number; readonly driver: number };
  readonly uncertain: number;
  readonly bytes: number;
  readonly notRunningNs: bigint;
}

export function summarize(a: Analysis): AnalysisSummary {
  const outcomes: Record<SessionOutcome, number> = { completed: 0, failed: 0, cancelled: 0, incomplete: 0, unknown: 0 };
  let sessions = 0;
  let bytes = 0;
  let notRunningNs = 0n;
  for (const d of a.devices) {
    // The totals, not a pass over the sessions: a spilled list keeps them (track/session-list.ts).
    const t = sessionTotals(d.sessions);
    sessions += t.count;
    for (const k of Object.keys(outcomes) as SessionOutcome[]) outcomes[k] += t.outcomes[k];
    bytes += t.bytesByKind.save + t.bytesByKind.resume;
    notRunningNs += t.notRunningNs;
  }
  // Likewise the findings' counts (check/finding-list.ts).
  const f = findingTotals(a.findings);
  const bySeverity = { error: f.error.vmm + f.error.driver, warning: f.warning.vmm + f.warning.driver };
  const byBlame = { vmm: f.error.vmm + f.warning.vmm, driver: f.error.driver + f.warning.driver };
  return { devices: a.devices.length, sessions, outcomes, findings: a.findings.length, bySeverity, byBlame, uncertain: f.uncertain, bytes, notRunningNs };
}
