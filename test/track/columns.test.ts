// columns.ts BigColumn keeps every value exact: packed in a BigInt64Array while it fits in
// 64 bits, in the side map when it does not (a corrupt timestamp must not wrap around).
import { describe, expect, it } from 'vitest';
import { bigColumn, getBig, setBig } from '../../src/track/columns.js';

describe('BigColumn', () => {
  it('returns each value as set, past its first growth, at the 64-bit limits', () => {
    const c = bigColumn();
    const want: bigint[] = [];
    for (let i = 0; i < 1000; i++) want.push(BigInt(i) * 1_000_000_007n - 500_000_000_000n);
    want.push(2n ** 63n - 1n, -(2n ** 63n), 0n, -1n, 1_764_000_000_123_456_789n);
    want.forEach((v, i) => setBig(c, i, v));
    expect(want.map((_, i) => getBig(c, i))).toEqual(want);
  });

  it('stays exact when a value does not fit in 64 bits, and when it is replaced by one that does', () => {
    for (const big of [2n ** 63n, -(2n ** 63n) - 1n, 10n ** 30n]) {
      const c = bigColumn();
      const want = [5n, -7n, big, 9n, 2n ** 64n + 3n];
      want.forEach((v, i) => setBig(c, i, v));
      expect(want.map((_, i) => getBig(c, i))).toEqual(want);
      setBig(c, 2, 11n);
      expect(getBig(c, 2)).toBe(11n);
    }
  });
});
