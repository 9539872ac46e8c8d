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
//
// The handler and the methods are shared by every view (a view is a Proxy, its target and
// a small state): a trace with 100,000 devices has two views per device, and a handler
// and ~20 closures each were ~1.6 KB a view.

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

interface ViewState {
  readonly src: ViewSource<unknown>;
  lastI: number;
  lastItem: unknown;
}

/** Each view's state, by its Proxy (for the methods: `this`) and by its target (for the traps). */
const byView = new WeakMap<object, ViewState>();
const byTarget = new WeakMap<object, ViewState>();

function stateOf(view: unknown): ViewState {
  const s = typeof view === 'object' && view !== null ? byView.get(view) : undefined;
  if (s === undefined) throw new TypeError('not a column-backed list');
  return s;
}

function itemAt(s: ViewState, i: number): unknown {
  if (i !== s.lastI) {
    s.lastItem = s.src.at(i);
    s.lastI = i;
  }
  return s.lastItem;
}

type AnyFn = (item: unknown, index: number, list: readonly unknown[]) => unknown;

// The methods answered without traps (`this` is the view); anything else falls to Array.prototype over the traps.
const FAST: Record<string | symbol, unknown> = {
  [Symbol.iterator]: function* values(this: unknown): IterableIterator<unknown> {
    const s = stateOf(this);
    for (let i = 0; i < s.src.count(); i++) yield itemAt(s, i);
  },
  values(this: unknown): IterableIterator<unknown> {
    return (FAST[Symbol.iterator] as (this: unknown) => IterableIterator<unknown>).call(this);
  },
  at(this: unknown, i: unknown): unknown {
    const s = stateOf(this);
    const n = s.src.count();
    const k = Math.trunc(Number(i)) || 0;
    const j = k < 0 ? n + k : k;
    return j >= 0 && j < n ? itemAt(s, j) : undefined;
  },
  forEach(this: readonly unknown[], fn: AnyFn, self?: unknown): void {
    const s = stateOf(this);
    for (let i = 0; i < s.src.count(); i++) fn.call(self, itemAt(s, i), i, this);
  },
  map(this: readonly unknown[], fn: AnyFn, self?: unknown): unknown[] {
    const s = stateOf(this);
    const n = s.src.count();
    const out: unknown[] = [];
    for (let i = 0; i < n; i++) out.push(fn.call(self, itemAt(s, i), i, this));
    return out;
  },
  filter(this: readonly unknown[], fn: AnyFn, self?: unknown): unknown[] {
    const s = stateOf(this);
    const out: unknown[] = [];
    for (let i = 0; i < s.src.count(); i++) {
      const item = itemAt(s, i);
      if (fn.call(self, item, i, this)) out.push(item);
    }
    return out;
  },
  some(this: readonly unknown[], fn: AnyFn, self?: unknown): boolean {
    const s = stateOf(this);
    for (let i = 0; i < s.src.count(); i++) if (fn.call(self, itemAt(s, i), i, this)) return true;
    return false;
  },
  every(this: readonly unknown[], fn: AnyFn, self?: unknown): boolean {
    const s = stateOf(this);
    for (let i = 0; i < s.src.count(); i++) if (!fn.call(self, itemAt(s, i), i, this)) return false;
    return true;
  },
  find(this: readonly unknown[], fn: AnyFn, self?: unknown): unknown {
    const s = stateOf(this);
    for (let i = 0; i < s.src.count(); i++) {
      const item = itemAt(s, i);
      if (fn.call(self, item, i, this)) return item;
    }
    return undefined;
  },
  findIndex(this: readonly unknown[], fn: AnyFn, self?: unknown): number {
    const s = stateOf(this);
    for (let i = 0; i < s.src.count(); i++) if (fn.call(self, itemAt(s, i), i, this)) return i;
    return -1;
  },
  reduce(this: readonly unknown[], ...args: unknown[]): unknown {
    const s = stateOf(this);
    const fn = args[0] as (acc: unknown, item: unknown, index: number, list: readonly unknown[]) => unknown;
    const n = s.src.count();
    let i = 0;
    let acc: unknown;
    if (args.length >= 2) acc = args[1];
    else {
      if (n === 0) throw new TypeError('Reduce of empty array with no initial value');
      acc = itemAt(s, 0);
      i = 1;
    }
    for (; i < n; i++) acc = fn(acc, itemAt(s, i), i, this);
    return acc;
  },
  slice(this: unknown, start?: unknown, end?: unknown): unknown[] {
    const s = stateOf(this);
    const n = s.src.count();
    const lo = relative(start, n, 0);
    const hi = relative(end, n, n);
    const out: unknown[] = [];
    for (let i = lo; i < hi; i++) out.push(itemAt(s, i));
    return out;
  },
};

function targetState(target: object): ViewState {
  const s = byTarget.get(target);
  if (s === undefined) throw new TypeError('not a column-backed list');
  return s;
}

const HANDLER: ProxyHandler<unknown[]> = {
  get(target, key, receiver) {
    if (key === 'length') return targetState(target).src.count();
    const i = indexOf(key);
    if (i !== undefined) {
      const s = targetState(target);
      return i < s.src.count() ? itemAt(s, i) : undefined;
    }
    if (Object.hasOwn(FAST, key)) return FAST[key];
    return Reflect.get(target, key, receiver) as unknown;
  },
  has(target, key) {
    const i = indexOf(key);
    return i !== undefined ? i < targetState(target).src.count() : Reflect.has(target, key);
  },
  ownKeys(target) {
    const keys: string[] = [];
    for (let i = 0; i < targetState(target).src.count(); i++) keys.push(String(i));
    keys.push('length');
    return keys;
  },
  getOwnPropertyDescriptor(target, key) {
    const s = targetState(target);
    if (key === 'length') return { value: s.src.count(), writable: true, enumerable: false, configurable: false };
    const i = indexOf(key);
    if (i !== undefined && i < s.src.count()) return { value: itemAt(s, i), writable: false, enumerable: true, configurable: true };
    return Reflect.getOwnPropertyDescriptor(target, key);
  },
  set: readOnly,
  defineProperty: readOnly,
  deleteProperty: readOnly,
};

export function arrayView<T>(src: ViewSource<T>): ArrayView<T> {
  const state: ViewState = { src, lastI: -1, lastItem: undefined };
  const target: unknown[] = [];
  const view = new Proxy(target, HANDLER);
  byTarget.set(target, state);
  byView.set(view, state);
  return {
    view: view as readonly T[],
    forget(): void {
      state.lastI = -1;
      state.lastItem = undefined;
    },
  };
}
