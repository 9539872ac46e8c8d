// A list of plain records (finished sessions) that keeps its latest items in memory and
// moves the rest to a spill file (spill-file.ts, spill-codec.ts), read back one item at a
// time when a consumer asks (issue 13: 51,878 sessions held ~175 MB; the report, JSON and
// terminal output read them one after another).
//
// Consumers get `view`, an array (Array.isArray is true; length, indexing, for-of, map,
// filter, reduce, JSON.stringify all work) whose items are read from the file on access:
// the one place migscope uses a Proxy, so that every reader of DeviceTimeline.sessions, and
// every test that builds one from a plain array, stays as it is. An item read twice may be
// two equal objects, not one: nothing may rely on a spilled item's identity (the export's
// session slices do; `analyze --export` does not spill).

import { decodeValue, encodeValue } from './spill-codec.js';
import { SpillRefused, type SpillFile } from './spill-file.js';
import { ChunkedColumn } from './chunked-column.js';

/**
 * Items kept in memory before the older ones move to the file. Few: a session kept in
 * memory for a while outlives two young-generation collections and is moved to the old
 * generation, where it is garbage once spilled. With 64 a device, 470 MB of dense text
 * (51,878 sessions) promoted 47 MB per 64 MB of input and peaked at 166 MB RSS; with 4,
 * 27 MB and 140 MB, at the same CPU time (nothing reads the latest sessions while
 * the trace is read).
 */
export const DEFAULT_SPILL_AFTER = 4;

export interface SpilledList<T> {
  push(item: T): void;
  readonly length: number;
  /** Items in the file (the rest are in memory). */
  readonly spilled: number;
  /** The list as a read-only array whose spilled items are read on access. */
  readonly view: readonly T[];
}

interface Store<T> {
  readonly file: SpillFile;
  readonly after: number;
  /**
   * Position and length in the file of each spilled item: 12 bytes an item, in chunks
   * (chunked-column.ts), not grown by copying (559,106 sessions of a 2 GB trace.dat held
   * up to 18 MB in these two columns as doubled Float64Arrays).
   */
  readonly pos: ChunkedColumn;
  readonly len: ChunkedColumn;
  /** Bytes of the item's head (SpillHead), just before pos; NO_HEAD when it was not written. */
  readonly hlen: ChunkedColumn;
  readonly head: SpillHead<T> | undefined;
  spilled: number;
  tail: T[];
  /**
   * Applied to each item read from the file (mapListLazy): the file keeps the item as first
   * written and the list reads it as mapped. Undefined: items are read as written.
   */
  readonly transform: ((item: T, index: number) => T) | undefined;
  /** createSpilledList's fold and its value over every item, in memory (foldOf). */
  readonly fold: SpillFold<T, unknown> | undefined;
  acc: unknown;
}

/**
 * Totals over a list kept as items are pushed (a count, a sum): passes that need only
 * those do not read every spilled item back (each read is a JSON parse of a few KB,
 * ≈ 23 µs a session). `add` changes `acc` in place.
 */
export interface SpillFold<T, A> {
  init(): A;
  add(acc: A, item: T): void;
}

/**
 * A short text about an item, written just before it in the file so that a pass needing
 * only that reads a few bytes, not the item (downtime-shares.ts: each session's stop-copy
 * window, where a JSON parse of the whole session was ≈ 15 µs of a 2 GB trace's 559,106).
 */
export type SpillHead<T> = (item: T) => string;

/** hlen of an item whose head was not written (longer than a u16 can say): its head is worked out from the item. */
const NO_HEAD = 0xffff;

const stores = new WeakMap<object, Store<unknown>>();

function addSpilled<T>(st: Store<T>, pos: number, len: number, hlen: number): void {
  st.pos.set(st.spilled, pos);
  st.len.set(st.spilled, len);
  if (st.head !== undefined) st.hlen.set(st.spilled, hlen);
  st.spilled++;
}

/** Moves the items in memory to the file; keeps them in memory when it refuses (disk full). */
function spillTail<T>(st: Store<T>): void {
  let moved = 0;
  try {
    for (const item of st.tail) {
      const text = encodeValue(item);
      const head = st.head?.(item) ?? '';
      const hbytes = head === '' ? 0 : Buffer.byteLength(head, 'utf8');
      // A head longer than its u16 length can say is not written (NO_HEAD).
      const written = hbytes < NO_HEAD ? hbytes : 0;
      const at = st.file.append(written > 0 ? head + text : text);
      addSpilled(st, at.pos + written, at.len - written, hbytes < NO_HEAD ? hbytes : NO_HEAD);
      moved++;
    }
  } catch (e) {
    if (!(e instanceof SpillRefused)) throw e;
  }
  st.tail.splice(0, moved);
}

function itemAt<T>(st: Store<T>, i: number): T | undefined {
  if (i >= st.spilled) return st.tail[i - st.spilled];
  // Not cached: a cache (long-lived) pointing at young items keeps them through collections
  // of the young generation, and they end up as garbage in the old one (a read of 14,826
  // sessions left 55 MB that way, against 11 MB without). Consumers read each item once a pass.
  const item = decodeValue(st.file.read(st.pos.at(i), st.len.at(i))) as T;
  return st.transform === undefined ? item : st.transform(item, i);
}

/** Item i's head: from the bytes before it in the file, from the item when those were not written or it is in memory. */
function headAt<T>(st: Store<T>, head: SpillHead<T>, i: number): string {
  if (i >= st.spilled) return head(st.tail[i - st.spilled] as T);
  const h = st.hlen.at(i);
  if (h === 0) return '';
  if (h === NO_HEAD) return head(itemAt(st, i) as T);
  return st.file.read(st.pos.at(i) - h, h);
}

function indexOf(key: string | symbol): number | undefined {
  if (typeof key !== 'string' || key === '' || key.length > 15) return undefined;
  const n = Number(key);
  return Number.isInteger(n) && n >= 0 && String(n) === key ? n : undefined;
}

function readOnly(): never {
  throw new TypeError('a spilled list is read-only');
}

function viewOf<T>(st: Store<T>): readonly T[] {
  const count = (): number => st.spilled + st.tail.length;
  // for-of without the traps: Array.prototype's iterator reads each item through `get`
  // with its index as a string key, which indexOf turns back into a number (and a string
  // again to check it). Writing the JSON of a 256 MB trace.dat left 143,526 such strings
  // dead at the next full collection; read by number, 35,853 strings of any kind.
  function* items(): Generator<T> {
    for (let i = 0; i < count(); i++) yield itemAt(st, i) as T;
  }
  const view = new Proxy([] as T[], {
    get(target, key, receiver) {
      if (key === 'length') return count();
      if (key === Symbol.iterator || key === 'values') return items;
      const i = indexOf(key);
      if (i !== undefined) return i < count() ? itemAt(st, i) : undefined;
      return Reflect.get(target, key, receiver) as unknown;
    },
    has(target, key) {
      const i = indexOf(key);
      return i !== undefined ? i < count() : Reflect.has(target, key);
    },
    ownKeys() {
      const keys: string[] = [];
      for (let i = 0; i < count(); i++) keys.push(String(i));
      keys.push('length');
      return keys;
    },
    getOwnPropertyDescriptor(target, key) {
      if (key === 'length') return { value: count(), writable: true, enumerable: false, configurable: false };
      const i = indexOf(key);
      if (i !== undefined && i < count()) return { value: itemAt(st, i), writable: false, enumerable: true, configurable: true };
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
    set: readOnly,
    defineProperty: readOnly,
    deleteProperty: readOnly,
  });
  stores.set(view, st as Store<unknown>);
  return view;
}

function newStore<T>(file: SpillFile, after: number, fold?: SpillFold<T, unknown>, head?: SpillHead<T>): Store<T> {
  return { file, after, pos: ChunkedColumn.of((n) => new Float64Array(n)), len: ChunkedColumn.of((n) => new Uint32Array(n)), hlen: ChunkedColumn.of((n) => new Uint16Array(n)), head, spilled: 0, tail: [], transform: undefined, fold, acc: fold?.init() };
}

/**
 * A list that moves its items in memory to `file` whenever more than `after` are there;
 * `fold`'s totals are kept over every item (foldOf); `head`'s text is kept before each
 * item in the file (headsOf).
 */
export function createSpilledList<T, A = never>(file: SpillFile, after = DEFAULT_SPILL_AFTER, fold?: SpillFold<T, A>, head?: SpillHead<T>): SpilledList<T> {
  const st = newStore<T>(file, after, fold as SpillFold<T, unknown> | undefined, head);
  const view = viewOf(st);
  return {
    push(item) {
      st.fold?.add(st.acc, item);
      st.tail.push(item);
      // In batches: the memory tail holds at most `after` items, and the file is written in runs.
      if (st.tail.length > st.after) spillTail(st);
    },
    get length() {
      return st.spilled + st.tail.length;
    },
    get spilled() {
      return st.spilled;
    },
    view,
  };
}

/** True for a spilled list's view. */
export function isSpilled(list: readonly unknown[]): boolean {
  return stores.has(list);
}

/**
 * `list.map(fn)`, calling fn on every item in order, without holding every item at once when
 * `list` is a spilled view: the result is a spilled list on the same file, where an item fn
 * returns unchanged keeps its place in the file and a new one is appended.
 */
export function mapList<T>(list: readonly T[], fn: (item: T, index: number) => T): readonly T[] {
  const st = stores.get(list) as Store<T> | undefined;
  if (st === undefined) return list.map(fn);
  const out = newStore<T>(st.file, st.after, st.fold, st.transform === undefined ? st.head : undefined);
  const n = st.spilled + st.tail.length;
  for (let i = 0; i < n; i++) {
    const item = itemAt(st, i) as T;
    const r = fn(item, i);
    out.fold?.add(out.acc, r);
    // A place in the file holds the item as first written: with a transform, that is not `item`.
    if (r === item && i < st.spilled && out.tail.length === 0 && st.transform === undefined) {
      // Unchanged and in the file: it keeps its place there.
      addSpilled(out, st.pos.at(i), st.len.at(i), st.hlen.at(i));
      continue;
    }
    // Written at once, not gathered first: items gathered in memory outlive the young
    // generation and fill the old one with garbage (a pass over 51,878 sessions grew the heap
    // by 280 MB that way).
    out.tail.push(r);
    spillTail(out);
  }
  return viewOf(out);
}

/**
 * `list.map(fn)` without a pass over the list now: for a spilled view, fn is applied to an
 * item when it is read, so the file is neither read nor rewritten here (issue 13: the
 * rewrite was one decode and one encode of every session, ≈ 50 µs each); the items still in
 * memory are mapped at once. Only for a pure fn, whose result depends on the item, its index
 * and data that no longer changes, and that is cheap next to a read: it runs again on every
 * read of the item, and an item read twice is two equal objects (as for any spilled item).
 * The caller vouches that fn leaves what the list's fold counts unchanged: its totals are
 * carried over, not recomputed. A plain array is mapped at once.
 */
export function mapListLazy<T>(list: readonly T[], fn: (item: T, index: number) => T): readonly T[] {
  const st = stores.get(list) as Store<T> | undefined;
  if (st === undefined) return list.map(fn);
  const prev = st.transform;
  const out: Store<T> = {
    file: st.file,
    after: st.after,
    // Shared, not copied: a spilled item's place never changes (a later push to st sets
    // rows past these). A copy per device was 12–14 bytes a session more while both lists lived.
    pos: st.pos.shared(),
    len: st.len.shared(),
    hlen: st.hlen.shared(),
    // The heads were written for the items before fn: headsOf gives none for this list.
    head: undefined,
    spilled: st.spilled,
    tail: st.tail.map((item, k) => fn(item, st.spilled + k)),
    transform: prev === undefined ? fn : (item, i) => fn(prev(item, i), i),
    fold: st.fold,
    acc: st.fold === undefined ? undefined : structuredClone(st.acc),
  };
  return viewOf(out);
}

/**
 * `fold`'s totals over `list`: kept as its items were pushed when it is a spilled view made
 * with that fold (no read of the file), else counted now.
 */
export function totalsOf<T, A>(list: readonly T[], fold: SpillFold<T, A>): A {
  const kept = foldOf<A>(list);
  if (kept !== undefined) return kept;
  const t = fold.init();
  for (const item of list) fold.add(t, item);
  return t;
}

/** The fold's totals of a spilled view made with one (createSpilledList); undefined for any other list. */
export function foldOf<A>(list: readonly unknown[]): A | undefined {
  const st = stores.get(list);
  return st?.fold === undefined ? undefined : (st.acc as A);
}

/**
 * The heads of a spilled view's items (createSpilledList's head), each read from the few
 * bytes before the item, not by decoding it; undefined for a list made without a head,
 * or one that reads its items through mapListLazy's fn (the heads describe the items as
 * first written). `at(i)` is the head of `list[i]`.
 */
export function headsOf<T>(list: readonly T[]): { readonly length: number; at(i: number): string } | undefined {
  const st = stores.get(list) as Store<T> | undefined;
  const head = st?.head;
  if (st === undefined || head === undefined || st.transform !== undefined) return undefined;
  return { length: st.spilled + st.tail.length, at: (i) => headAt(st, head, i) };
}
