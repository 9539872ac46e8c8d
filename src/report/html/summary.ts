// The report's headline numbers, computed once from the Analysis so that the page shows
// the same counts whatever it has decoded (and tests can recompute them independently).

import { findingTotals } from '../../check/finding-list.js';
import type { Analysis } from '../../analysis/types.js';
import type { SessionOutcome } from '../../track/types.js';
import { sessionTotals } from '../../track/session-list.js';

export interface ReportSummary {
  readonly devices: number;
  readonly protocols: { readonly v1: number; readonly v2: number; readonly unknown: number };
  readonly sessions: { readonly save: number; readonly resume: number };
  readonly outcomes: Readonly<Record<SessionOutcome, number>>;
  /** Sum over sessions of notRunningNs, exact, as a decimal string. */
  readonly notRunningNs: string;
  /** The longest single session's notRunningNs, exact, as a decimal string. */
  readonly maxNotRunningNs: string;
  readonly bytes: { readonly save: number; readonly resume: number };
  readonly stateWrites: number;
  readonly failedWrites: number;
  readonly resets: number;
  readonly findings: {
    readonly total: number;
    readonly error: { readonly vmm: number; readonly driver: number };
    readonly warning: { readonly vmm: number; readonly driver: number };
    readonly uncertain: number;
  };
  /** failed: an error finding or a failed session; warnings: only warnings; clean: neither. */
  readonly verdict: 'failed' | 'warnings' | 'clean';
}

export function summarize(analysis: Analysis): ReportSummary {
  const protocols = { v1: 0, v2: 0, unknown: 0 };
  const sessions = { save: 0, resume: 0 };
  const outcomes: Record<SessionOutcome, number> = { completed: 0, failed: 0, cancelled: 0, incomplete: 0, unknown: 0 };
  const bytes = { save: 0, resume: 0 };
  let notRunning = 0n;
  let maxNotRunning = 0n;
  let stateWrites = 0;
  let failedWrites = 0;
  let resets = 0;
  for (const d of analysis.devices) {
    protocols[d.protocol] += 1;
    resets += d.resets;
    stateWrites += d.stateWrites.length;
    for (const w of d.stateWrites) if (w.result === 'failed') failedWrites += 1;
    // The totals, not a pass over the sessions: a spilled list keeps them (track/session-list.ts).
    const t = sessionTotals(d.sessions);
    sessions.save += t.byKind.save;
    sessions.resume += t.byKind.resume;
    for (const k of Object.keys(outcomes) as SessionOutcome[]) outcomes[k] += t.outcomes[k];
    bytes.save += t.bytesByKind.save;
    bytes.resume += t.bytesByKind.resume;
    notRunning += t.notRunningNs;
    if (t.maxNotRunningNs > maxNotRunning) maxNotRunning = t.maxNotRunningNs;
  }
  // Counted as the findings were written, not by reading them back (check/finding-list.ts).
  const t = findingTotals(analysis.findings);
  const findings = { total: t.total, error: { ...t.error }, warning: { ...t.warning }, uncertain: t.uncertain };
  const errors = findings.error.vmm + findings.error.driver;
  const verdict = errors > 0 || outcomes.failed > 0 ? 'failed' : findings.total > 0 ? 'warnings' : 'clean';
  return {
    devices: analysis.devices.length,
    protocols,
    sessions,
    outcomes,
    notRunningNs: notRunning.toString(),
    maxNotRunningNs: maxNotRunning.toString(),
    bytes,
    stateWrites,
    failedWrites,
    resets,
    findings,
    verdict,
  };
}
