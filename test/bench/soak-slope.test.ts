// The watch soak's "flat" verdict (bench/watch-soak.ts): the least-squares slope of RSS over
// the samples after warm-up, so the collector's sawtooth does not decide it the way the last
// sample alone did.
import { describe, expect, it } from 'vitest';
import { slopePer100k } from '../../bench/watch-soak.js';

const saw = (k: number): number => [0, 12, 24, 30, -4][k % 5] as number;

describe('soak slope', () => {
  it('is the growth of a line under a sawtooth, and ~0 for the sawtooth alone', () => {
    const growing = Array.from({ length: 40 }, (_, k) => ({ sessions: 20_000 + k * 5_000, rssMb: 180 + (k * 5_000 * 3) / 100_000 + saw(k) }));
    expect(slopePer100k(growing)).toBeGreaterThan(2);
    expect(slopePer100k(growing)).toBeLessThan(4);
    const flat = growing.map((p, k) => ({ ...p, rssMb: 180 + saw(k) }));
    expect(Math.abs(slopePer100k(flat))).toBeLessThan(1.5);
    // The end sample at the top of a saw tooth: the last-minus-first figure would say it grows.
    const last = flat[flat.length - 2] as { sessions: number; rssMb: number };
    expect(((last.rssMb - (flat[0] as { rssMb: number }).rssMb) / (last.sessions - 20_000)) * 100_000).toBeGreaterThan(5);
  });

  it('is NaN without two distinct points', () => {
    expect(slopePer100k([])).toBeNaN();
    expect(slopePer100k([{ sessions: 5, rssMb: 100 }])).toBeNaN();
    expect(slopePer100k([{ sessions: 5, rssMb: 100 }, { sessions: 5, rssMb: 120 }])).toBeNaN();
  });
});
