// Analysis → ReportModel: the projection the page embeds (see model-types.ts for the
// encoding and why it is columnar).

import { migrationFacts } from '../migration-facts.js';
import type { Analysis } from '../../analysis/types.js';
import type { Finding } from '../../check/types.js';
import type { Source } from '../../record/types.js';
import type { DeviceTimeline, MigrationSession, SessionOutcome, StateInterval, StateWrite } from '../../track/types.js';
import { assertNever } from '../../protocol/assert-never.js';
import { delta, ints, spans } from './column-codec.js';
import { columnPieces, deltaPieces, NumsPool, spansPieces, type Nums } from './column-text.js';
import { arrayPieces, jsonPieces, objectBody } from './json-pieces.js';
import type {
  ModelFindings,
  ModelGaps,
  ModelIntervals,
  ModelLane,
  ModelSources,
  ModelState,
  ModelWrites,
  ReportModel,
} from './model-types.js';
import type { HtmlReportOptions } from './options.js';
import { isAlarmState, LEGEND_STATES, OUTCOME_COLORS, OUTCOME_ORDER, stateColor } from './palette.js';
import { summarize } from './summary.js';
import { sessionTotals } from '../../track/session-list.js';

/** Index of each value in a growing table, so repeated strings are stored once. */
interface Interner {
  readonly values: string[];
  index(s: string): number;
}

function interner(initial: readonly string[] = []): Interner {
  const values = [...initial];
  const map = new Map<string, number>(values.map((v, i) => [v, i]));
  return {
    values,
    index(s: string): number {
      let i = map.get(s);
      if (i === undefined) {
        i = values.length;
        values.push(s);
        map.set(s, i);
      }
      return i;
    },
  };
}

/** The earliest and latest timestamp anywhere in the analysis. */
function timeRange(a: Analysis): { min: bigint; max: bigint } | undefined {
  let min: bigint | undefined;
  let max: bigint | undefined;
  const see = (t: bigint | undefined): void => {
    if (t === undefined) return;
    if (min === undefined || t < min) min = t;
    if (max === undefined || t > max) max = t;
  };
  for (const d of a.devices) {
    for (const iv of d.timeline) {
      see(iv.startNs);
      see(iv.endNs);
    }
    for (const w of d.stateWrites) see(w.tsNs);
    // The sessions' earliest and latest times without a pass over them (a spilled list keeps them, track/session-list.ts).
    const t = sessionTotals(d.sessions);
    see(t.minNs);
    see(t.maxNs);
  }
  for (const f of a.findings) see(f.tsNs);
  for (const g of a.input.gaps) see(g.tsNs);
  see(a.input.firstTsNs);
  see(a.input.lastTsNs);
  return min === undefined || max === undefined ? undefined : { min, max };
}

/** A NaN that is a value, not an unknown (undefined): the text codings keep unknowns as NaN. */
function isNaNValue(v: number | undefined): boolean {
  return v !== undefined && Number.isNaN(v);
}

function certaintyCode(c: StateInterval['certainty']): number {
  switch (c) {
    case 'known':
      return 0;
    case 'inferred':
      return 1;
    case 'unknown':
      return 2;
    default:
      return assertNever(c);
  }
}

function resultCode(r: StateWrite['result']): number {
  switch (r) {
    case 'ok':
      return 0;
    case 'failed':
      return 1;
    case 'unknown':
      return 2;
    default:
      return assertNever(r);
  }
}

function outcomeCode(o: SessionOutcome): number {
  return OUTCOME_ORDER.indexOf(o);
}

/** The model's fields before its lanes: none depends on what the lanes intern. */
export type ModelHead = Pick<ReportModel, 'format' | 'title' | 'tool' | 'host' | 't0' | 'span' | 'clock' | 'input' | 'summary' | 'rules'>;
/** The fields after the lanes: the tables interned while the lanes were built come last. */
export type ModelTail = Omit<ReportModel, keyof ModelHead | 'lanes'>;

/**
 * The model in three parts, so that a writer can serialise it a lane at a time (render.ts:
 * on a 2 GB trace the whole model and its JSON held hundreds of MB at once, issue 13).
 * `lanes()` builds each lane when asked; `tailPieces()` must be taken after every lane was built
 * (states, files and strings are complete only then). JSON.stringify of the assembled
 * model (buildReportModel) is the same text as the parts written in order.
 */
export interface ReportModelParts {
  readonly head: ModelHead;
  /**
   * Each lane as the pieces of its JSON text (column-text.ts); take every piece of a lane
   * before asking for the next lane (they share scratch columns).
   */
  lanes(): Iterable<Iterable<string>>;
  /** The tail's members and the model's closing brace, as JSON text in pieces: what follows `"lanes":[…],`. */
  tailPieces(): Iterable<string>;
}

export function buildReportModel(analysis: Analysis, opts: HtmlReportOptions = {}): ReportModel {
  const parts = reportModelParts(analysis, opts);
  // Each lane read whole before the next is asked for (ReportModelParts.lanes).
  const lanes: ModelLane[] = [];
  for (const pieces of parts.lanes()) lanes.push(JSON.parse([...pieces].join('')) as ModelLane);
  const tail = JSON.parse(`{${[...parts.tailPieces()].join('')}`) as ModelTail;
  return { ...parts.head, lanes, ...tail };
}

export function reportModelParts(analysis: Analysis, opts: HtmlReportOptions = {}): ReportModelParts {
  const range = timeRange(analysis);
  const t0 = range?.min ?? 0n;
  const rel = (t: bigint | undefined): number | undefined => (t === undefined ? undefined : Number(t - t0));

  const states = interner(LEGEND_STATES);
  const files = interner();
  const strings = interner();

  const sources = (srcs: readonly (Source | undefined)[]): ModelSources => ({
    file: ints(srcs.map((s) => (s === undefined ? -1 : files.index(s.file)))),
    line: delta(srcs.map((s) => s?.line)),
    byteOffset: ints(srcs.map((s) => s?.byteOffset ?? -1)),
  });

  const intervals = (ivs: readonly StateInterval[]): ModelIntervals => {
    const sp = spans(
      ivs.map((iv) => rel(iv.startNs)),
      ivs.map((iv) => rel(iv.endNs)),
    );
    const open: number[] = [];
    ivs.forEach((iv, i) => {
      if (iv.openAtEnd === true) open.push(i);
    });
    return {
      count: ivs.length,
      state: ints(ivs.map((iv) => states.index(iv.state))),
      raw: ints(ivs.map((iv) => iv.raw ?? -1)),
      start: sp.start,
      end: sp.end,
      openAtEnd: open,
      certainty: ints(ivs.map((iv) => certaintyCode(iv.certainty))),
      bytes: ints(ivs.map((iv) => iv.bytes)),
      src: sources(ivs.map((iv) => iv.src)),
    };
  };

  const writes = (ws: readonly StateWrite[]): ModelWrites => ({
    count: ws.length,
    ts: delta(ws.map((w) => rel(w.tsNs))),
    from: ints(ws.map((w) => states.index(w.from))),
    fromRaw: ints(ws.map((w) => w.fromRaw ?? -1)),
    to: ints(ws.map((w) => states.index(w.to))),
    toRaw: ints(ws.map((w) => w.toRaw ?? -1)),
    result: ints(ws.map((w) => resultCode(w.result))),
    errno: ints(ws.map((w) => w.errno ?? 0)),
    readBack: ints(ws.map((w) => w.readBackRaw ?? -1)),
    src: sources(ws.map((w) => w.src)),
  });

  /** The lane's columns (each lane frees them for the next once its pieces are written). */
  const pool = new NumsPool(opts.spill);
  const col = (c: Nums): Generator<string> => columnPieces(c);

  /**
   * A column of names filled in the one pass over a list's items and coded afterwards:
   * each row keeps a number local to the column, and codes() interns the rows' names in row
   * order, exactly as interning each row's name in turn would (so a column interned after
   * the ones before it keeps their order), without a string per row held until then (a
   * lane's 20,000-row string arrays outlived young-generation collections, issue 13).
   */
  const names = (): { push(name: string): void; readonly length: number; nameAt(i: number): string; codes(into: Interner): Nums } => {
    const local = new Map<string, number>();
    const distinct: string[] = [];
    const rows = pool.take();
    return {
      push(name) {
        let k = local.get(name);
        if (k === undefined) {
          k = distinct.push(name) - 1;
          local.set(name, k);
        }
        rows.push(k);
      },
      get length() {
        return rows.length;
      },
      nameAt: (i) => distinct[rows.get(i)] as string,
      codes(into) {
        const out = pool.take();
        for (let i = 0; i < rows.length; i++) out.push(into.index(distinct[rows.get(i)] as string));
        return out;
      },
    };
  };

  /**
   * A lane's Sources as columns, filled a row at a time (addSource) as the lane's items are
   * read, so that no Source object is held past its row: the items of a spilled timeline are
   * made afresh on every read (track/spilled-rows.ts), and 20,000 of their Sources held until
   * the lane was written outlived the young generation (issue 13). Files are interned in row
   * order, as sources() interns them. `nan` is set when a number is NaN, which the text
   * codings (NaN is their unknown) would run together where column() does not: the caller
   * then writes the lane's list the old way.
   */
  interface SourceNums {
    readonly file: Nums;
    readonly line: Nums;
    readonly byteOffset: Nums;
    nan: boolean;
  }
  const sourceNums = (): SourceNums => ({ file: pool.take(), line: pool.take(), byteOffset: pool.take(), nan: false });
  const addSource = (c: SourceNums, src: Source | undefined): void => {
    c.file.push(src === undefined ? -1 : files.index(src.file));
    c.line.push(src?.line);
    c.byteOffset.push(src?.byteOffset ?? -1);
    if (isNaNValue(src?.line) || isNaNValue(src?.byteOffset)) c.nan = true;
  };

  function* sourcePieces(c: SourceNums): Generator<string> {
    yield '{"file":';
    yield* col(c.file);
    yield ',"line":';
    yield* deltaPieces(c.line);
    yield ',"byteOffset":';
    yield* col(c.byteOffset);
    yield '}';
  }

  /** `,"key":` and the column's pieces. */
  function* keyed(key: string, pieces: Iterable<string>, first = false): Generator<string> {
    yield `${first ? '' : ','}"${key}":`;
    yield* pieces;
  }

  /**
   * intervals() as JSON text in pieces, from one read of each interval: the timeline is a
   * column store read through a view (track/interval-store.ts) that makes an object per item
   * read, and a pass per column made 20,000 of them a dozen times a lane, held in arrays
   * until the lane was written (issue 13). Names are interned column by column, in
   * intervals()'s order, before the first piece.
   */
  function* intervalPieces(ivs: readonly StateInterval[]): Generator<string> {
    const state = names();
    const raw = pool.take(), starts = pool.take(), ends = pool.take(), certainty = pool.take(), bytes = pool.take();
    const open: number[] = [];
    const src = sourceNums();
    let nan = false;
    for (const iv of ivs) {
      if (isNaNValue(iv.raw) || isNaNValue(iv.bytes)) nan = true;
      if (iv.openAtEnd === true) open.push(state.length);
      state.push(iv.state);
      raw.push(iv.raw ?? -1);
      starts.push(rel(iv.startNs));
      ends.push(rel(iv.endNs));
      certainty.push(certaintyCode(iv.certainty));
      bytes.push(iv.bytes);
      addSource(src, iv.src);
    }
    // Names interned as intervals() interns them (each table in row order), so its fallback text is the same.
    const stateCodes = state.codes(states);
    if (nan || src.nan) {
      yield JSON.stringify(intervals(ivs));
      return;
    }
    yield `{"count":${state.length}`;
    yield* keyed('state', col(stateCodes));
    yield* keyed('raw', col(raw));
    yield ',';
    yield* spansPieces(starts, ends);
    yield `,"openAtEnd":${JSON.stringify(open)}`;
    yield* keyed('certainty', col(certainty));
    yield* keyed('bytes', col(bytes));
    yield* keyed('src', sourcePieces(src));
    yield '}';
  }

  /** writes() as JSON text in pieces, from one read of each state write (as intervalPieces). */
  function* writePieces(ws: readonly StateWrite[]): Generator<string> {
    const from = names();
    const to = names();
    const ts = pool.take(), fromRaw = pool.take(), toRaw = pool.take(), result = pool.take(), errno = pool.take(), readBack = pool.take();
    const src = sourceNums();
    let nan = false;
    for (const w of ws) {
      if (isNaNValue(w.fromRaw) || isNaNValue(w.toRaw) || isNaNValue(w.errno) || isNaNValue(w.readBackRaw)) nan = true;
      ts.push(rel(w.tsNs));
      from.push(w.from);
      fromRaw.push(w.fromRaw ?? -1);
      to.push(w.to);
      toRaw.push(w.toRaw ?? -1);
      result.push(resultCode(w.result));
      errno.push(w.errno ?? 0);
      readBack.push(w.readBackRaw ?? -1);
      addSource(src, w.src);
    }
    // Interned as writes() interns them (from, then to, each in row order; files in theirs).
    const fromCodes = from.codes(states);
    const toCodes = to.codes(states);
    if (nan || src.nan) {
      yield JSON.stringify(writes(ws));
      return;
    }
    yield `{"count":${from.length}`;
    yield* keyed('ts', deltaPieces(ts));
    yield* keyed('from', col(fromCodes));
    yield* keyed('fromRaw', col(fromRaw));
    yield* keyed('to', col(toCodes));
    yield* keyed('toRaw', col(toRaw));
    yield* keyed('result', col(result));
    yield* keyed('errno', col(errno));
    yield* keyed('readBack', col(readBack));
    yield* keyed('src', sourcePieces(src));
    yield '}';
  }

  const VERDICT = { unknown: 0, converging: 1, stalled: 2, growing: 3 } as const;
  const FITS = { unknown: 0, yes: 1, no: 2 } as const;
  const num = (v: bigint | number | undefined): number | undefined => (v === undefined ? undefined : Number(v));

  /**
   * The session columns in one pass over the sessions: a spilled list (track/spilled-list.ts)
   * reads each session from its file once, and no column holds a session or its samples,
   * only the numbers (issue 13: a pass per column held every session's convergence and
   * pending samples at once).
   */
  function* sessionPieces(ss: readonly MigrationSession[]): Generator<string> {
    const kind = pool.take(), starts = pool.take(), ends = pool.take(), outcome = pool.take(), statesCount = pool.take(), stateIdx = pool.take();
    const iterations = pool.take(), bytes = pool.take(), notRunningNs = pool.take(), pendingCount = pool.take(), pendingTs = pool.take(), pendingBytes = pool.take(), pendingDropped = pool.take();
    const verdict = pool.take(), fits = pool.take(), stopStart = pool.take(), estimateBytes = pool.take(), actualBytes = pool.take(), predictedNs = pool.take(), actualNs = pool.take();
    const otherDevicesNs = pool.take(), qemuDowntimeNs = pool.take(), limitNs = pool.take(), dominant = pool.take();
    for (const s of ss) {
      kind.push(s.kind === 'save' ? 0 : 1);
      starts.push(rel(s.startNs));
      ends.push(rel(s.endNs));
      outcome.push(outcomeCode(s.outcome));
      statesCount.push(s.states.length);
      for (const n of s.states) stateIdx.push(states.index(n));
      iterations.push(s.iterations);
      bytes.push(s.bytes);
      notRunningNs.push(Number(s.notRunningNs));
      pendingCount.push(s.pending.length);
      for (const p of s.pending) {
        pendingTs.push(rel(p.tsNs));
        // Chart values only: a double is exact to 8 PiB, far past any device's state.
        pendingBytes.push(Number(p.bytes));
      }
      pendingDropped.push(s.pendingDropped);
      const x = s.convergence;
      verdict.push(x === undefined ? undefined : VERDICT[x.verdict]);
      fits.push(x === undefined ? undefined : FITS[x.fits]);
      stopStart.push(rel(x?.stopCopyStartNs));
      estimateBytes.push(num(x?.stopCopyEstimateBytes));
      actualBytes.push(x?.stopCopyActualBytes);
      predictedNs.push(num(x?.predictedStopCopyNs));
      actualNs.push(num(x?.actualStopCopyNs));
      otherDevicesNs.push(num(x?.downtime.otherDevicesNs));
      qemuDowntimeNs.push(x?.downtime.migrationDowntimeMs === undefined ? undefined : x.downtime.migrationDowntimeMs * 1e6);
      limitNs.push(x?.downtimeLimitMs === undefined ? undefined : x.downtimeLimitMs * 1e6);
      dominant.push(x?.downtime.dominantDevice === undefined ? undefined : strings.index(x.downtime.dominantDevice));
    }
    // ModelSessions and ModelConvergence, key by key in their order (model-types.ts).
    yield `{"count":${kind.length}`;
    yield* keyed('kind', col(kind));
    yield ',';
    yield* spansPieces(starts, ends);
    yield* keyed('outcome', col(outcome));
    yield* keyed('statesCount', col(statesCount));
    yield* keyed('states', col(stateIdx));
    yield* keyed('iterations', col(iterations));
    yield* keyed('bytes', col(bytes));
    yield* keyed('notRunningNs', col(notRunningNs));
    yield* keyed('pendingCount', col(pendingCount));
    yield* keyed('pendingTs', deltaPieces(pendingTs));
    yield* keyed('pendingBytes', col(pendingBytes));
    yield* keyed('pendingDropped', col(pendingDropped));
    yield ',"conv":{';
    yield* keyed('verdict', col(verdict), true);
    yield* keyed('fits', col(fits));
    yield* keyed('stopStart', col(stopStart));
    yield* keyed('estimateBytes', col(estimateBytes));
    yield* keyed('actualBytes', col(actualBytes));
    yield* keyed('predictedNs', col(predictedNs));
    yield* keyed('actualNs', col(actualNs));
    yield* keyed('otherDevicesNs', col(otherDevicesNs));
    yield* keyed('qemuDowntimeNs', col(qemuDowntimeNs));
    yield* keyed('limitNs', col(limitNs));
    yield* keyed('dominant', col(dominant));
    yield '}}';
  }

  const regionText = (d: DeviceTimeline): string | null => {
    const r = d.region;
    if (r === undefined) return null;
    const idx = r.index === undefined ? 'index ?' : `index ${r.index}`;
    const size = r.size === undefined ? 'size ?' : `size 0x${r.size.toString(16)}`;
    return `${idx}, offset 0x${r.offset.toString(16)}, ${size} (${r.source}: ${r.evidence})`;
  };

  const laneOf = new Map<string, number>();
  analysis.devices.forEach((d, i) => {
    if (!laneOf.has(d.id)) laneOf.set(d.id, i);
  });

  /**
   * One lane as the pieces of its JSON text: the columns written from typed columns
   * (column-text.ts) a few thousand numbers a piece, the rest by JSON.stringify. Each lane's
   * pieces must all be taken before the next lane's first: they share the column pool.
   */
  function* lanePieces(d: DeviceTimeline): Generator<string> {
    const rest: Omit<ModelLane, 'intervals' | 'writes' | 'sessions'> = {
      id: d.id,
      host: d.host ?? null,
      pid: d.pid ?? null,
      comm: d.comm ?? null,
      fd: d.fd,
      naming: d.naming,
      protocol: d.protocol,
      region: regionText(d),
      resets: d.resets,
      intervalsDropped: d.intervalsDropped,
    };
    pool.reset();
    // ModelLane's keys in order, the columns last: intervals, writes, sessions (the order
    // their names are interned in).
    yield JSON.stringify(rest).slice(0, -1);
    // Each list's columns are free once its pieces are written: the next list takes the same
    // buffers (a 2 GB trace's lane grew ≈ 20 MB of them with a set per list).
    yield* keyed('intervals', intervalPieces(d.timeline));
    pool.reset();
    yield* keyed('writes', writePieces(d.stateWrites));
    pool.reset();
    yield* keyed('sessions', sessionPieces(d.sessions));
    yield '}';
  }

  const problems = analysis.input.problems.map((p) => ({
    where: p.src.line !== undefined ? `${p.src.file}:${p.src.line}` : p.src.byteOffset !== undefined ? `${p.src.file}@${p.src.byteOffset}` : p.src.file,
    message: p.message,
  }));
  // What rules left undecided at a cap is shown beside the input's problems (the summary's list).
  for (const n of analysis.notJudged ?? []) problems.push({ where: n.rule, message: `not judged: ${n.count} ${n.what}` });

  const head: ModelHead = {
    format: 'migscope-report-1',
    title: opts.title ?? 'migscope report',
    tool: { name: analysis.tool.name, version: analysis.tool.version },
    host: analysis.host ?? null,
    t0: t0.toString(),
    span: range === undefined ? 0 : Number(range.max - range.min),
    clock: {
      source: analysis.clock.source,
      clock: analysis.clock.clock ?? null,
      offsetNs: analysis.clock.offsetNs === undefined ? null : analysis.clock.offsetNs.toString(),
    },
    input: {
      files: analysis.input.files.map((f) => ({ path: f.path, format: f.format, clock: f.clock ?? null, clockShift: f.clockShift?.rule ?? null })),
      records: analysis.input.records,
      malformed: analysis.input.malformed,
      lostEvents: analysis.input.lostEvents,
      problems,
      problemsDropped: analysis.input.problemsDropped,
    },
    summary: summarize(analysis),
    rules: (opts.rules ?? []).map((r) => ({ id: r.id, title: r.title, description: r.description, specRef: r.specRef })),
  };

  /** `,"key":` (no comma when first) and the value's JSON text in pieces (json-pieces.ts), as objectBody writes a member. */
  const member = (key: string, value: unknown, first = false): Generator<string> => keyed(key, jsonPieces(value), first);

  function* mapItems<T, U>(xs: Iterable<T>, fn: (x: T) => U): Generator<U> {
    for (const x of xs) yield fn(x);
  }

  /**
   * ModelFindings as JSON text in pieces. The number columns come from one read of each
   * finding: the list may be spilled (check/finding-list.ts), where every pass decodes each
   * finding again. The long text columns (messages, evidence descriptions, quoted lines)
   * are written as a second, third and fourth pass read them, not gathered: on a 2 GB trace
   * (19,717 findings, 44,783 evidence entries) holding them with their Sources took the
   * report's live heap from 12 to 60 MB (issue 13). Names are interned column by column in
   * the order a column per pass interned them (rules, devices, spec references; files in
   * evidence order), so the strings and files tables are the same.
   */
  function* findingPieces(fs: readonly Finding[]): Generator<string> {
    // The number columns in the lanes' pool (every lane was written: tailPieces), the names
    // as strings until every rule is interned before any device, as before.
    pool.reset();
    const rule = names();
    const device = names();
    const specRef = names();
    const severity = pool.take(), blame = pool.take(), certainty = pool.take(), ts = pool.take(), evidenceCount = pool.take();
    const src = sourceNums();
    let nan = false;
    for (const f of fs) {
      rule.push(f.rule);
      severity.push(f.severity === 'error' ? 0 : 1);
      blame.push(f.blame === 'vmm' ? 0 : 1);
      certainty.push(f.certainty === 'certain' ? 0 : 1);
      device.push(f.device);
      const t = rel(f.tsNs);
      if (isNaNValue(t)) nan = true;
      ts.push(t);
      specRef.push(f.specRef);
      evidenceCount.push(f.evidence.length);
      for (const e of f.evidence) addSource(src, e.src as Source | undefined);
    }
    const ruleCol = rule.codes(strings);
    const deviceCol = device.codes(strings);
    const specRefCol = specRef.codes(strings);
    const lane = pool.take();
    for (let i = 0; i < device.length; i++) lane.push(laneOf.get(device.nameAt(i)) ?? -1);
    yield '{';
    yield* member('count', fs.length, true);
    yield* keyed('rule', col(ruleCol));
    yield* keyed('severity', col(severity));
    yield* keyed('blame', col(blame));
    yield* keyed('certainty', col(certainty));
    yield* keyed('device', col(deviceCol));
    yield* keyed('lane', col(lane));
    // A NaN (no trace makes one) would run together with unknowns in the text codings: written the old way.
    yield* nan ? member('ts', delta(fs.map((f) => rel(f.tsNs)))) : keyed('ts', deltaPieces(ts));
    yield ',"message":';
    yield* arrayPieces(mapItems(fs, (f) => f.message));
    yield* keyed('specRef', col(specRefCol));
    yield* keyed('evidenceCount', col(evidenceCount));
    yield* src.nan ? member('evidenceSrc', sources(fs.flatMap((f) => f.evidence.map((e) => e.src as Source | undefined)))) : keyed('evidenceSrc', sourcePieces(src));
    function* evidence<U>(fn: (e: Finding['evidence'][number]) => U): Generator<U> {
      for (const f of fs) for (const e of f.evidence) yield fn(e);
    }
    yield ',"evidenceWhat":';
    yield* arrayPieces(evidence((e) => e.what));
    const lookup = opts.evidenceText;
    if (lookup !== undefined) {
      // A fourth pass: the quoted lines are read from the trace as they are written (cli/evidence-lines.ts).
      yield ',"evidenceText":';
      yield* arrayPieces(evidence((e) => lookup(e.src) ?? null));
    }
    yield '}';
  }

  function* tailPieces(): Generator<string> {
    yield '"findings":';
    yield* findingPieces(analysis.findings);
    const gs = analysis.input.gaps;
    const gaps: ModelGaps = {
      count: gs.length,
      ts: delta(gs.map((g) => rel(g.tsNs))),
      lost: ints(gs.map((g) => g.count ?? -1)),
      src: sources(gs.map((g) => ({ file: g.file, line: g.line, byteOffset: g.byteOffset }))),
    };
    const rest: Omit<ModelTail, 'findings'> = {
      gaps,
      outcomes: [...OUTCOME_ORDER],
      outcomeColors: OUTCOME_ORDER.map((o) => OUTCOME_COLORS[o]),
      migrations: (analysis.migrations ?? []).map((m) => {
        const f = migrationFacts(m);
        return { title: f.title, outcome: f.outcome, when: f.when, facts: f.facts.map(([l, v, t]) => [l, v, t] as const) };
      }),
      // Complete only now: the lanes, sessions and findings interned their names.
      states: states.values.map((name): ModelState => ({ name, color: stateColor(name), alarm: isAlarmState(name) })),
      files: files.values,
      strings: strings.values,
    };
    yield ',';
    // The rest a member, and a long column a slice, at a time (json-pieces.ts).
    yield* objectBody(rest);
  }

  return {
    head,
    *lanes() {
      for (const d of analysis.devices) yield lanePieces(d);
    },
    tailPieces,
  };
}
