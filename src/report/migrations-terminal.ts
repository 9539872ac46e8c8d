// The terminal view of the `migrations` section (track/migration-types.ts): per migration
// and host, its status sequence with times, outcome, QEMU's own figures (query-migrate),
// the phases, the VM stop/resume, the devices and where each fact came from.

import type { Migration } from '../track/migration-types.js';
import type { Source } from '../record/types.js';

function src(s: Source): string {
  return s.line !== undefined ? `${s.file}:${s.line}` : s.byteOffset !== undefined ? `${s.file}@${s.byteOffset}` : s.file;
}

function ms(n: number): string {
  return n < 10 ? `${n.toFixed(3)} ms` : n < 10_000 ? `${n.toFixed(1)} ms` : `${(n / 1000).toFixed(3)} s`;
}

function bytes(b: bigint): string {
  const n = Number(b);
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

function at(t: bigint | undefined, m: Migration): string {
  if (t === undefined || m.startNs === undefined) return '';
  return ` +${ms(Number(t - m.startNs) / 1e6)}`;
}

function paint(on: boolean, code: string, s: string): string {
  return on ? `\x1b[${code}m${s}\x1b[0m` : s;
}

export function migrationLines(m: Migration, color: boolean): string[] {
  const outcome = m.outcome === 'completed' ? paint(color, '32', m.outcome) : m.outcome === 'unknown' ? paint(color, '33', m.outcome) : paint(color, '31;1', m.outcome);
  const start =
    m.startNs === undefined ? 'no time in these inputs (order only)' : m.clock === 'wall' ? new Date(Number(m.startNs / 1_000_000n)).toISOString() : `trace clock ${m.startNs} ns (not wall-clock)`;
  const span = m.startNs !== undefined && m.endNs !== undefined ? `, ${ms(Number(m.endNs - m.startNs) / 1e6)} seen` : '';
  const out = [paint(color, '1', `Migration ${m.id}`) + ` ${outcome}  ${start}${span}${m.peer !== undefined ? `  peer ${m.peer}` : ''}`];
  out.push(`  inputs: ${m.inputs.join(', ')}`);
  out.push(`  side: ${m.side} (${m.sideEvidence})`);
  if (m.uri !== undefined) out.push(`  uri: ${m.uri}`);
  out.push(`  status: ${m.statuses.map((s) => `${s.status}${at(s.tsNs, m)}`).join(' → ') || 'none seen'}`);
  if (m.phases.length > 0) out.push(`  phases: ${m.phases.map((p) => `${p.name} ${ms(p.durationMs)}`).join(', ')}`);
  if (m.figuresFrom !== undefined) {
    const parts = [
      m.setupTimeMs !== undefined ? `setup ${m.setupTimeMs} ms` : undefined,
      m.downtimeMs !== undefined ? `downtime ${m.downtimeMs} ms` : undefined,
      m.totalTimeMs !== undefined ? `total ${m.totalTimeMs} ms` : undefined,
      m.expectedDowntimeMs !== undefined ? `expected downtime ${m.expectedDowntimeMs} ms` : undefined,
    ].filter((x) => x !== undefined);
    out.push(`  QEMU (query-migrate, ${src(m.figuresFrom)}): ${parts.join(', ')}`);
  } else out.push('  QEMU figures: no query-migrate reply in the inputs (setup time, downtime, total time unknown)');
  if (m.downtimeLimitMs !== undefined) out.push(`  downtime limit: ${m.downtimeLimitMs} ms${m.downtimeMs !== undefined && m.downtimeMs > m.downtimeLimitMs ? paint(color, '33', ' (exceeded)') : ''}`);
  const data = [
    m.ramTransferredBytes !== undefined ? `RAM ${bytes(m.ramTransferredBytes)} transferred${m.ramTotalBytes !== undefined ? ` (of ${bytes(m.ramTotalBytes)})` : ''}` : undefined,
    m.vfioTransferredBytes !== undefined ? `VFIO ${bytes(m.vfioTransferredBytes)} transferred` : undefined,
    m.passes !== undefined ? `${m.passes} pass(es)` : undefined,
  ].filter((x) => x !== undefined);
  if (data.length > 0) out.push(`  data: ${data.join(', ')}`);
  const vm = [m.vmStopNs !== undefined ? `stopped${at(m.vmStopNs, m)}` : undefined, m.vmResumeNs !== undefined ? `resumed${at(m.vmResumeNs, m)}` : undefined].filter((x) => x !== undefined);
  if (vm.length > 0) out.push(`  VM: ${vm.join(', ')}`);
  if (m.observedDowntimeMs !== undefined) out.push(`  observed downtime: ${ms(m.observedDowntimeMs)} (destination RESUME − source STOP; assumes the hosts' clocks agree)`);
  if (m.errorDesc !== undefined) out.push(paint(color, '31', `  error: ${m.errorDesc}`));
  for (const d of m.devices) {
    const states = d.states.map((s) => `${s.state}${at(s.tsNs, m)}`).join(' → ');
    out.push(`  device ${d.id} (from ${d.via.join(', ')}): ${states || 'no state change seen'}`);
    for (const n of d.notes) out.push(paint(color, '33', `    note: ${n}`));
  }
  for (const n of m.notes) out.push(`  note: ${n}`);
  return out;
}

export function migrationsBlock(ms_: readonly Migration[], color: boolean): string[] {
  if (ms_.length === 0) return [];
  const out = [paint(color, '1', `Migrations (${ms_.length})`)];
  for (const m of ms_) out.push(...migrationLines(m, color), '');
  return out;
}
