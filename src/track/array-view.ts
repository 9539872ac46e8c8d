// A read-only array whose items are made on access from columns (interval-store.ts,
// write-store.ts): Array.isArray is true and length, indexing, for-of, map, filter, slice,
// JSON.stringify all work, so every reader of DeviceTimeline.timeline and .stateWrites, and
// every test that builds one from a plain array, stays as it is (as spilled-list.ts does for
// sessions).
//
// A Proxy's traps are slow next to a plain array's element loads (Array.prototype.map on
// a proxy asks `has` and `get` per index, each with the key as a string): the common
// methods are answered here with loops over `at`, and the item made last is kept, so
// `v[i].a + v[i].b` makes one object, not two. An item read again later may be a new,
// equal object: nothing may rely on an item's identity.

/** What a view reads: the count now, and item i (0 ≤ i < count) made afresh. */
export interface ViewSource<T> {
  count(): number;
  at(i: number): T;
}

/** A view's way to drop its kept item when the store changes the item under it (a patch). */
export interface ArrayView<T> {
  readonly view: readonly T[];
  forget(): void;
}

function indexOf(key: string | symbol): number | undefined {
  if (typeof key !== 'string' || key === '' || key.length > 15) return undefined;
  const c = key.charCodeAt(0);
  if (c < 48 || c > 57) return undefined;
  const n = Number(key);
  return Number.isInteger(n) && n >= 0 && String(n) === key ? n : undefined;
}

function readOnly(): never {
  throw new TypeError('a column-backed list is read-only');
}

/** Array.prototype.slice's reading of a start or end argument (ECMA-262 §23.1.3.28). */
function relative(arg: unknown, n: number, dflt: number): number {
  if (arg === undefined) return dflt;
  const x = Math.trunc(Number(arg)) || 0;
  return x < 0 ? Math.max(n + x, 0) : Math.min(x, n);
}

type Fn<T, R> = (item: T, index: number, list: readonly T[]) => R;

export function arrayView<T>(src: ViewSource<T>): ArrayView<T> {
  let lastI = -1;
  let lastItem: T | undefined;
  const at = (i: number): T => {
    if (i !== lastI) {
      lastItem = src.at(i);
      lastI = i;
    }
    return lastItem as T;
  };
  // The methods answered without traps; anything else falls to Array.prototype over the traps.
  const fast: Record<string | symbol, unknown> = {
    [Symbol.iterator]: function* values(): IterableIterator<T> {
      for (let i = 0; i < src.count(); i++) yield at(i);
    },
    values(): IterableIterator<T> {
      return (fast[Symbol.iterator] as () => IterableIterator<T>)();
    },
    at(i: unknown): T | undefined {
      const n = src.count();
      const k = Math.trunc(Number(i)) || 0;
      const j = k < 0 ? n + k : k;
      return j >= 0 && j < n ? at(j) : undefined;
    },
    forEach(fn: Fn<T, unknown>, self?: unknown): void {
      for (let i = 0; i < src.count(); i++) fn.call(self, at(i), i, view);
    },
    map<R>(fn: Fn<T, R>, self?: unknown): R[] {
      const n = src.count();
      const out: R[] = [];
      for (let i = 0; i < n; i++) out.push(fn.call(self, at(i), i, view));
      return out;
    },
    filter(fn: Fn<T, unknown>, self?: unknown): T[] {
      const out: T[] = [];
      for (let i = 0; i < src.count(); i++) {
        const item = at(i);
        if (fn.call(self, item, i, view)) out.push(item);
      }
      return out;
    },
    some(fn: Fn<T, unknown>, self?: unknown): boolean {
      for (let i = 0; i < src.count(); i++) if (fn.call(self, at(i), i, view)) return true;
      return false;
    },
    every(fn: Fn<T, unknown>, self?: unknown): boolean {
      for (let i = 0; i < src.count(); i++) if (!fn.call(self, at(i), i, view)) return false;
      return true;
    },
    find(fn: Fn<T, unknown>, self?: unknown): T | undefined {
      for (let i = 0; i < src.count(); i++) {
        const item = at(i);
        if (fn.call(self, item, i, view)) return item;
      }
      return undefined;
    },
    findIndex(fn: Fn<T, unknown>, self?: unknown): number {
      for (let i = 0; i < src.count(); i++) if (fn.call(self, at(i), i, view)) return i;
      return -1;
    },
    reduce(...args: unknown[]): unknown {
      const fn = args[0] as (acc: unknown, item: T, index: number, list: readonly T[]) => unknown;
      const n = src.count();
      let i = 0;
      let acc: unknown;
      if (args.length >= 2) acc = args[1];
      else {
        if (n === 0) throw new TypeError('Reduce of empty array with no initial value');
        acc = at(0);
        i = 1;
      }
      for (; i < n; i++) acc = fn(acc, at(i), i, view);
      return acc;
    },
    slice(start?: unknown, end?: unknown): T[] {
      const n = src.count();
      const lo = relative(start, n, 0);
      const hi = relative(end, n, n);
      const out: T[] = [];
      for (let i = lo; i < hi; i++) out.push(at(i));
      return out;
    },
  };
  const view = new Proxy([] as T[], {
    get(target, key, receiver) {
      if (key === 'length') return src.count();
      const i = indexOf(key);
      if (i !== undefined) return i < src.count() ? at(i) : undefined;
      if (Object.hasOwn(fast, key)) return fast[key];
      return Reflect.get(target, key, receiver) as unknown;
    },
    has(target, key) {
      const i = indexOf(key);
      return i !== undefined ? i < src.count() : Reflect.has(target, key);
    },
    ownKeys() {
      const keys: string[] = [];
      for (let i = 0; i < src.count(); i++) keys.push(String(i));
      keys.push('length');
      return keys;
    },
    getOwnPropertyDescriptor(target, key) {
      if (key === 'length') return { value: src.count(), writable: true, enumerable: false, configurable: false };
      const i = indexOf(key);
      if (i !== undefined && i < src.count()) return { value: at(i), writable: false, enumerable: true, configurable: true };
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
    set: readOnly,
    defineProperty: readOnly,
    deleteProperty: readOnly,
  });
  return {
    view,
    forget(): void {
      lastI = -1;
      lastItem = undefined;
    },
  };
}
