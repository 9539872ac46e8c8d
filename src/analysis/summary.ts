// Counts every output shows the same way: terminal, JSON, HTML, metrics.

import type { Analysis } from './types.js';
import type { SessionOutcome } from '../track/types.js';
import { sessionTotals } from '../track/session-list.js';

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
  const bySeverity = { error: 0, warning: 0 };
  const byBlame = { vmm: 0, driver: 0 };
  let uncertain = 0;
  for (const f of a.findings) {
    bySeverity[f.severity]++;
    byBlame[f.blame]++;
    if (f.certainty === 'uncertain') uncertain++;
  }
  return { devices: a.devices.length, sessions, outcomes, findings: a.findings.length, bySeverity, byBlame, uncertain, bytes, notRunningNs };
}
