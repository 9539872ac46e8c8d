// Typed-array columns that grow by half, and the two value kinds the stores keep
// besides plain numbers: exact bigint timestamps and interned strings (interval-store.ts,
// write-store.ts). Issue 13: one interval or state write as a JS object, with its bigints
// and its Source, is a handful of heap objects; 20,000 per device of them were a large
// share of `analyze`'s peak RSS.

import { arrayView } from './array-view.js';

export const INITIAL_CAPACITY = 16;

type Typed = Float64Array | Int32Array | Uint16Array | Uint8Array | BigInt64Array;

/**
 * `a` with room for at least `n` items, its contents kept. Grows by half: a store filled to
 * the per-device cap (20,000) then holds 23,646 rows, not the 32,768 of doubling, and 8
 * capped devices' columns are most of the array-buffer memory of a long trace.
 */
export function grown<A extends Typed>(a: A, n: number): A {
  if (n <= a.length) return a;
  let cap = Math.max(a.length, INITIAL_CAPACITY);
  while (cap < n) cap = Math.ceil(cap * 1.5);
  const b = new (a.constructor as new (n: number) => A)(cap);
  (b as { set(x: A): void }).set(a);
  return b;
}

/**
 * Exact bigints in a BigInt64Array, and in a side map the ones outside int64 (a u64 kernel
 * time past 2^63, or anything wider): a timestamp must come back as the value it was
 * (STYLE.md "Exact kernel time"), not wrapped.
 */
export interface BigColumn {
  vals: BigInt64Array;
  readonly wide: Map<number, bigint>;
}

export function bigColumn(): BigColumn {
  return { vals: new BigInt64Array(0), wide: new Map() };
}

export function setBig(c: BigColumn, i: number, v: bigint): void {
  c.vals = grown(c.vals, i + 1);
  if (BigInt.asIntN(64, v) === v) {
    c.vals[i] = v;
    c.wide.delete(i);
  } else c.wide.set(i, v);
}

/** Forgets the values kept beside the column (its rows are written again before they are read). */
export function clearBig(c: BigColumn): void {
  c.wide.clear();
}

export function getBig(c: BigColumn, i: number): bigint {
  if (c.wide.size > 0) {
    const w = c.wide.get(i);
    if (w !== undefined) return w;
  }
  return c.vals[i] as bigint;
}

/** Strings by a small code (state names, file names): few distinct values, many rows. */
export interface Interned {
  readonly codes: Map<string, number>;
  readonly names: string[];
}

export function interned(): Interned {
  return { codes: new Map(), names: [] };
}

export function codeOf(t: Interned, s: string): number {
  let c = t.codes.get(s);
  if (c === undefined) {
    c = t.names.length;
    t.names.push(s);
    t.codes.set(s, c);
  }
  return c;
}

export function nameOf(t: Interned, c: number): string {
  return t.names[c] as string;
}

/** A list kept as rows (interval-store.ts, write-store.ts), as the recorder asks of it. */
export interface ItemStore<T> {
  push(item: T): void;
  /** Replaces item i (0 ≤ i < length). */
  set(i: number, item: T): void;
  at(i: number): T;
  readonly length: number;
  /** The items as a read-only array (array-view.ts). */
  readonly view: readonly T[];
}

/**
 * A store that can be emptied and filled again with the memory it has (spilled-rows.ts
 * reuses a block's store once its rows are in the file).
 */
export interface ReusableStore<T> extends ItemStore<T> {
  /** Empties the store; its columns keep their size, rows written after overwrite them. */
  clear(): void;
}

/**
 * The list around a store's row codec: `write(i, item)` puts an item in row i (a new last
 * row or a replaced one), `read(i)` makes it back, `reset()` forgets whatever the codec
 * keeps beside its columns (clear). Bounds are checked here; the view's kept item is
 * dropped when a row is replaced.
 */
export function rowStore<T>(what: string, write: (i: number, item: T) => void, read: (i: number) => T, reset: () => void = () => {}): ReusableStore<T> {
  let n = 0;
  const v = arrayView<T>({ count: () => n, at: read });
  const check = (i: number): void => {
    if (!(i >= 0 && i < n && Number.isInteger(i))) throw new RangeError(`${what} ${i} is not in the store (${n} items)`);
  };
  return {
    push(item) {
      write(n, item);
      n++;
    },
    set(i, item) {
      check(i);
      write(i, item);
      v.forget();
    },
    at(i) {
      check(i);
      return read(i);
    },
    get length() {
      return n;
    },
    clear() {
      n = 0;
      v.forget();
      reset();
    },
    view: v.view,
  };
}
