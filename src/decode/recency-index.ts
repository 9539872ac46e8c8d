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
// Records come in time order almost always; one that does not is inserted at its place.

const COMPACT_SLACK = 1024;

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

  function compact(): void {
    log = [...current].map(([key, v]) => ({ tsNs: v.tsNs, key }));
    log.sort((a, b) => (a.tsNs < b.tsNs ? -1 : a.tsNs > b.tsNs ? 1 : 0));
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
      if (last === undefined || last.tsNs <= e.tsNs) log.push(e);
      else log.splice(lowerBound(log, e.tsNs), 0, e); // out of order: near the end, as a rule
      if (log.length > 2 * current.size + COMPACT_SLACK) compact();
    },
    delete(key) {
      current.delete(key);
    },
    entries: () => current.entries(),
    within(t, windowNs) {
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
