// column-text.ts writes the codings of column-codec.ts as JSON text from typed columns
// (NaN: unknown): its text must parse to exactly the Column column-codec.ts makes.
import { describe, expect, it } from 'vitest';
import { SpillRefused, type SpillFile } from '../../src/track/spill-file.js';
import { spillFiles } from '../helpers/spill-files.js';
import { delta, ints, spans } from '../../src/report/html/column-codec.js';
import { columnPieces, deltaPieces, Nums, spansPieces, type NumColumn } from '../../src/report/html/column-text.js';

const columnText = (v: NumColumn): string => [...columnPieces(v)].join('');
const deltaText = (v: NumColumn): string => [...deltaPieces(v)].join('');
/** spansPieces writes `"start":…,"end":…`: its two columns. */
const spansText = (starts: NumColumn, ends: NumColumn): { start: string; end: string } => {
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

const typed = (col: readonly (number | undefined)[]): Nums => {
  const n = new Nums();
  for (const v of col) n.push(v);
  return n;
};

describe('column-text', () => {
  it('writes a long column in pieces small enough to stay out of the large-object space', () => {
    const v = typed(Array.from({ length: 100_000 }, (_, i) => 1_764_000_000_000 + i * 7919));
    const pieces = [...columnPieces(v)];
    expect(pieces.length).toBeGreaterThan(40);
    expect(Math.max(...pieces.map((p) => p.length))).toBeLessThan(64 * 1024);
    expect(pieces.join('')).toBe(JSON.stringify(ints(Array.from({ length: v.length }, (_, i) => v.get(i)))));
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
    expect(Number.isNaN(n.get(0))).toBe(true);
    expect(n.get(999)).toBe(999);
    expect(Number.isNaN(n.get(1000))).toBe(true);
  });

  it('spills finished blocks to the file and reads them back in order, twice, the same as in memory', () => {
    const file = counted(newSpill());
    const long = columns().slice(-3); // 9,000 to 20,000 values: several 4,096-value blocks
    for (const col of long) {
      const mem = typed(col);
      const spilled = new Nums(file);
      for (const v of col) spilled.push(v);
      expect(spilled.length).toBe(col.length);
      expect(columnText(spilled)).toBe(columnText(mem));
      expect(deltaText(spilled)).toBe(deltaText(mem));
      expect(spansText(spilled, spilled)).toEqual(spansText(mem, mem));
    }
    // every full block went to the file, and was read from it
    const blocks = long.reduce((n, c) => n + Math.floor(c.length / 4096), 0);
    expect(file.appends).toBe(blocks);
    expect(file.reads).toBeGreaterThanOrEqual(blocks);
  });

  it('keeps blocks in memory once the file refuses a write, losing none', () => {
    const file = counted(newSpill(), 2);
    const col = Array.from({ length: 5 * 4096 + 17 }, (_, i) => (i % 97 === 0 ? undefined : 1_764_000_000_000 + i * 7919));
    const n = new Nums(file);
    for (const v of col) n.push(v);
    expect(file.appends).toBe(2);
    expect(file.refused).toBe(3);
    expect(columnText(n)).toBe(columnText(typed(col)));
    // reused after clear(): the same values come back, not the previous column's
    n.clear();
    for (let i = 0; i < 9000; i++) n.push(i);
    expect(n.length).toBe(9000);
    expect(n.get(8999)).toBe(8999);
    expect(n.get(4096)).toBe(4096);
    expect(Number.isNaN(n.get(9000))).toBe(true);
  });
});

const newSpill = spillFiles();

/** A spill file that counts byte appends and reads, and refuses appends once `refuseAfter` were taken. */
function counted(file: SpillFile, refuseAfter = Infinity): SpillFile & { appends: number; reads: number; refused: number } {
  const f = {
    appends: 0,
    reads: 0,
    refused: 0,
    append: (text: string) => file.append(text),
    read: (pos: number, len: number) => file.read(pos, len),
    appendBytes(bytes: Uint8Array) {
      if (f.appends >= refuseAfter) {
        f.refused++;
        throw new SpillRefused('disk full (test)');
      }
      f.appends++;
      return file.appendBytes(bytes);
    },
    readBytes(pos: number, len: number, into: Uint8Array) {
      f.reads++;
      file.readBytes(pos, len, into);
    },
    size: () => file.size(),
    close: () => file.close(),
  };
  return f;
}
