// exportAnalysis: send a finished Analysis to OpenTelemetry (`migscope analyze --export`).
//
// Usage from the CLI (src/cli/analyze.ts):
//
//   import { exportAnalysis, exportOptionsFromFlags, formatSummary } from '../export/index.js';
//   const summary = await exportAnalysis(analysis, exportOptionsFromFlags(flags));
//   process.stderr.write(formatSummary(summary));
//   if (!summary.ok) exitCode = EXIT_EXPORT_FAILED;   // something was lost
//
// Configuration comes from the standard OTEL_* variables (docs/telemetry.md
// "Configuration"); the call never throws for export trouble (it is in the summary) and
// returns within the shutdown timeout. The OTLP exporters may leave a keep-alive socket or
// a retry timer behind after a timed-out shutdown, so a CLI that wants to exit at once
// should set process.exitCode and call process.exit() after printing.

import type { Analysis } from '../analysis/types.js';
import type { Finding } from '../check/types.js';
import type { DeviceTimeline, MigrationSession, StateInterval, StateWrite } from '../track/types.js';
import { createExporter, type ExportOptions, type MigscopeExporter } from './exporter.js';
import type { ExportSummary } from './summary.js';

const INF = BigInt(Number.MAX_SAFE_INTEGER) ** 3n;

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortedBy<T>(items: readonly T[], ts: (t: T) => bigint | undefined): boolean {
  let prev: bigint | undefined;
  for (const it of items) {
    const t = ts(it);
    if (t === undefined) continue;
    if (prev !== undefined && t < prev) return false;
    prev = t;
  }
  return true;
}

interface Window {
  readonly session: MigrationSession;
  readonly s: bigint | undefined;
  readonly e: bigint;
}

/**
 * Per-session slices of the device's timeline and writes, in one pass over each (a device
 * with 100,000 sessions must not cost 100,000 full scans). planSession filters exactly
 * inside the slice; the slice only has to contain every candidate.
 */
function sliceDevice(d: DeviceTimeline, windows: readonly Window[]): { timeline: readonly StateInterval[]; writes: readonly StateWrite[] }[] {
  const ordered =
    sortedBy(d.timeline, (iv) => iv.startNs) &&
    sortedBy(d.stateWrites, (w) => w.tsNs) &&
    sortedBy(windows, (w) => w.s);
  if (!ordered) return windows.map(() => ({ timeline: d.timeline, writes: d.stateWrites }));
  const out: { timeline: readonly StateInterval[]; writes: readonly StateWrite[] }[] = [];
  let ilo = 0;
  let wlo = 0;
  for (const w of windows) {
    if (w.s === undefined) {
      out.push({ timeline: [], writes: [] });
      continue;
    }
    const s = w.s;
    // Skip intervals wholly before the window (and untimed ones, never children).
    for (;;) {
      const iv = d.timeline[ilo];
      if (iv === undefined) break;
      const before = iv.startNs === undefined || (iv.startNs < s && iv.endNs !== undefined && iv.endNs <= s);
      if (!before) break;
      ilo++;
    }
    let ihi = ilo;
    for (;;) {
      const iv = d.timeline[ihi];
      if (iv === undefined || (iv.startNs !== undefined && iv.startNs > w.e)) break;
      ihi++;
    }
    for (;;) {
      const wr = d.stateWrites[wlo];
      if (wr === undefined || (wr.tsNs !== undefined && wr.tsNs >= s)) break;
      wlo++;
    }
    let whi = wlo;
    for (;;) {
      const wr = d.stateWrites[whi];
      if (wr === undefined || (wr.tsNs !== undefined && wr.tsNs > w.e)) break;
      whi++;
    }
    out.push({ timeline: d.timeline.slice(ilo, ihi), writes: d.stateWrites.slice(wlo, whi) });
  }
  return out;
}

/**
 * A session's own intervals and state writes, as the tracker handed them over when it
 * ended (track onSessionEnd): for devices whose lists the per-device cap cut short, the
 * sessions past the cap are only complete here. Keyed by the session's `src` (kept by every
 * copy a later stage makes of the session), or by the session object.
 */
export interface SessionSlices {
  get(session: MigrationSession): { readonly timeline: readonly StateInterval[]; readonly stateWrites: readonly StateWrite[] } | undefined;
}

/** Returns the sessions exported without all their state spans (cut by the cap, no slice of their own). */
async function exportDevice(exp: MigscopeExporter, a: Analysis, d: DeviceTimeline, findings: readonly Finding[], own: SessionSlices | undefined): Promise<number> {
  let short = 0;
  // The traced host the device is on (the name its input gives, or --host); else Analysis.host.
  const host = d.host ?? a.host;
  const windows: Window[] = d.sessions.map((session) => ({
    session,
    s: session.startNs,
    e: session.endNs ?? INF,
  }));
  const slices = sliceDevice(d, windows);
  // The device's lists were cut short by the cap: a session whose items were not all kept
  // takes the slice the tracker handed over when it ended (complete, held past the cap).
  const cut = d.intervalsDropped > 0 || (d.stateWritesDropped ?? 0) > 0;
  // Findings in time order; each goes to the first session whose [start, end] holds it.
  const timed = findings.filter((f) => f.tsNs !== undefined).sort((x, y) => cmp(x.tsNs ?? 0n, y.tsNs ?? 0n));
  const untimed = findings.filter((f) => f.tsNs === undefined);
  const attached: Finding[][] = windows.map(() => []);
  const orphansBefore: Finding[][] = windows.map(() => []);
  const orphansAfter: Finding[] = [];
  let k = 0;
  for (const f of timed) {
    const t = f.tsNs ?? 0n;
    while (k < windows.length) {
      const w = windows[k];
      if (w === undefined || w.s === undefined || w.e < t) k++;
      else break;
    }
    const w = windows[k];
    if (w !== undefined && w.s !== undefined && w.s <= t) attached[k]?.push(f);
    else if (w !== undefined) orphansBefore[k]?.push(f);
    else orphansAfter.push(f);
  }
  for (let i = 0; i < windows.length; i++) {
    for (const f of orphansBefore[i] ?? []) await exp.finding({ host, clock: a.clock, finding: f });
    const w = windows[i];
    const kept = slices[i];
    const mine = cut && w !== undefined ? own?.get(w.session) : undefined;
    const slice = mine !== undefined ? { timeline: mine.timeline, writes: mine.stateWrites } : kept;
    if (w === undefined || slice === undefined) continue;
    // Past the cap without a slice of its own, the session's state spans may be missing:
    // counted, so the export fails (exit 3) rather than claiming nothing was lost.
    if (cut && mine === undefined && sessionMayBeCut(d, w)) short++;
    await exp.session({
      host,
      clock: a.clock,
      device: { ...d, timeline: slice.timeline, stateWrites: slice.writes, sessions: [w.session] },
      session: w.session,
      findings: attached[i] ?? [],
    });
  }
  for (const f of [...orphansAfter, ...untimed]) await exp.finding({ host, clock: a.clock, finding: f });
  const last = d.timeline[d.timeline.length - 1];
  exp.deviceState(host, d, last?.raw);
  return short;
}

/** The device's kept intervals end before this session does: its items lie past the cap. */
function sessionMayBeCut(d: DeviceTimeline, w: Window): boolean {
  const last = d.timeline[d.timeline.length - 1];
  if (last === undefined) return true;
  const keptTo = last.endNs ?? last.startNs;
  return keptTo === undefined || keptTo <= w.e;
}

/**
 * The host of the analysis' input counters and of findings no device lists: the traced
 * host when every named device and migration is on one (case-insensitively), else
 * Analysis.host (the counts are totals over all inputs, not split by host).
 */
function inputHost(a: Analysis): string | undefined {
  const named = [...a.devices.map((d) => d.host), ...(a.migrations ?? []).map((m) => m.host?.name)].filter((h) => h !== undefined);
  const first = named[0];
  return first !== undefined && named.every((h) => h.toLowerCase() === first.toLowerCase()) ? first : a.host;
}

/**
 * Export an Analysis as OpenTelemetry spans and metrics (docs/telemetry.md) through the
 * SDK and the official exporters, configured from the OTEL_* environment variables, and
 * report what was delivered. Never throws for export failures; bounded in time.
 */
export async function exportAnalysis(analysis: Analysis, opts: ExportOptions = {}, sessionSlices?: SessionSlices): Promise<ExportSummary> {
  const exp = createExporter({ ...opts, serviceVersion: opts.serviceVersion ?? analysis.tool.version });
  let thrown: { readonly error: unknown } | undefined;
  let short = 0;
  try {
    exp.input(inputHost(analysis), { records: analysis.input.records, malformed: analysis.input.malformed, lostEvents: analysis.input.lostEvents });
    const byDevice = new Map<string, Finding[]>();
    for (const f of analysis.findings) {
      const list = byDevice.get(f.device);
      if (list === undefined) byDevice.set(f.device, [f]);
      else list.push(f);
    }
    for (const d of analysis.devices) {
      short += await exportDevice(exp, analysis, d, byDevice.get(d.id) ?? [], sessionSlices);
      byDevice.delete(d.id);
    }
    for (const m of analysis.migrations ?? []) await exp.migration(m, analysis.clock, m.host?.name ?? analysis.host);
    // Findings about devices the timeline does not list.
    for (const list of byDevice.values()) for (const f of list) await exp.finding({ host: inputHost(analysis), clock: analysis.clock, finding: f });
  } catch (error) {
    thrown = { error };
  }
  // Even if building spans threw, shut the pipelines down (bounded) before rethrowing.
  const summary = await exp.shutdown();
  if (thrown !== undefined) throw thrown.error;
  if (short === 0) return summary;
  return {
    ...summary,
    sessionsCut: short,
    ok: false,
    notes: [...summary.notes, `${short} sessions past the tracker's per-device cap were exported without all their state spans (their intervals were not kept)`],
  };
}
