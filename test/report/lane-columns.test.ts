// A lane's interval and state-write columns (report/html/model.ts intervalsText,
// writesText: one read of each item, written as text) are exactly what column-codec.ts
// makes of the analysis' values, column by column, with names interned in the same order;
// on plain arrays, on the column stores' views (past 64 items), with unknown fields, and
// with NaN values (which the text codings would run together: the lane is then written the
// old way, and still equals column-codec).

import { describe, expect, it } from 'vitest';
import { buildReportModel } from '../../src/report/html/model.js';
import { delta, ints, spans } from '../../src/report/html/column-codec.js';
import { createIntervalStore } from '../../src/track/interval-store.js';
import { createWriteStore } from '../../src/track/write-store.js';
import type { Source } from '../../src/record/types.js';
import type { StateInterval, StateWrite } from '../../src/track/types.js';
import type { ModelLane, ReportModel } from '../../src/report/html/model-types.js';
import { cleanSave, device, T } from './fixtures.js';
import type { SpillFile } from '../../src/track/spill-file.js';
import { spillFiles } from '../helpers/spill-files.js';

const newSpill = spillFiles();

const STATES = ['RUNNING', 'PRE_COPY', 'SAVING', 'STOP', 'ERROR'];

function intervalsOf(n: number, nanAt?: number): StateInterval[] {
  return Array.from({ length: n }, (_, i): StateInterval => {
    const src: Source | undefined = i % 11 === 5 ? undefined : i % 3 === 0 ? { file: 'b.dat', byteOffset: i * 64 } : { file: 'a.txt', line: 10 + i * 2 };
    return {
      state: STATES[(i * 7) % STATES.length] as string,
      raw: i % 13 === 4 ? undefined : (i * 7) % STATES.length,
      startNs: i % 17 === 9 ? undefined : T + BigInt(i) * 1000n,
      endNs: i % 19 === 3 ? undefined : T + BigInt(i) * 1000n + 999n,
      certainty: (['known', 'inferred', 'unknown'] as const)[i % 3] as StateInterval['certainty'],
      bytes: i === nanAt ? Number.NaN : (i % 4) * 4096,
      src,
      ...(i === n - 1 ? { openAtEnd: true as const } : {}),
    };
  });
}

function writesOf(n: number, nanAt?: number): StateWrite[] {
  return Array.from({ length: n }, (_, i): StateWrite => ({
    tsNs: T + BigInt(i) * 1000n,
    from: STATES[i % STATES.length] as string,
    fromRaw: i % 5 === 2 ? undefined : i % STATES.length,
    to: STATES[(i + 1) % STATES.length] as string,
    toRaw: (i + 1) % STATES.length,
    result: (['ok', 'failed', 'unknown'] as const)[i % 3] as StateWrite['result'],
    errno: i === nanAt ? Number.NaN : i % 3 === 1 ? 16 : undefined,
    readBackRaw: i % 3 === 1 ? 4 : undefined,
    src: i % 2 === 0 ? { file: 'a.txt', line: 5 + i } : { file: 'c.txt', line: 7 + i * 3 },
  }));
}

/** What the lane's columns must be: column-codec over the values, names interned intervals first (state, files), then writes (from, to, files). */
function expected(model: ReportModel, ivs: readonly StateInterval[], ws: readonly StateWrite[]) {
  const t0 = BigInt(model.t0);
  const rel = (t: bigint | undefined) => (t === undefined ? undefined : Number(t - t0));
  const stateIdx = (s: string) => model.states.findIndex((x) => x.name === s);
  const fileIdx = (f: string) => model.files.indexOf(f);
  const sources = (srcs: readonly (Source | undefined)[]) => ({
    file: ints(srcs.map((s) => (s === undefined ? -1 : fileIdx(s.file)))),
    line: delta(srcs.map((s) => s?.line)),
    byteOffset: ints(srcs.map((s) => s?.byteOffset ?? -1)),
  });
  const sp = spans(ivs.map((iv) => rel(iv.startNs)), ivs.map((iv) => rel(iv.endNs)));
  return {
    intervals: {
      count: ivs.length,
      state: ints(ivs.map((iv) => stateIdx(iv.state))),
      raw: ints(ivs.map((iv) => iv.raw ?? -1)),
      start: sp.start,
      end: sp.end,
      openAtEnd: ivs.flatMap((iv, i) => (iv.openAtEnd === true ? [i] : [])),
      certainty: ints(ivs.map((iv) => ['known', 'inferred', 'unknown'].indexOf(iv.certainty))),
      bytes: ints(ivs.map((iv) => iv.bytes)),
      src: sources(ivs.map((iv) => iv.src)),
    },
    writes: {
      count: ws.length,
      ts: delta(ws.map((w) => rel(w.tsNs))),
      from: ints(ws.map((w) => stateIdx(w.from))),
      fromRaw: ints(ws.map((w) => w.fromRaw ?? -1)),
      to: ints(ws.map((w) => stateIdx(w.to))),
      toRaw: ints(ws.map((w) => w.toRaw ?? -1)),
      result: ints(ws.map((w) => ['ok', 'failed', 'unknown'].indexOf(w.result))),
      errno: ints(ws.map((w) => w.errno ?? 0)),
      readBack: ints(ws.map((w) => w.readBackRaw ?? -1)),
      src: sources(ws.map((w) => w.src)),
    },
  };
}

/** The items as a column store's view, as the tracker hands them out past 64 items. */
function stored<T>(items: readonly T[], make: () => { push(x: T): void; view: readonly T[] }): readonly T[] {
  const s = make();
  for (const x of items) s.push(x);
  return s.view;
}

function check(ivs: readonly StateInterval[], ws: readonly StateWrite[], asStores: boolean, spill?: SpillFile) {
  const base = cleanSave();
  const timeline = asStores ? stored(ivs, createIntervalStore) : ivs;
  const stateWrites = asStores ? stored(ws, createWriteStore) : ws;
  const a = { ...base, devices: [device('dev0', { timeline, stateWrites })], findings: [] };
  // Through JSON, as the page gets it (NaN becomes null there and in column-codec's output).
  const model = JSON.parse(JSON.stringify(buildReportModel(a, spill === undefined ? {} : { spill }))) as ReportModel;
  const lane = model.lanes[0] as ModelLane;
  const want = JSON.parse(JSON.stringify(expected(model, ivs, ws))) as ReturnType<typeof expected>;
  expect(lane.intervals).toEqual(want.intervals);
  expect(lane.writes).toEqual(want.writes);
  // Files interned intervals first, in row order (b.dat, a.txt), then the writes' (c.txt).
  if (ivs.length > 0) expect(model.files.slice(0, 3)).toEqual(['b.dat', 'a.txt', 'c.txt']);
}

describe('report lane columns', () => {
  for (const asStores of [false, true]) {
    const how = asStores ? 'column-store views' : 'plain arrays';
    it(`${how}: equal column-codec of the values, unknowns included`, () => check(intervalsOf(300), writesOf(250), asStores));
    it(`${how}: a NaN value falls back to the old writing and still equals column-codec`, () => check(intervalsOf(300, 40), writesOf(250, 41), asStores));
  }
  it('empty lists', () => check([], [], false));
  it('long lists whose columns wait in the spill file (blocks of 4,096 numbers): the same columns', () => {
    const spill = newSpill();
    check(intervalsOf(9000), writesOf(12_345), true, spill);
    // the columns' blocks went to the file: 8 interval columns of 2 blocks, 11 write columns of 3 (32 KiB each)
    expect(spill.size()).toBeGreaterThanOrEqual((8 * 2 + 11 * 3) * 32_768);
  });
});
