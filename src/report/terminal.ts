// The terminal view of an analysis: one block per device (timeline rows: state, start,
// duration, bytes; sessions), then the findings with their evidence as file:line.

import { formatSource } from '../record/source-text.js';
import type { Analysis } from '../analysis/types.js';
import { summarize } from '../analysis/summary.js';
import type { Finding } from '../check/types.js';
import type { DeviceTimeline } from '../track/types.js';
import { sessionTotals } from '../track/session-list.js';
import type { Source } from '../record/types.js';
import { migrationsBlock } from './migrations-terminal.js';
import { convergenceLines } from './convergence-terminal.js';
import { formatBytes, formatDuration } from './terminal-format.js';
import { notJudgedLines } from './not-judged-text.js';

export { formatBytes, formatDuration } from './terminal-format.js';

export interface TerminalOptions {
  readonly color: boolean;
  /** Rows shown per device timeline before eliding the middle. */
  readonly maxRows?: number;
}

export { formatSource };

function rel(ts: bigint | undefined, origin: bigint | undefined): string {
  if (ts === undefined || origin === undefined) return '?';
  const d = ts - origin;
  const sign = d < 0n ? '-' : '+';
  const abs = d < 0n ? -d : d;
  const s = abs / 1_000_000_000n;
  const us = (abs % 1_000_000_000n) / 1_000n;
  return `${sign}${s}.${us.toString().padStart(6, '0')}s`;
}

function paint(on: boolean, code: string, s: string): string {
  return on ? `\x1b[${code}m${s}\x1b[0m` : s;
}

/** A raw state value as the protocol writes it: v1 device_state bits ("011b"), v2 the enum value. */
function rawText(d: DeviceTimeline, raw: number): string {
  return d.protocol === 'v2' ? String(raw) : `${raw.toString(2).padStart(3, '0')}b`;
}

/** v2 devices have no migration region: their migration flags and where they came from. */
function v2FlagsText(d: DeviceTimeline): string {
  const f = d.v2Flags;
  if (f === undefined) return 'migration flags unknown';
  const names = [f & 1 ? 'STOP_COPY' : '', f & 2 ? 'P2P' : '', f & 4 ? 'PRE_COPY' : ''].filter((x) => x !== '').join('|') || 'none';
  return `migration flags ${names} (${d.v2FlagsSource === 'feature' ? 'from MIGRATION GET' : 'inferred from the states seen'})`;
}

/** A device's lines one at a time: a device of 50,000 sessions is never one array of its lines (issue 13). */
function* deviceBlock(d: DeviceTimeline, origin: bigint | undefined, o: TerminalOptions, showHost: boolean): Generator<string> {
  const region =
    d.protocol === 'v2'
      ? v2FlagsText(d)
      : d.region === undefined
        ? 'migration region not found'
        : `region ${d.region.index ?? '?'} at 0x${d.region.offset.toString(16)} (${d.region.source})`;
  yield paint(o.color, '1', `device ${d.id}`) + (showHost ? `  on ${d.host ?? 'a host no input names'},` : '') + `  pid ${d.pid ?? '?'}${d.comm !== undefined ? ` (${d.comm})` : ''}, fd ${d.fd}, protocol ${d.protocol}, ${region}`;
  // identity says how two views were joined, or why they were not (decode/decoder.ts joins).
  if (d.identity !== undefined) yield /\bnot joined\b/.test(d.identity) ? `  not joined with another view of a device: ${d.identity}` : `  one device (syscall view + QEMU's view): ${d.identity}`;
  if (d.unplaced !== undefined) {
    yield `  ${d.unplaced.count} accesses could not be placed: no migration region found (${d.unplaced.first.map(formatSource).join(', ')}${d.unplaced.count > d.unplaced.first.length ? ', …' : ''})`;
    yield `  ${d.unplaced.hint}`;
  }
  if (d.region?.source === 'inferred') yield `  ${d.region.evidence}`;
  yield `  ${'STATE'.padEnd(18)}${'START'.padEnd(16)}${'DURATION'.padEnd(14)}${'BYTES'.padEnd(12)}`;
  const rows = d.timeline;
  const max = o.maxRows ?? 60;
  const show = rows.length <= max ? rows : [...rows.slice(0, max / 2), undefined, ...rows.slice(rows.length - max / 2)];
  for (const iv of show) {
    if (iv === undefined) {
      yield `  … ${rows.length - max} more intervals (see --json) …`;
      continue;
    }
    const dur = iv.startNs !== undefined && iv.endNs !== undefined ? formatDuration(iv.endNs - iv.startNs) + (iv.openAtEnd === true ? '+' : '') : '?';
    const name = iv.raw !== undefined ? `${iv.state} (${rawText(d, iv.raw)})` : iv.state;
    const mark = iv.certainty === 'known' ? '' : ` [${iv.certainty}]`;
    yield `  ${name.padEnd(18)}${rel(iv.startNs, origin).padEnd(16)}${dur.padEnd(14)}${formatBytes(iv.bytes).padEnd(12)}${mark}`;
  }
  if (d.intervalsDropped > 0) yield `  (${d.intervalsDropped} intervals past the per-device limit were not kept)`;
  // Every cap says what it dropped (issue 13): state writes and pending_bytes samples too.
  if ((d.stateWritesDropped ?? 0) > 0) yield `  (${d.stateWritesDropped} state writes past the per-device limit were not kept)`;
  if ((d.sessionsDropped ?? 0) > 0) yield `  (${d.sessionsDropped} earlier sessions past the per-device limit were not kept)`;
  const pendingDropped = sessionTotals(d.sessions).pendingDropped;
  if (pendingDropped > 0) yield `  (${pendingDropped} pending_bytes samples past the per-session limit were not kept)`;
  // In one pass, not gathered first: the writes may be read back from the spill file, and
  // a list of the failed ones held while their lines go out outlives young collections.
  for (const w of d.stateWrites) {
    if (w.result !== 'failed') continue;
    const rb = w.readBackRaw !== undefined ? `, read back ${rawText(d, w.readBackRaw)}` : ', no read-back';
    yield `  ${paint(o.color, '31', 'failed write')} ${w.from} → ${w.to} at ${rel(w.tsNs, origin)}: errno ${w.errno ?? '?'}${rb} (${formatSource(w.src)})`;
  }
  // v2: a SET of a combination walks several arcs inside one ioctl (spec §5.5); list them.
  for (const w of d.stateWrites) {
    if (w.result === 'ok' && w.path !== undefined && w.path.length > 1) yield `  SET ${w.from} → ${w.to} at ${rel(w.tsNs, origin)} walked ${w.path.join(' › ')}`;
  }
  if (d.resets > 0) yield `  device resets: ${d.resets}`;
  for (const s of d.sessions) {
    const dur = s.startNs !== undefined && s.endNs !== undefined ? formatDuration(s.endNs - s.startNs) : '?';
    yield (
      `  session ${s.kind} ${paint(o.color, s.outcome === 'completed' ? '32' : '31', s.outcome)} at ${rel(s.startNs, origin)} for ${dur}: ` +
        `${s.states.join(' → ')}; ${s.iterations} iterations, ${formatBytes(s.bytes)}, not running ${formatDuration(s.notRunningNs)}`
    );
    if (s.partial === true) yield '    began before what the trace shows (state before it unknown): its start, iterations and bytes are lower bounds';
    if (s.reason !== undefined) yield `    why: ${s.reason}${s.reasonSrc !== undefined ? ` (${formatSource(s.reasonSrc)})` : ''}`;
    if (s.convergence !== undefined) yield* convergenceLines(s.convergence);
  }
}

function findingBlock(f: Finding, origin: bigint | undefined, o: TerminalOptions): string[] {
  const sev = f.severity === 'error' ? paint(o.color, '31;1', 'ERROR  ') : paint(o.color, '33', 'WARNING');
  const cert = f.certainty === 'uncertain' ? ' (uncertain: events were lost nearby)' : '';
  const out = [`${sev} ${f.rule.padEnd(22)} blame ${f.blame.padEnd(7)}${rel(f.tsNs, origin).padEnd(14)}${f.device}${cert}`, `        ${f.message}`];
  for (const e of f.evidence) out.push(`        ${formatSource(e.src)}  ${e.what}`);
  return out;
}

/** Signed seconds, exact to the ns: the offset an input's stamps were moved by. */
function signedSeconds(ns: bigint): string {
  const a = ns < 0n ? -ns : ns;
  return `${ns < 0n ? '-' : '+'}${a / 1_000_000_000n}.${(a % 1_000_000_000n).toString().padStart(9, '0')} s`;
}

/** How several inputs were put on one host's timeline, or why one was not (src/cli/input-merge.ts). */
function placementLines(a: Analysis): string[] {
  const placed = a.input.files.filter((f) => f.placement !== undefined || f.detection !== undefined);
  if (placed.length === 0) return [];
  const out = ['inputs:'];
  for (const f of placed) {
    // Where detection found the format, when it had to read past the first lines.
    if (f.detection !== undefined) out.push(`  ${f.path}: ${f.detection}`);
    const p = f.placement;
    if (p === undefined) continue;
    // The host the input names itself, where its placement does not say it (a kept-apart
    // input's rule does; --host may have put it elsewhere; a libvirt log gives the FQDN).
    if (f.host !== undefined && p.merged && p.host?.toLowerCase() !== f.host.name.toLowerCase()) out.push(`  ${f.path}: names its host ${f.host.name} (${f.host.how})`);
    if (!p.merged) out.push(`  ${f.path}: kept separate: ${p.rule}`);
    else if (p.timeline === f.path) out.push(`  ${f.path}: the timeline of ${p.host ?? 'its host'} (${p.hostRule}); ${p.rule}`);
    else out.push(`  ${f.path}: merged into it, offset ${p.offsetNs !== undefined ? signedSeconds(p.offsetNs) : '?'}: ${p.rule}`);
    // A second host's capture: its times are on the analysis' clock now (said once, at its timeline).
    if (f.clockShift !== undefined && (p.timeline === undefined || p.timeline === f.path)) out.push(`  ${f.path}: ${f.clockShift.rule}`);
  }
  return out;
}

/** The whole text, for tests and small analyses; `analyze` writes terminalChunks as they come. */
export function renderTerminal(a: Analysis, o: TerminalOptions): string {
  let s = '';
  for (const c of terminalChunks(a, o)) s += c;
  return s;
}

/**
 * The terminal text in pieces, each a line with its newline, in order: what `analyze` writes
 * as it goes, so that the text of 50,000 sessions is never held at once (issue 13: the
 * joined text and its lines took 340 MB on a 470 MB trace).
 */
export function* terminalChunks(a: Analysis, o: TerminalOptions): Generator<string> {
  for (const line of terminalLines(a, o)) yield `${line}\n`;
}

function* terminalLines(a: Analysis, o: TerminalOptions): Generator<string> {
  const origin = a.input.firstTsNs;
  const sum = summarize(a);
  const files = a.input.files.map((f) => `${f.path} (${f.format}${f.clock !== undefined ? `, clock ${f.clock}` : ''}${f.host !== undefined ? `, host ${f.host.name}` : ''})`).join(', ');
  yield `migscope ${a.tool.version}: ${files}`;
  yield* placementLines(a);
  const wallInputs = a.input.files.length > 0 && a.input.files.every((f) => f.clock === 'realtime' || f.clock === 'order-only' || f.clock === undefined) && a.input.files.some((f) => f.clock === 'realtime');
  if (origin !== undefined) {
    const clock = wallInputs
      ? `trace start ${new Date(Number(origin / 1_000_000n)).toISOString()} (wall clock: the inputs' own stamps)`
      : a.clock.offsetNs !== undefined
        ? `trace start ${new Date(Number((origin + a.clock.offsetNs) / 1_000_000n)).toISOString()} (wall clock from ${a.clock.source === 'sync' ? 'the capture\'s clock-sync record' : '--clock-offset'})`
        : 'times are trace-relative (no clock-sync record; set --clock-offset for wall-clock times)';
    yield clock;
  }
  yield '';
  const migrations = a.migrations ?? [];
  yield* migrationsBlock(migrations, o.color);
  if (a.devices.length === 0 && migrations.length > 0) {
    yield 'No VFIO device in these inputs (device timelines need VFIO trace events, QMP VFIO_MIGRATION events or a syscall capture).';
    yield '';
  } else if (a.devices.length === 0) {
    yield 'No VFIO device found in this trace. migscope looks for VFIO_GROUP_GET_DEVICE_FD, /dev/vfio opens,';
    yield 'GET_REGION_INFO replies with a migration region, or the v1 header access pattern; use';
    yield '--device PID:FD=NAME and --region PID:FD=OFFSET when the capture started after the device was opened.';
    yield '';
  }
  // With inputs of two hosts the same BDF is on both: each device says whose it is.
  const hosts = new Set([...a.devices.map((d) => d.host?.toLowerCase()), ...migrations.map((m) => m.host?.name.toLowerCase())].filter((h) => h !== undefined));
  for (const d of a.devices) {
    yield* deviceBlock(d, origin, o, hosts.size > 1);
    yield '';
  }
  if (a.findings.length > 0) {
    yield paint(o.color, '1', `Findings (${a.findings.length})`);
    for (const f of a.findings) yield* findingBlock(f, origin, o);
    yield '';
  }
  const inp = a.input;
  yield (
    `${sum.devices} device(s), ${sum.sessions} session(s) (${Object.entries(sum.outcomes).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`).join(', ') || 'none'}); ` +
      `${sum.bySeverity.error} error(s), ${sum.bySeverity.warning} warning(s) (vmm ${sum.byBlame.vmm}, driver ${sum.byBlame.driver}${sum.uncertain > 0 ? `, ${sum.uncertain} uncertain` : ''})`
  );
  yield (
    `input: ${inp.records} records, ${inp.malformed} malformed, ` +
      `${inp.duplicates > 0 ? `${inp.duplicates} duplicate(s) dropped, ` : ''}${inp.timeBackwards > 0 ? `${inp.timeBackwards} backwards time step(s), ` : ''}` +
      `${inp.lostEvents} lost events${inp.gaps.length > 0 ? ` in ${inp.gaps.length} gap(s)` : ''}`
  );
  for (const p of inp.problems.slice(0, 10)) yield `  ${formatSource(p.src)}: ${p.message}`;
  if (inp.problems.length > 10 || inp.problemsDropped > 0) yield `  … ${inp.problems.length - 10 + inp.problemsDropped} more (see --json)`;
  yield* notJudgedLines(a);
}
