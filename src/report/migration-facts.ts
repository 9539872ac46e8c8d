// The `migrations` section as label/value facts (track/migration-types.ts), shared by the
// terminal view (migrations-terminal.ts) and the HTML report (html/model.ts) so both say
// the same thing: status sequence with times, outcome, QEMU's figures, phases, the VM's
// stop/resume, devices, and where each came from.

import type { Migration } from '../track/migration-types.js';
import type { Source } from '../record/types.js';

export type FactTone = 'plain' | 'good' | 'warn' | 'bad';

export interface MigrationFacts {
  readonly title: string;
  readonly outcome: Migration['outcome'];
  /** When the migration starts, or why there is no time. */
  readonly when: string;
  readonly facts: readonly (readonly [label: string, value: string, tone: FactTone])[];
}

function src(s: Source): string {
  return s.line !== undefined ? `${s.file}:${s.line}` : s.byteOffset !== undefined ? `${s.file}@${s.byteOffset}` : s.file;
}

export function ms(n: number): string {
  return n < 10 ? `${n.toFixed(3)} ms` : n < 10_000 ? `${n.toFixed(1)} ms` : `${(n / 1000).toFixed(3)} s`;
}

function bytes(b: bigint): string {
  const n = Number(b);
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export function migrationFacts(m: Migration): MigrationFacts {
  const at = (t: bigint | undefined): string => (t === undefined || m.startNs === undefined ? '' : ` +${ms(Number(t - m.startNs) / 1e6)}`);
  const when =
    m.startNs === undefined ? 'no time in these inputs (order only)' : m.clock === 'wall' ? new Date(Number(m.startNs / 1_000_000n)).toISOString() : `trace clock ${m.startNs} ns (not wall-clock)`;
  const span = m.startNs !== undefined && m.endNs !== undefined ? `, ${ms(Number(m.endNs - m.startNs) / 1e6)} seen` : '';
  const f: [string, string, FactTone][] = [];
  // Which host this side ran on: with both hosts' inputs, the one fact that tells the two apart.
  f.push(['host', m.host !== undefined ? `${m.host.name} (${m.host.how})` : 'not named by its inputs (--host FILE=NAME names it)', 'plain']);
  f.push(['inputs', m.inputs.join(', '), 'plain']);
  f.push(['side', `${m.side} (${m.sideEvidence})`, 'plain']);
  if (m.peer !== undefined) f.push(['peer', m.peer, 'plain']);
  if (m.uri !== undefined) f.push(['uri', m.uri, 'plain']);
  f.push(['status', m.statuses.map((s) => `${s.status}${at(s.tsNs)}`).join(' → ') || 'none seen', 'plain']);
  if (m.phases.length > 0) f.push(['phases', m.phases.map((p) => `${p.name} ${ms(p.durationMs)}`).join(', '), 'plain']);
  if (m.figuresFrom !== undefined) {
    const parts = [
      m.setupTimeMs !== undefined ? `setup ${m.setupTimeMs} ms` : undefined,
      m.downtimeMs !== undefined ? `downtime ${m.downtimeMs} ms` : undefined,
      m.totalTimeMs !== undefined ? `total ${m.totalTimeMs} ms` : undefined,
      m.expectedDowntimeMs !== undefined ? `expected downtime ${m.expectedDowntimeMs} ms` : undefined,
    ].filter((x) => x !== undefined);
    f.push([`QEMU (query-migrate, ${src(m.figuresFrom)})`, parts.join(', '), 'plain']);
  } else f.push(['QEMU figures', 'no query-migrate reply in the inputs (setup time, downtime, total time unknown)', 'plain']);
  if (m.downtimeLimitMs !== undefined) {
    const over = m.downtimeMs !== undefined && m.downtimeMs > m.downtimeLimitMs;
    f.push(['downtime limit', `${m.downtimeLimitMs} ms${over ? ' (exceeded)' : ''}`, over ? 'warn' : 'plain']);
  }
  const data = [
    m.ramTransferredBytes !== undefined ? `RAM ${bytes(m.ramTransferredBytes)} transferred${m.ramTotalBytes !== undefined ? ` (of ${bytes(m.ramTotalBytes)})` : ''}` : undefined,
    m.vfioTransferredBytes !== undefined ? `VFIO ${bytes(m.vfioTransferredBytes)} transferred` : undefined,
    m.passes !== undefined ? `${m.passes} pass(es)` : undefined,
  ].filter((x) => x !== undefined);
  if (data.length > 0) f.push(['data', data.join(', '), 'plain']);
  const vm = [m.vmStopNs !== undefined ? `stopped${at(m.vmStopNs)}` : undefined, m.vmResumeNs !== undefined ? `resumed${at(m.vmResumeNs)}` : undefined].filter((x) => x !== undefined);
  if (vm.length > 0) f.push(['VM', vm.join(', '), 'plain']);
  if (m.observedDowntimeMs !== undefined) f.push(['observed downtime', `${ms(m.observedDowntimeMs)} (destination RESUME − source STOP; assumes the hosts' clocks agree)`, 'plain']);
  if (m.errorDesc !== undefined) f.push(['error', m.errorDesc, 'bad']);
  for (const d of m.devices) {
    f.push([`device ${d.id} (from ${d.via.join(', ')})`, d.states.map((s) => `${s.state}${at(s.tsNs)}`).join(' → ') || 'no state change seen', 'plain']);
    for (const n of d.notes) f.push(['  note', n, 'warn']);
  }
  for (const n of m.notes) f.push(['note', n, 'plain']);
  return { title: `Migration ${m.id}${m.host !== undefined ? ` on ${m.host.name}` : ''}`, outcome: m.outcome, when: `${when}${span}`, facts: f };
}
