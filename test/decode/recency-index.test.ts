// The time index behind the time-proximity join (src/decode/recency-index.ts): the same
// answers a scan of every key's last time gives, whatever the order the times come in.

import { describe, expect, it } from 'vitest';
import { createRecencyIndex } from '../../src/decode/recency-index.js';

interface V {
  readonly tsNs: bigint;
  readonly key: string;
}

/** What the scan the index replaced answers: every key whose current time is within the window. */
function scan(m: ReadonlyMap<string, V>, t: bigint, w: bigint): string[] {
  return [...m.values()].filter((v) => (t >= v.tsNs ? t - v.tsNs : v.tsNs - t) <= w).map((v) => v.key).sort();
}

describe('recency index', () => {
  it("only a key's LAST time counts: a key set again outside the window is not in it", () => {
    const ix = createRecencyIndex<V>();
    ix.set('a', { key: 'a', tsNs: 100n });
    ix.set('b', { key: 'b', tsNs: 105n });
    ix.set('a', { key: 'a', tsNs: 900n });
    expect(ix.within(100n, 10n).map((v) => v.key)).toEqual(['b']);
    expect(ix.within(900n, 0n).map((v) => v.key)).toEqual(['a']);
  });

  it('the window is closed at both ends; deleted keys are gone', () => {
    const ix = createRecencyIndex<V>();
    for (const [k, t] of [['lo', 95n], ['in', 100n], ['hi', 105n], ['out', 106n]] as const) ix.set(k, { key: k, tsNs: t });
    expect(ix.within(100n, 5n).map((v) => v.key)).toEqual(['lo', 'in', 'hi']);
    ix.delete('in');
    expect(ix.within(100n, 5n).map((v) => v.key)).toEqual(['lo', 'hi']);
    expect(ix.size).toBe(3);
  });

  it('agrees with a scan over many keys set many times, out of order too (compaction included)', () => {
    const ix = createRecencyIndex<V>();
    const truth = new Map<string, V>();
    // A deterministic walk: 300 keys, 20,000 sets, times mostly rising, some stepping back a little or far.
    let seed = 12345;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    let t = 0n;
    for (let i = 0; i < 20_000; i++) {
      t += BigInt(next() % 50);
      // A step back is usually short (put in place), sometimes far (the log is re-sorted at the next query).
      const r = next() % 100;
      const ts = r < 9 ? t - BigInt(next() % 400) : r === 99 ? t - BigInt(next() % 50_000) : t;
      const key = `k${next() % 300}`;
      const v = { key, tsNs: ts };
      ix.set(key, v);
      truth.set(key, v);
      if (next() % 500 === 0) {
        ix.delete(key);
        truth.delete(key);
      }
      if (i % 997 === 0) expect(ix.within(t - 100n, 200n).map((x) => x.key).sort()).toEqual(scan(truth, t - 100n, 200n));
    }
    for (const q of [0n, t / 2n, t, t + 1000n]) expect(ix.within(q, 300n).map((x) => x.key).sort()).toEqual(scan(truth, q, 300n));
    expect(ix.size).toBe(truth.size);
  });
});
