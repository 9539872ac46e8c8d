// BigintColumn keeps every value exact: packed while values fit in 64 bits, a plain array
// from the first that does not (a corrupt timestamp must not wrap around silently).
import { describe, expect, it } from 'vitest';
import { BigintColumn } from '../../src/track/bigint-column.js';

describe('BigintColumn', () => {
  it('returns each value as pushed, past its first growth, at the 64-bit limits', () => {
    const c = new BigintColumn();
    const want: bigint[] = [];
    for (let i = 0; i < 1000; i++) want.push(BigInt(i) * 1_000_000_007n - 500_000_000_000n);
    want.push(2n ** 63n - 1n, -(2n ** 63n), 0n, -1n, 1_764_000_000_123_456_789n);
    for (const v of want) c.push(v);
    expect(c.length).toBe(want.length);
    expect(Array.from({ length: c.length }, (_, i) => c.get(i))).toEqual(want);
  });

  it('stays exact when a value does not fit in 64 bits, before and after it', () => {
    for (const big of [2n ** 63n, -(2n ** 63n) - 1n, 10n ** 30n]) {
      const c = new BigintColumn();
      const want = [5n, -7n, big, 9n, 2n ** 64n + 3n];
      for (const v of want) c.push(v);
      expect(Array.from({ length: c.length }, (_, i) => c.get(i))).toEqual(want);
    }
  });

  it('refuses an index it does not hold', () => {
    const c = new BigintColumn();
    c.push(1n);
    expect(() => c.get(1)).toThrow(RangeError);
    expect(() => c.get(-1)).toThrow(RangeError);
  });
});
