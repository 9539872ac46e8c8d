// IntervalIndex answers "which intervals reach into [lo, hi]" as a full scan would
// (downtime-shares.ts uses it so that settling 50,000 sessions is not pairwise).
import { describe, expect, it } from 'vitest';
import { IntervalIndex } from '../../src/track/interval-index.js';

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
