// column-text.ts writes the codings of column-codec.ts as JSON text from typed columns
// (NaN: unknown): its text must parse to exactly the Column column-codec.ts makes.
import { describe, expect, it } from 'vitest';
import { delta, ints, spans } from '../../src/report/html/column-codec.js';
import { columnPieces, deltaPieces, Nums, spansPieces } from '../../src/report/html/column-text.js';

const columnText = (v: ArrayLike<number>): string => [...columnPieces(v)].join('');
const deltaText = (v: ArrayLike<number>): string => [...deltaPieces(v)].join('');
/** spansPieces writes `"start":…,"end":…`: its two columns. */
const spansText = (starts: ArrayLike<number>, ends: ArrayLike<number>): { start: string; end: string } => {
  const both = JSON.parse(`{${[...spansPieces(starts, ends)].join('')}}`) as { start: unknown; end: unknown };
  return { start: JSON.stringify(both.start), end: JSON.stringify(both.end) };
};

function lcg(seed: number): () => number {
  let x = seed;
  return () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

/** Columns of the shapes the report has: runs (codes, zeros), times past 2^31, unknowns, −0. */
function columns(): (number | undefined)[][] {
  const rnd = lcg(11);
  const out: (number | undefined)[][] = [[], [undefined], [0, -0, 0], [5, 5, 5, 5, 5, 7], [1.5, -2, 3e15, 1_764_000_000_000]];
  // The last ones long, around and past the piece size (2,048 numbers; columnPieces).
  const long = [2047, 2048, 2049, 4096, 4097, 9000, 2 * 4096 + 1, 20_000];
  for (let r = 0; r < 200 + long.length; r++) {
    const n = r < 200 ? Math.floor(rnd() * 50) : (long[r - 200] as number);
    const runny = rnd() < 0.5;
    const col: (number | undefined)[] = [];
    let t = Math.floor(rnd() * 1e12);
    let code = 0;
    for (let i = 0; i < n; i++) {
      const u = rnd();
      if (runny) {
        // long runs of a code, now and then unknown
        if (u < 0.1) code = Math.floor(rnd() * 3);
        col.push(u > 0.97 ? undefined : code);
      } else if (u < 0.15) col.push(undefined);
      else col.push((t += Math.floor(rnd() * 5e9)));
    }
    out.push(col);
  }
  return out;
}

const typed = (col: readonly (number | undefined)[]): Float64Array => {
  const n = new Nums();
  for (const v of col) n.push(v);
  return n.values;
};

describe('column-text', () => {
  it('writes a long column in pieces small enough to stay out of the large-object space', () => {
    const v = typed(Array.from({ length: 100_000 }, (_, i) => 1_764_000_000_000 + i * 7919));
    const pieces = [...columnPieces(v)];
    expect(pieces.length).toBeGreaterThan(40);
    expect(Math.max(...pieces.map((p) => p.length))).toBeLessThan(64 * 1024);
    expect(pieces.join('')).toBe(JSON.stringify(ints([...v])));
  });

  it('columnText, deltaText and spansText parse to the Column of ints, delta and spans', () => {
    const cols = columns();
    let rle = 0;
    for (const col of cols) {
      const v = typed(col);
      expect(JSON.parse(columnText(v))).toEqual(JSON.parse(JSON.stringify(ints(col))));
      expect(JSON.parse(deltaText(v))).toEqual(JSON.parse(JSON.stringify(delta(col))));
      if (!Array.isArray(ints(col))) rle++;
    }
    for (let i = 0; i + 1 < cols.length; i++) {
      const a = cols[i] ?? [];
      const b = (cols[i + 1] ?? []).slice(0, a.length);
      while (b.length < a.length) b.push(undefined);
      const got = spansText(typed(a), typed(b));
      const want = spans(a, b);
      expect(JSON.parse(got.start)).toEqual(JSON.parse(JSON.stringify(want.start)));
      expect(JSON.parse(got.end)).toEqual(JSON.parse(JSON.stringify(want.end)));
    }
    // both codings were exercised
    expect(rle).toBeGreaterThan(10);
    expect(rle).toBeLessThan(cols.length - 10);
  });

  it('grows past its first capacity and keeps undefined as unknown', () => {
    const n = new Nums();
    for (let i = 0; i < 1000; i++) n.push(i % 10 === 0 ? undefined : i);
    expect(n.length).toBe(1000);
    expect(Number.isNaN(n.values[0])).toBe(true);
    expect(n.values[999]).toBe(999);
  });
});
