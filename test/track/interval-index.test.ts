// IntervalIndex answers "which intervals reach into [lo, hi]" as a full scan would
// (downtime-shares.ts uses it so that settling 50,000 sessions is not pairwise).
import { describe, expect, it } from 'vitest';
import { IntervalIndex, rowsByStart } from '../../src/track/interval-index.js';
import { bigColumn, setBig } from '../../src/track/columns.js';

/** A small deterministic generator (no Math.random: a failure replays). */
function lcg(seed: number): () => number {
  let x = seed;
  return () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

describe('IntervalIndex', () => {
  it('finds exactly the intervals a full scan finds, for overlap and for containment queries', () => {
    const rnd = lcg(7);
    for (let round = 0; round < 50; round++) {
      const ivs = Array.from({ length: 1 + Math.floor(rnd() * 60) }, (_, i) => {
        const start = BigInt(Math.floor(rnd() * 1000));
        // Mostly short, a few long ones that reach over many others.
        const len = BigInt(Math.floor(rnd() < 0.1 ? rnd() * 800 : rnd() * 20));
        return { start, end: start + len, item: i };
      });
      const index = new IntervalIndex(ivs);
      for (let q = 0; q < 40; q++) {
        const a = BigInt(Math.floor(rnd() * 1100) - 50);
        const b = BigInt(Math.floor(rnd() * 1100) - 50);
        const brute = ivs.filter((iv) => iv.start <= b && iv.end >= a).map((iv) => iv.item).sort((x, y) => x - y);
        const got = [...index.reaching(a, b)].map((iv) => iv.item).sort((x, y) => x - y);
        expect(got).toEqual(brute);
      }
    }
  });

  it('compares exactly beyond 64 bits and beyond the precision of a double', () => {
    const base = 2n ** 70n;
    const ivs = [
      { start: base + 1n, end: base + 2n, item: 'a' },
      { start: base + 3n, end: base + 4n, item: 'b' },
      { start: 1_764_000_000_000_000_001n, end: 1_764_000_000_000_000_002n, item: 'c' },
    ];
    const index = new IntervalIndex(ivs);
    expect([...index.reaching(base + 2n, base + 2n)].map((iv) => iv.item)).toEqual(['a']);
    expect([...index.reaching(base + 3n, base + 10n)].map((iv) => iv.item)).toEqual(['b']);
    // 1 ns apart, where a double cannot tell them apart
    expect([...index.reaching(1_764_000_000_000_000_002n, 1_764_000_000_000_000_003n)].map((iv) => iv.item)).toEqual(['c']);
    expect([...index.reaching(1_764_000_000_000_000_003n, 1_764_000_000_000_000_004n)]).toEqual([]);
  });

  it('returns nothing from an empty index and yields the latest start first', () => {
    expect([...new IntervalIndex<number>([]).reaching(0n, 10n)]).toEqual([]);
    const index = new IntervalIndex([
      { start: 5n, end: 9n, item: 'b' },
      { start: 1n, end: 100n, item: 'a' },
      { start: 7n, end: 8n, item: 'c' },
    ]);
    expect([...index.reaching(6n, 7n)].map((iv) => iv.item)).toEqual(['c', 'b', 'a']);
  });
});

describe('rowsByStart', () => {
  /** The order a comparator sort gives: by start, ties by row. */
  function reference(starts: readonly bigint[]): number[] {
    return starts.map((_, i) => i).sort((a, b) => {
      const x = starts[a] as bigint;
      const y = starts[b] as bigint;
      return x < y ? -1 : x > y ? 1 : a - b;
    });
  }

  function sorted(starts: readonly bigint[]): number[] {
    const c = bigColumn();
    starts.forEach((v, i) => setBig(c, i, v));
    return [...rowsByStart(c, starts.length)];
  }

  it('orders rows by start, ties in row order, as a comparator sort does: runs in order, shuffled, descending, all equal', () => {
    const rnd = lcg(11);
    for (let round = 0; round < 200; round++) {
      const n = Math.floor(rnd() * 300);
      const shape = round % 4;
      // Devices' windows: a few runs each in time order (the usual input), or no order at all.
      const runLen = 1 + Math.floor(rnd() * 60);
      const starts = Array.from({ length: n }, (_, i) => {
        if (shape === 0) return BigInt((i % runLen) * 10 + Math.floor(rnd() * 3));
        if (shape === 1) return BigInt(Math.floor(rnd() * 50));
        if (shape === 2) return BigInt(n - i);
        return 7n;
      });
      expect(sorted(starts)).toEqual(reference(starts));
    }
    expect(sorted([])).toEqual([]);
    expect(sorted([5n])).toEqual([0]);
  });

  it('compares values past 64 bits (kept beside the column) exactly', () => {
    const big = 2n ** 70n;
    const starts = [big + 3n, -(2n ** 65n), big + 1n, 0n, big + 1n, -(2n ** 65n) - 1n];
    expect(sorted(starts)).toEqual(reference(starts));
  });
});
