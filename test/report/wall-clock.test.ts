import { describe, expect, it } from 'vitest';
import { wallTimeIso } from '../../src/report/wall-clock.js';

describe('wallTimeIso', () => {
  it('maps trace time through the clock offset, exact to the nanosecond', () => {
    // 1795645751.932000000 s after the epoch = 2026-11-25T...; trace 1000000007 ns + offset
    const clock = { source: 'sync', clock: 'mono', offsetNs: 1_795_645_750_000_000_000n } as const;
    expect(wallTimeIso(clock, 1_932_000_007n)).toBe(`${new Date(1_795_645_751_932).toISOString().slice(0, 19)}.932000007Z`);
  });
  it('gives none without a mapping, without a time, or before the epoch', () => {
    expect(wallTimeIso({ source: 'relative', clock: undefined, offsetNs: undefined }, 5n)).toBeUndefined();
    expect(wallTimeIso({ source: 'offset', clock: undefined, offsetNs: 10n }, undefined)).toBeUndefined();
    expect(wallTimeIso({ source: 'offset', clock: undefined, offsetNs: -10n }, 5n)).toBeUndefined();
  });
});
