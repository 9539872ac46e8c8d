// The last time each key (a device fd, "pid:fd") was seen, searchable by time: which keys'
// last time lies within a window around t. The time-proximity join of QEMU events without
// a thread id (decoder.ts nearInTime) asks this for every such event whose device is not
// bound yet, over up to 100,000 fds of a host capture: a scan of every fd per event made
// that O(events × fds). Here a query costs O(log n + the entries inside the window).
//
// How: beside the map of current values, a log of (time, key) kept sorted by time. A key
// set again leaves its old log entry behind, stale (its time is no longer the key's): the
// query skips those. The log is rebuilt from the map when stale entries outnumber live
// ones, so it stays within 2 × keys + COMPACT_SLACK entries (memory bounded by the keys).
// Records come in time order almost always; one that does not is inserted at its place
// when that is near the end, else the log is sorted again before the next query (so a
// disordered input costs a sort per query, never a long array shift per record).

const COMPACT_SLACK = 1024;
/** An out-of-order entry is put in place when at most this many entries follow it; else the log is re-sorted lazily. */
const MAX_SHIFT = 64;

export interface RecencyIndex<V extends { readonly tsNs: bigint }> {
  readonly size: number;
  has(key: string): boolean;
  get(key: string): V | undefined;
  set(key: string, value: V): void;
  delete(key: string): void;
  entries(): IterableIterator<[string, V]>;
  /** The keys' current values whose time is in [t − windowNs, t + windowNs], earliest first. */
  within(t: bigint, windowNs: bigint): V[];
}

interface LogEntry {
  readonly tsNs: bigint;
  readonly key: string;
}

/** The first index whose time is ≥ t. */
function lowerBound(log: readonly LogEntry[], t: bigint): number {
  let lo = 0;
  let hi = log.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((log[mid] as LogEntry).tsNs < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function createRecencyIndex<V extends { readonly tsNs: bigint }>(): RecencyIndex<V> {
  const current = new Map<string, V>();
  let log: LogEntry[] = [];

  /** False when an entry was appended out of order: sorted again before the next query. */
  let sorted = true;

  function compact(): void {
    log = [...current].map(([key, v]) => ({ tsNs: v.tsNs, key }));
    log.sort((a, b) => (a.tsNs < b.tsNs ? -1 : a.tsNs > b.tsNs ? 1 : 0));
    sorted = true;
  }

  return {
    get size() {
      return current.size;
    },
    has: (key) => current.has(key),
    get: (key) => current.get(key),
    set(key, value) {
      current.set(key, value);
      const e = { tsNs: value.tsNs, key };
      const last = log[log.length - 1];
      if (sorted && last !== undefined && last.tsNs > e.tsNs) {
        // Out of order: near the end, as a rule, and then cheap to put in place; far back
        // (hostile or very disordered input) the log is sorted again when next asked.
        const at = lowerBound(log, e.tsNs);
        if (log.length - at <= MAX_SHIFT) log.splice(at, 0, e);
        else {
          log.push(e);
          sorted = false;
        }
      } else log.push(e);
      if (log.length > 2 * current.size + COMPACT_SLACK) compact();
    },
    delete(key) {
      current.delete(key);
    },
    entries: () => current.entries(),
    within(t, windowNs) {
      if (!sorted) compact();
      const out: V[] = [];
      const seen = new Set<string>();
      const end = t + windowNs;
      for (let i = lowerBound(log, t - windowNs); i < log.length; i++) {
        const e = log[i] as LogEntry;
        if (e.tsNs > end) break;
        const v = current.get(e.key);
        // Stale: the key was set again later (or deleted); its current time is elsewhere.
        if (v === undefined || v.tsNs !== e.tsNs || seen.has(e.key)) continue;
        seen.add(e.key);
        out.push(v);
      }
      return out;
    },
  };
}
