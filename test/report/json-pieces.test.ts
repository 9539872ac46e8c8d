// The report's data in pieces (report/html/json-pieces.ts): joined, the pieces are exactly
// JSON.stringify's text, on random plain data with members that JSON leaves out, array
// items it writes as null, long arrays cut into slices, and strings with escapes and
// characters beyond Latin-1; and no piece holds a whole long array.

import { describe, expect, it } from 'vitest';
import { arrayPieces, jsonPieces, objectBody, SLICE_ITEMS } from '../../src/report/html/json-pieces.js';

/** Deterministic pseudo-random numbers (xorshift), so a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function value(r: () => number, depth: number): unknown {
  const k = Math.floor(r() * (depth > 3 ? 6 : 9));
  switch (k) {
    case 0:
      return Math.floor(r() * 1e6) - 5e5;
    case 1:
      return r() < 0.1 ? Number.NaN : r() * 1e3;
    case 2:
      return ['', 'a"b', 'line\nbreak', 'tab\t', '…', '𝄞', '\u2028', 'x'.repeat(Math.floor(r() * 50))][Math.floor(r() * 8)];
    case 3:
      return r() < 0.5;
    case 4:
      return null;
    case 5:
      return undefined;
    case 6: {
      // Long arrays (of scalars) now and then, past the slice size.
      if (r() < 0.3) return Array.from({ length: SLICE_ITEMS * 2 + Math.floor(r() * 10) }, () => value(r, 4));
      return Array.from({ length: Math.floor(r() * 5) }, () => value(r, depth + 1));
    }
    default: {
      const o: Record<string, unknown> = {};
      const n = Math.floor(r() * 6);
      for (let i = 0; i < n; i++) o[`k${i}${i % 2 === 0 ? '"q' : ''}`] = value(r, depth + 1);
      return o;
    }
  }
}

describe('jsonPieces', () => {
  it('joined, equals JSON.stringify on 300 random values', () => {
    const r = rng(20261203);
    for (let i = 0; i < 300; i++) {
      const v = { a: value(r, 0), b: value(r, 0), dropped: undefined, c: value(r, 0) };
      expect([...jsonPieces(v)].join('')).toBe(JSON.stringify(v));
      expect(`{${[...objectBody(v)].join('')}`).toBe(JSON.stringify(v));
    }
  });

  it('a long array comes in slices, none holding it whole', () => {
    const col = Array.from({ length: SLICE_ITEMS * 5 + 3 }, (_, i) => `message ${i} …`);
    const pieces = [...jsonPieces({ message: col })];
    expect(pieces.join('')).toBe(JSON.stringify({ message: col }));
    const whole = JSON.stringify(col).length;
    expect(Math.max(...pieces.map((p) => p.length))).toBeLessThan(whole / 4);
  });

  it('an array read from a pass over a list (arrayPieces) is the same text, at every length around a slice', () => {
    for (const n of [0, 1, SLICE_ITEMS - 1, SLICE_ITEMS, SLICE_ITEMS + 1, SLICE_ITEMS * 3]) {
      const items = Array.from({ length: n }, (_, i) => (i % 5 === 0 ? null : `line ${i} "q" é`));
      function* pass(): Generator<string | null> {
        yield* items;
      }
      expect([...arrayPieces(pass())].join(''), `${n} items`).toBe(JSON.stringify(items));
    }
  });

  it('refuses what JSON cannot write at the top (it would not be a document)', () => {
    expect(() => [...jsonPieces(undefined)]).toThrow(/not JSON/);
  });
});
