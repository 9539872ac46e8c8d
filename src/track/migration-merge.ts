// One story per migration and host: what each input saw of a migration (migration-tracker.ts)
// is put on wall-clock time and merged with what the other inputs saw of the same
// migration on the same side, then each source migration is paired with the destination
// migration that overlaps it in time.
//
// Clocks: QEMU log stamps, QMP event timestamps, libvirt's stamps and qemu-trace-stap's
// gettimeofday_ns are wall-clock time already ("realtime"). An input on a trace clock
// (bpftrace's mono, simpletrace's) is mapped through the capture's clock-sync record
// when one exists, and otherwise keeps its own clock (`clock: 'trace'`) and is never
// merged with another input. Inputs without time (`order-only`) are never merged either:
// nothing says two of them are the same migration.
//
// Same migration, same side: the inputs' [start, end] windows overlap (with MERGE_SLACK_NS
// of tolerance for the ms resolution of libvirt's stamps and for replies that come after
// the final event) and neither side contradicts the other.

import type { RawMigration } from './migration-tracker.js';
import type { Migration, MigrationDevice, MigrationHost, MigrationDeviceState, MigrationEvidence, MigrationPhase, MigrationStatusStep } from './migration-types.js';
import type { Source } from '../record/types.js';

const MERGE_SLACK_NS = 2_000_000_000n;

export interface MergeClock {
  /** The clock each input reported (parser sink clock()). */
  readonly clockOf: (file: string) => string | undefined;
  /** wall = trace + offset, from a clock-sync record or --clock-offset; undefined when neither. */
  readonly traceOffsetNs: bigint | undefined;
  /** Input order, for stable output. */
  readonly inputOrder: readonly string[];
  /** Inputs merged into another's timeline (src/cli/input-merge.ts): their wall-clock stamps were moved onto it; say so instead of "trace clock". */
  readonly mergedInto?: (file: string) => string | undefined;
  /**
   * wall = trace + offset for an input merged into a timeline whose clock mapping is not the
   * analysis' `traceOffsetNs` (the second host's capture has its own clock-sync record).
   */
  readonly offsetOf?: (file: string) => bigint | undefined;
  /** The host each input is from (src/cli/pipeline.ts: its placement, --host, or the name it gives). */
  readonly hostOf?: (file: string) => MigrationHost | undefined;
}

/** Hosts of two inputs contradict when both are named and the names differ (case-insensitive, RFC 4343). */
function otherHosts(a: MigrationHost | undefined, b: MigrationHost | undefined): boolean {
  return a !== undefined && b !== undefined && a.name.toLowerCase() !== b.name.toLowerCase();
}

interface Placed {
  readonly raws: RawMigration[];
  clock: 'wall' | 'trace' | 'none';
  /** Maps one raw's times to the output clock. */
  readonly to: Map<RawMigration, (t: bigint | undefined) => bigint | undefined>;
  /** How an input's trace clock was put on wall-clock time (said in the migration's notes). */
  readonly clockNotes: Map<RawMigration, string>;
  /** The first named host among its inputs. */
  host: MigrationHost | undefined;
  start: bigint | undefined;
  end: bigint | undefined;
}

function mapper(clock: string | undefined, offset: bigint | undefined): { clock: 'wall' | 'trace' | 'none'; to: (t: bigint | undefined) => bigint | undefined; note?: string } {
  if (clock === 'realtime') return { clock: 'wall', to: (t) => t };
  if (clock === undefined || clock === 'order-only') return { clock: 'none', to: () => undefined };
  if (offset !== undefined) return { clock: 'wall', to: (t) => (t === undefined ? undefined : t + offset), note: `trace clock "${clock}" put on wall-clock time with offset ${offset} ns (clock-sync record or --clock-offset)` };
  return { clock: 'trace', to: (t) => t, note: `trace clock "${clock}" without a clock-sync record or --clock-offset: times are not wall-clock and this input is merged with no other` };
}

function windowOf(raw: RawMigration, to: (t: bigint | undefined) => bigint | undefined): { start: bigint | undefined; end: bigint | undefined } {
  let start: bigint | undefined;
  let end: bigint | undefined;
  const see = (t: bigint | undefined): void => {
    const w = to(t);
    if (w === undefined) return;
    if (start === undefined || w < start) start = w;
    if (end === undefined || w > end) end = w;
  };
  for (const s of raw.steps) see(s.tsNs);
  see(raw.vmStopNs);
  see(raw.lastTsNs);
  return { start, end };
}

function minB(a: bigint | undefined, b: bigint | undefined): bigint | undefined {
  return a === undefined ? b : b === undefined ? a : a < b ? a : b;
}
function maxB(a: bigint | undefined, b: bigint | undefined): bigint | undefined {
  return a === undefined ? b : b === undefined ? a : a > b ? a : b;
}

function sideOf(p: Placed): RawMigration['side'] {
  return p.raws.find((r) => r.side !== 'unknown')?.side ?? 'unknown';
}

function overlaps(a: Placed, b: Placed, slack: bigint): boolean {
  if (a.start === undefined || a.end === undefined || b.start === undefined || b.end === undefined) return false;
  return a.start <= b.end + slack && b.start <= a.end + slack;
}

export function mergeMigrations(raws: readonly RawMigration[], c: MergeClock): Migration[] {
  const placed: Placed[] = [];
  for (const raw of raws) {
    if (raw.steps.length === 0 && raw.devices.size === 0) continue;
    const offset = c.offsetOf?.(raw.file) ?? c.traceOffsetNs;
    const base = mapper(c.clockOf(raw.file), offset);
    const into = c.mergedInto?.(raw.file);
    const m = into !== undefined && base.clock === 'wall' ? { ...base, note: `wall-clock stamps merged into ${into}'s timeline and mapped back with its offset ${offset ?? 0n} ns` } : base;
    const w = windowOf(raw, m.to);
    const rawHost = [raw.file, ...raw.alsoFrom].map((f) => c.hostOf?.(f)).find((h) => h !== undefined);
    const p: Placed = { raws: [raw], clock: m.clock, to: new Map([[raw, m.to]]), clockNotes: new Map(m.note === undefined ? [] : [[raw, `${raw.file}: ${m.note}`]]), host: rawHost, start: w.start, end: w.end };
    const side = raw.side;
    // Two named hosts are two migrations (a source each, say), however their times overlap.
    const candidate = (q: Placed): boolean => q.clock === 'wall' && !q.raws.some((r) => r.file === raw.file) && !otherHosts(q.host, rawHost) && overlaps(q, p, MERGE_SLACK_NS);
    const target =
      m.clock === 'wall'
        ? placed.find(
            (q) =>
              candidate(q) &&
              (sideOf(q) === side || sideOf(q) === 'unknown' || side === 'unknown'),
          )
        : undefined;
    // An input that cannot tell its side is merged only when exactly one migration it
    // overlaps is a candidate: both hosts' inputs of one migration overlap in time too.
    const ambiguous =
      target !== undefined &&
      (side === 'unknown' || sideOf(target) === 'unknown') &&
      placed.filter(candidate).length > 1;
    if (target === undefined || ambiguous) placed.push(p);
    else {
      target.raws.push(raw);
      target.to.set(raw, m.to);
      if (m.note !== undefined) target.clockNotes.set(raw, `${raw.file}: ${m.note}`);
      target.host ??= rawHost;
      target.start = minB(target.start, w.start);
      target.end = maxB(target.end, w.end);
    }
  }

  const order = (f: string): number => {
    const i = c.inputOrder.indexOf(f);
    return i < 0 ? c.inputOrder.length : i;
  };
  const built = placed.map((p) => build(p, order));
  built.sort((a, b) => (a.m.startNs === undefined || b.m.startNs === undefined ? a.order - b.order : a.m.startNs < b.m.startNs ? -1 : a.m.startNs > b.m.startNs ? 1 : 0));
  const counters = new Map<string, number>();
  const ids = built.map((b) => {
    const n = (counters.get(b.m.side) ?? 0) + 1;
    counters.set(b.m.side, n);
    return `${b.m.side}-${n}`;
  });
  const out = built.map((b, i) => ({ ...b.m, id: ids[i] ?? '' }));
  // Pair each source with the destination whose window overlaps it (both hosts' inputs given).
  const peers = new Map<number, number>();
  out.forEach((s, i) => {
    if (s.side !== 'source' || s.clock !== 'wall') return;
    const j = out.findIndex(
      (d, k) => d.side === 'destination' && d.clock === 'wall' && !peers.has(k) && s.startNs !== undefined && s.endNs !== undefined && d.startNs !== undefined && d.endNs !== undefined && d.startNs <= s.endNs + MERGE_SLACK_NS && s.startNs <= d.endNs + MERGE_SLACK_NS,
    );
    if (j >= 0) {
      peers.set(j, i);
      peers.set(i, j);
    }
  });
  return out.map((m, i) => {
    const j = peers.get(i);
    if (j === undefined) return m;
    const other = out[j];
    if (other === undefined) return m;
    const src = m.side === 'source' ? m : other;
    const dst = m.side === 'source' ? other : m;
    const observed = src.vmStopNs !== undefined && dst.vmResumeNs !== undefined && dst.vmResumeNs >= src.vmStopNs ? Number(dst.vmResumeNs - src.vmStopNs) / 1e6 : undefined;
    return { ...m, peer: other.id, observedDowntimeMs: observed };
  });
}

function build(p: Placed, order: (f: string) => number): { m: Migration; order: number } {
  const raws = [...p.raws].sort((a, b) => order(a.file) - order(b.file));
  const tw = (r: RawMigration, t: bigint | undefined): bigint | undefined => (p.to.get(r) ?? (() => undefined))(t);

  // Status steps of every input on one time line; the same status from several inputs is one step.
  const all: { status: string; tsNs: bigint | undefined; via: MigrationEvidence; src: Source; input: number; seq: number }[] = [];
  raws.forEach((r, input) => r.steps.forEach((s, seq) => all.push({ status: s.status, tsNs: tw(r, s.tsNs), via: s.via, src: s.src, input, seq })));
  if (raws.length > 1) {
    all.sort((a, b) => {
      if (a.tsNs !== undefined && b.tsNs !== undefined && a.tsNs !== b.tsNs) return a.tsNs < b.tsNs ? -1 : 1;
      if (a.input === b.input) return a.seq - b.seq;
      // One without time (a query-migrate reply): keep each input's own order.
      return a.tsNs === undefined ? 1 : b.tsNs === undefined ? -1 : a.input - b.input;
    });
  }
  const statuses: { status: string; tsNs: bigint | undefined; seen: { via: MigrationEvidence; src: Source }[] }[] = [];
  for (const s of all) {
    const same = statuses.find((x) => x.status === s.status && (s.tsNs === undefined || x.tsNs === undefined || absDiff(x.tsNs, s.tsNs) <= MERGE_SLACK_NS));
    if (same !== undefined) {
      same.seen.push({ via: s.via, src: s.src });
      if (same.tsNs === undefined) same.tsNs = s.tsNs;
      continue;
    }
    statuses.push({ status: s.status, tsNs: s.tsNs, seen: [{ via: s.via, src: s.src }] });
  }

  const first = <T>(f: (r: RawMigration) => T | undefined): T | undefined => {
    for (const r of raws) {
      const v = f(r);
      if (v !== undefined) return v;
    }
    return undefined;
  };
  const side = raws.find((r) => r.side !== 'unknown');
  const outcomes = raws.map((r) => r.outcome).filter((o) => o !== 'unknown');
  const outcome = outcomes[0] ?? 'unknown';
  const notes = raws.flatMap((r) => r.notes);
  for (const r of raws) {
    const n = p.clockNotes.get(r);
    if (n !== undefined) notes.push(n);
  }
  if (new Set(outcomes).size > 1) notes.push(`inputs disagree on the outcome: ${raws.map((r) => `${r.file}: ${r.outcome}`).join(', ')}`);
  const dropped = raws.reduce((n, r) => n + r.stepsDropped, 0);
  if (dropped > 0) notes.push(`${dropped} status steps not kept (more than the per-migration cap)`);

  const vmStopNs = first((r) => tw(r, r.vmStopNs));
  const vmResumeNs = first((r) => tw(r, r.vmResumeNs));
  const startNs = statuses.find((s) => s.tsNs !== undefined)?.tsNs ?? p.start;
  const endNs = p.end;

  const devices = new Map<string, { via: Set<MigrationEvidence>; states: MigrationDeviceState[]; notes: Set<string> }>();
  for (const r of raws) {
    for (const [id, d] of r.devices) {
      let o = devices.get(id);
      if (o === undefined) {
        o = { via: new Set(), states: [], notes: new Set() };
        devices.set(id, o);
      }
      for (const v of d.via) o.via.add(v);
      for (const s of d.states) o.states.push({ state: s.state, tsNs: tw(r, s.tsNs), via: s.via, src: s.src });
      for (const n of d.notes) o.notes.add(n);
    }
  }
  const deviceList: MigrationDevice[] = [...devices].map(([id, d]) => ({
    id,
    via: [...d.via],
    states: d.states.sort((a, b) => (a.tsNs === undefined || b.tsNs === undefined ? 0 : a.tsNs < b.tsNs ? -1 : a.tsNs > b.tsNs ? 1 : 0)),
    notes: [...d.notes],
  }));

  const m: Migration = {
    id: '',
    side: side?.side ?? 'unknown',
    ...(p.host !== undefined ? { host: p.host } : {}),
    sideEvidence: side?.sideEvidence ?? 'no status "setup", no migrate/migrate-incoming command and no side-specific trace event in the inputs',
    inputs: [...new Set(raws.flatMap((r) => [r.file, ...r.alsoFrom]))],
    clock: p.clock,
    startNs,
    endNs,
    statuses: statuses as readonly MigrationStatusStep[],
    outcome,
    errorDesc: first((r) => r.errorDesc),
    setupTimeMs: first((r) => r.setupTimeMs),
    downtimeMs: first((r) => r.downtimeMs),
    totalTimeMs: first((r) => r.totalTimeMs),
    expectedDowntimeMs: first((r) => r.expectedDowntimeMs),
    figuresFrom: first((r) => r.figuresFrom),
    downtimeLimitMs: first((r) => r.downtimeLimitMs),
    ramTransferredBytes: first((r) => r.ramTransferredBytes),
    ramTotalBytes: first((r) => r.ramTotalBytes),
    vfioTransferredBytes: first((r) => r.vfioTransferredBytes),
    passes: first((r) => r.passes),
    vmStopNs,
    vmResumeNs,
    phases: phases(side?.side ?? 'unknown', statuses, vmStopNs),
    devices: deviceList,
    peer: undefined,
    observedDowntimeMs: undefined,
    uri: first((r) => r.uri),
    notes,
  };
  return { m, order: Math.min(...raws.map((r) => order(r.file))) };
}

function absDiff(a: bigint, b: bigint): bigint {
  return a > b ? a - b : b - a;
}

function phases(side: string, statuses: readonly { status: string; tsNs: bigint | undefined }[], vmStopNs: bigint | undefined): MigrationPhase[] {
  const at = (st: string): bigint | undefined => statuses.find((s) => s.status === st)?.tsNs;
  const end = statuses.find((s) => s.status === 'completed' || s.status === 'failed' || s.status === 'cancelled')?.tsNs;
  const out: MigrationPhase[] = [];
  const add = (name: MigrationPhase['name'], a: bigint | undefined, b: bigint | undefined): void => {
    if (a === undefined || b === undefined || b < a) return;
    out.push({ name, startNs: a, endNs: b, durationMs: Number(b - a) / 1e6 });
  };
  const setup = at('setup');
  const active = at('active');
  if (side === 'source') {
    add('setup', setup, active);
    const stop = vmStopNs ?? at('device') ?? at('pre-switchover');
    add('precopy', active, stop);
    add('stop-copy', stop, end);
  } else if (side === 'destination') add('load', active, end);
  return out;
}
