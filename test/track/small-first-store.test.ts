// smallFirst (track/small-first-store.ts): few items stay a plain array, more become the
// column store, and the list a reader was given never goes stale.
import { describe, expect, it } from 'vitest';
import { smallFirst } from '../../src/track/small-first-store.js';
import { createIntervalStore } from '../../src/track/interval-store.js';
import type { StateInterval } from '../../src/track/types.js';

const iv = (i: number): StateInterval => ({ state: i % 2 === 0 ? 'RUNNING' : 'SAVING', raw: i % 2 === 0 ? 1 : 2, startNs: BigInt(i) * 10n, endNs: BigInt(i + 1) * 10n, certainty: 'known', bytes: i, src: { file: 't.txt', line: i + 1 } });

describe('smallFirst', () => {
  it('becomes the column store past its size, every item read back as pushed', () => {
    let made = 0;
    const s = smallFirst(() => (made++, createIntervalStore()), 'interval', 8);
    const want = Array.from({ length: 30 }, (_, i) => iv(i));
    for (const x of want.slice(0, 8)) s.push(x);
    expect(made).toBe(0);
    for (const x of want.slice(8)) s.push(x);
    expect(made).toBe(1);
    expect(s.length).toBe(30);
    expect(s.view).toEqual(want);
    expect(s.from(25)).toEqual(want.slice(25));
    s.set(3, iv(99));
    expect(s.at(3)).toEqual(iv(99));
    expect(() => s.at(30)).toThrow(RangeError);
    expect(() => s.set(-1, iv(0))).toThrow(RangeError);
  });

  it('a view handed out while small stays live: later items show in it', () => {
    let made = 0;
    const s = smallFirst(() => (made++, createIntervalStore()), 'interval', 8);
    s.push(iv(0));
    const early = s.view;
    for (let i = 1; i < 20; i++) s.push(iv(i));
    expect(early.length).toBe(20);
    expect(early[19]).toEqual(iv(19));
    expect(made).toBe(0);
    expect(s.from(18)).toEqual([iv(18), iv(19)]);
  });
});
