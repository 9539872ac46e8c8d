// The pending syscall of each thread (parsers/tid-slots.ts): a Map whose entries are
// emptied, not deleted. It must answer as the Map it replaces would, in the same order
// (a flush completes pending syscalls in it), and stay bounded when tids come and go.

import { describe, expect, it } from 'vitest';
import { TidSlots } from '../../parsers/tid-slots.js';

/** A small deterministic generator (no Math.random: a failure must replay). */
function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x * 1_664_525 + 1_013_904_223) >>> 0;
    return x / 2 ** 32;
  };
}

describe('TidSlots', () => {
  it('answers get, size and values as a Map with delete would, over random enters and exits', () => {
    for (const seed of [1, 2, 3]) {
      const r = rng(seed);
      const slots = new TidSlots<{ n: number }>();
      const map = new Map<number, { n: number }>();
      for (let step = 0; step < 20_000; step++) {
        const tid = Math.floor(r() * (seed === 3 ? 3_000 : 40));
        const what = r();
        if (what < 0.5) {
          const v = { n: step };
          slots.set(tid, v);
          map.set(tid, v);
        } else if (what < 0.95) {
          slots.delete(tid);
          map.delete(tid);
        } else {
          expect(slots.values()).toEqual([...map.values()]);
        }
        expect(slots.get(tid)).toBe(map.get(tid));
        expect(slots.size).toBe(map.size);
      }
      expect(slots.values()).toEqual([...map.values()]);
    }
  });

  it('keeps a live entry in its place when it is set again, and puts an emptied one last', () => {
    const slots = new TidSlots<string>();
    slots.set(1, 'a');
    slots.set(2, 'b');
    slots.set(3, 'c');
    slots.set(1, 'a2'); // live: keeps its place, as Map.set does
    slots.delete(2);
    slots.set(2, 'b2'); // emptied: goes last, as after Map.delete
    expect(slots.values()).toEqual(['a2', 'c', 'b2']);
    slots.clear();
    expect(slots.values()).toEqual([]);
    expect(slots.size).toBe(0);
  });

  it('drops empty entries once they outnumber the live ones by far', () => {
    const slots = new TidSlots<number>();
    for (let tid = 0; tid < 100_000; tid++) {
      slots.set(tid, tid);
      slots.delete(tid);
    }
    slots.set(7, 7);
    expect(slots.size).toBe(1);
    // Entries kept, live or empty: bounded by the compaction threshold, not by the 100,000 tids seen.
    expect((slots as unknown as { vals: Map<number, unknown> }).vals.size).toBeLessThanOrEqual(1_026);
    expect(slots.values()).toEqual([7]);
  });
});
