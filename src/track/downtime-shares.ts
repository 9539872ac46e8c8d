// Each device's share of a migration's downtime, settled after the last input (like
// stream-pairing.ts): a save's stop-copy against the other devices' stop-copies that
// overlapped it (the longest of them, and which device dominated), and QEMU's own downtime
// figure (query-migrate) of the migration the stop-copy fell in. Times of different inputs
// are compared only on one clock: wall-clock, or one input's own trace clock.

import { extended, type Building } from '../record/extended.js';
import type { Migration } from './migration-types.js';
import type { DeviceTimeline, MigrationSession, SessionConvergence } from './types.js';
import { type Interval, IntervalIndex, RowIntervalIndex } from './interval-index.js';
import { bigColumn, getBig, grown, setBig } from './columns.js';
import { headsOf, mapListLazy } from './spilled-list.js';
import { type Window, windowFromHead, windowOf } from './stop-copy-window.js';

export interface ClockContext {
  /** The clock each input reported. */
  readonly clockOf: (file: string) => string | undefined;
  /** wall = trace + offset (clock-sync record or --clock-offset). */
  readonly traceOffsetNs: bigint | undefined;
}

/** The window on wall-clock time, or undefined when its input's clock cannot be put there. */
function wall(w: Window, ctx: ClockContext): { start: bigint; end: bigint } | undefined {
  if (w.file === undefined) return undefined;
  if (ctx.clockOf(w.file) === 'realtime') return { start: w.startNs, end: w.endNs };
  if (ctx.traceOffsetNs !== undefined && ctx.clockOf(w.file) !== 'order-only' && ctx.clockOf(w.file) !== undefined) return { start: w.startNs + ctx.traceOffsetNs, end: w.endNs + ctx.traceOffsetNs };
  return undefined;
}

/**
 * Where a window can be compared with others: on wall-clock time when its input's clock
 * can be put there, else only with windows of its own input, on that input's trace clock.
 * (For two windows of one input both ways give the same answer: one offset moves both.)
 */
function placed(w: Window, ctx: ClockContext): { readonly domain: string; readonly start: bigint; readonly end: bigint } | undefined {
  const ww = wall(w, ctx);
  if (ww !== undefined) return { domain: 'wall', start: ww.start, end: ww.end };
  return w.file !== undefined ? { domain: `file:${w.file}`, start: w.startNs, end: w.endNs } : undefined;
}

/** Source-side migrations by the clock they can be compared on: wall, or one input's trace clock. */
interface MigrationIndex {
  readonly wall: IntervalIndex<Migration>;
  readonly byInput: ReadonlyMap<string, IntervalIndex<Migration>>;
}

function indexMigrations(migrations: readonly Migration[]): MigrationIndex {
  const wallOnes: Interval<Migration>[] = [];
  const traceOnes = new Map<string, Interval<Migration>[]>();
  for (const m of migrations) {
    if (m.side === 'destination' || m.startNs === undefined || m.endNs === undefined) continue;
    const iv = { start: m.startNs, end: m.endNs, item: m };
    if (m.clock === 'wall') wallOnes.push(iv);
    else if (m.clock === 'trace') {
      for (const f of m.inputs) {
        const list = traceOnes.get(f);
        if (list === undefined) traceOnes.set(f, [iv]);
        else list.push(iv);
      }
    }
  }
  return { wall: new IntervalIndex(wallOnes), byInput: new Map([...traceOnes].map(([f, ivs]) => [f, new IntervalIndex(ivs)])) };
}

/** The one source-side migration whose span holds the stop-copy window, on a clock both share. */
function migrationOf(w: Window, index: MigrationIndex, ctx: ClockContext): Migration | undefined {
  const found = new Set<Migration>();
  const ww = wall(w, ctx);
  // reaching(end, start): the spans that begin by the window's start and end after its end.
  if (ww !== undefined) for (const iv of index.wall.reaching(ww.end, ww.start)) found.add(iv.item);
  // A trace-clock migration is comparable only with its own input's times.
  const own = w.file !== undefined ? index.byInput.get(w.file) : undefined;
  if (own !== undefined) for (const iv of own.reaching(w.endNs, w.startNs)) found.add(iv.item);
  return found.size === 1 ? [...found][0] : undefined;
}

/**
 * The stop-copy windows that share one clock domain, a row each: columns, not an object per
 * window (a 2 GB trace has one per session, 237,308; as objects they held ~75 MB, issue 13).
 * Rows are added in device/session order, so a lower row is an earlier window: ties between
 * equally long windows go to it. 18 bytes a row (start, end, device): the
 * duration is end − start (placed() moves both ends by one offset), kept aside only for a
 * window whose duration is not (a session convergence.ts did not make). On a 2 GB trace.dat
 * (559,106 windows) the run ended with 49.8 MB of array buffers while the table also had
 * an order and a duration column and spilled-list.ts's positions doubled; 28.7 MB after.
 * The columns start with room for every session not yet looked at (an upper bound on the
 * rows; pages never written are not resident): grown by copying and then cut to their
 * rows, the copies left behind (≈ 17 MB on a 2 GB trace.dat, by their sizes) were garbage
 * until a full collection.
 */
class WindowTable {
  readonly start = bigColumn();
  readonly end = bigColumn();
  /** Device numbers: 2 bytes a row, widened to 4 past 65,535 devices (1.1 MB less for 559,106 windows). */
  device: Uint16Array | Int32Array;
  rows = 0;
  /** Durations that are not end − start, by row. */
  private readonly odd = new Map<number, bigint>();
  private index: RowIntervalIndex | undefined;

  constructor(capacity: number) {
    this.start.vals = new BigInt64Array(capacity);
    this.end.vals = new BigInt64Array(capacity);
    this.device = new Uint16Array(capacity);
  }

  add(start: bigint, end: bigint, dur: bigint, device: number): void {
    const row = this.rows++;
    setBig(this.start, row, start);
    setBig(this.end, row, end);
    if (device > 0xffff && this.device instanceof Uint16Array) this.device = Int32Array.from(this.device);
    this.device = grown(this.device, row + 1);
    this.device[row] = device;
    if (dur !== end - start) this.odd.set(row, dur);
  }

  dur(row: number): bigint {
    return this.odd.get(row) ?? getBig(this.end, row) - getBig(this.start, row);
  }

  /** Rows whose window reaches into [lo, hi] (built on first use, after every add). */
  reaching(lo: bigint, hi: bigint): Iterable<number> {
    this.index ??= new RowIntervalIndex(this.start, this.end, this.rows);
    return this.index.reaching(lo, hi);
  }
}

/** The devices with each save's downtime split filled in (otherDevicesNs, dominantDevice, migrationDowntimeMs). */
export function withDowntimeShares(devices: readonly DeviceTimeline[], migrations: readonly Migration[], ctx: ClockContext): DeviceTimeline[] {
  // Each window with its place in device/session order: ties between equally long
  // windows go to the first, as a scan in that order would.
  const windows = new Map<string, WindowTable>();
  const deviceIds: string[] = [];
  let count = 0;
  /** Sessions not yet looked at: room enough for the rows of a table made now. */
  let left = devices.reduce((n, d) => n + d.sessions.length, 0);
  /** Devices with a save that has a window: only their sessions change. */
  const withWindow = new Set<DeviceTimeline>();
  for (const d of devices) {
    const device = deviceIds.push(d.id) - 1;
    // From the heads the spill file keeps before each session when there are (no session
    // decoded here), else from the sessions themselves.
    const heads = headsOf(d.sessions);
    const n = heads?.length ?? d.sessions.length;
    for (let i = 0; i < n; i++, left--) {
      const w = heads !== undefined ? windowFromHead(d.id, heads.at(i)) : windowOf(d.id, d.sessions[i] as MigrationSession);
      if (w === undefined) continue;
      withWindow.add(d);
      count++;
      const p = placed(w, ctx);
      if (p === undefined) continue;
      let table = windows.get(p.domain);
      if (table === undefined) windows.set(p.domain, (table = new WindowTable(left)));
      table.add(p.start, p.end, w.durNs, device);
    }
  }
  if (count === 0) return [...devices];
  const migrationIndex = indexMigrations(migrations);
  return devices.map((d) => {
    if (!withWindow.has(d)) return d;
    // mapListLazy: a spilled session gets its share when it is read, not by rewriting the
    // spill file now (spilled-list.ts). The share depends only on the session and on the
    // windows and migrations gathered above, which no longer change.
    const sessions = mapListLazy(d.sessions, (s) => {
      const w = windowOf(d.id, s);
      const c = s.convergence;
      if (w === undefined || c === undefined) return s;
      const p = placed(w, ctx);
      let longest: { readonly dur: bigint; readonly row: number; readonly device: string } | undefined;
      const table = p !== undefined ? windows.get(p.domain) : undefined;
      if (p !== undefined && table !== undefined) {
        for (const r of table.reaching(p.start, p.end)) {
          const device = deviceIds[table.device[r] ?? -1] ?? '';
          if (device === d.id) continue;
          const dur = table.dur(r);
          if (longest === undefined || dur > longest.dur || (dur === longest.dur && r < longest.row)) longest = { dur, row: r, device };
        }
      }
      const m = migrationOf(w, migrationIndex, ctx);
      // Set on a copy, not spread: a literal that begins with a spread makes a hidden class per session (record/extended.ts).
      const downtime: Building<SessionConvergence['downtime']> = extended(c.downtime, {});
      if (longest !== undefined) downtime.otherDevicesNs = longest.dur;
      if (m?.downtimeMs !== undefined) downtime.migrationDowntimeMs = m.downtimeMs;
      downtime.dominantDevice = longest !== undefined && longest.dur > w.durNs ? longest.device : d.id;
      return { ...s, convergence: { ...c, downtime } };
    });
    return { ...d, sessions };
  });
}
