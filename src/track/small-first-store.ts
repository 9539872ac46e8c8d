// A device's intervals or state writes: a plain array while there are few, the column store
// (interval-store.ts, write-store.ts) once there are more. A column store costs ~6 KB before
// its first row (its typed arrays, maps and tables), and a trace with 100,000 devices that
// each do little (test/fuzz/limits.test.ts: 2,000,000 distinct fds) held 1.3 GB of them;
// a long migration's 20,000 rows are where columns pay.

import type { ItemStore } from './columns.js';

/** Items kept as objects before the column store is made. */
export const SMALL_ITEMS = 64;

/** A class, not closures: a trace may hold 200,000 of these (two per device). */
class SmallFirstStore<T> implements ItemStore<T> {
  private items: T[] | undefined = [];
  private store: ItemStore<T> | undefined;
  /** The plain array was handed out as the view: it stays the store, so that the view stays live. */
  private pinned = false;

  constructor(
    private readonly columns: () => ItemStore<T>,
    private readonly what: string,
    private readonly small: number,
  ) {}

  at(i: number): T {
    if (!(Number.isInteger(i) && i >= 0 && i < this.length)) throw new RangeError(`${this.what} ${i} is not in the store (${this.length} items)`);
    return this.items !== undefined ? (this.items[i] as T) : (this.store as ItemStore<T>).at(i);
  }

  push(item: T): void {
    if (this.items === undefined) {
      this.store?.push(item);
      return;
    }
    this.items.push(item);
    if (this.items.length > this.small && !this.pinned) {
      const s = this.columns();
      for (const x of this.items) s.push(x);
      this.store = s;
      this.items = undefined;
    }
  }

  set(i: number, item: T): void {
    this.at(i); // the same RangeError as a read
    if (this.items !== undefined) this.items[i] = item;
    else this.store?.set(i, item);
  }

  /** Items i… as a new array (what a session's slice takes without asking for the view). */
  from(i: number): T[] {
    if (this.items !== undefined) return this.items.slice(i);
    const out: T[] = [];
    for (let k = Math.max(0, i); k < this.length; k++) out.push(this.at(k));
    return out;
  }

  get length(): number {
    return this.items !== undefined ? this.items.length : (this.store?.length ?? 0);
  }

  /**
   * The items as a read-only array that stays current. While few, the plain array itself
   * (and from then on the store keeps them so); else the column store's view. The recorder
   * asks for it when a device's timeline is taken (its snapshot), not while recording.
   */
  get view(): readonly T[] {
    if (this.items !== undefined) {
      this.pinned = true;
      return this.items;
    }
    return (this.store as ItemStore<T>).view;
  }
}

export function smallFirst<T>(columns: () => ItemStore<T>, what: string, small = SMALL_ITEMS): SmallFirstStore<T> {
  return new SmallFirstStore(columns, what, small);
}

export type { SmallFirstStore };
