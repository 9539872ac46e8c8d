// Closed intervals sorted by start, for "which of them reach into [lo, hi]" without
// looking at all of them: settling 50,000 sessions' downtime shares pairwise cost minutes
// (downtime-shares.ts). prefixMaxRow[i] has the latest end among the first i+1 intervals,
// so a backwards scan from the last start ≤ hi stops as soon as nothing earlier can
// still end at or after lo.
//
// RowIntervalIndex works on columns (rows 0…n−1 of a start and an end column) and answers
// with row numbers, so that a caller with hundreds of thousands of intervals keeps no object
// per interval (downtime-shares.ts: one per session); IntervalIndex is the same search over
// a list of objects.

import { bigColumn, getBig, setBig, type BigColumn } from './columns.js';

export interface Interval<T> {
  readonly start: bigint;
  readonly end: bigint;
  readonly item: T;
}

export class RowIntervalIndex {
  /** Row numbers in order of start (ties in row order). */
  private readonly sorted: Uint32Array;
  /**
   * prefixMaxRow[i]: a row with the latest end among sorted[0…i]. Its number, not its end
   * (4 bytes, not a BigInt64's 8): 2.2 MB less on a 2 GB trace.dat's 559,106 windows.
   */
  private readonly prefixMaxRow: Uint32Array;

  /** Rows 0…count−1 of `starts` and `ends` (columns.ts: exact bigints). */
  constructor(
    private readonly starts: BigColumn,
    private readonly ends: BigColumn,
    count: number,
  ) {
    this.sorted = rowsByStart(starts, count);
    this.prefixMaxRow = new Uint32Array(count);
    let maxRow = 0;
    let max: bigint | undefined;
    for (let i = 0; i < count; i++) {
      const r = this.sorted[i] ?? 0;
      const e = getBig(ends, r);
      if (max === undefined || e > max) {
        max = e;
        maxRow = r;
      }
      this.prefixMaxRow[i] = maxRow;
    }
  }

  /** Every row with start ≤ hi and end ≥ lo (overlapping [lo, hi] when lo ≤ hi), latest start first. */
  *reaching(lo: bigint, hi: bigint): Generator<number> {
    // Last position whose start ≤ hi.
    let a = 0;
    let b = this.sorted.length;
    while (a < b) {
      const m = (a + b) >>> 1;
      if (getBig(this.starts, this.sorted[m] ?? 0) <= hi) a = m + 1;
      else b = m;
    }
    for (let i = a - 1; i >= 0 && getBig(this.ends, this.prefixMaxRow[i] ?? 0) >= lo; i--) {
      const r = this.sorted[i] ?? 0;
      if (getBig(this.ends, r) >= lo) yield r;
    }
  }
}

/**
 * Rows 0…count−1 in order of start, ties in row order: a merge sort of the runs already in
 * order, on typed arrays. Rows come in device and session order (downtime-shares.ts), so
 * a few long runs: 8 on the bench's traces. `Uint32Array.sort` with a comparator, used
 * before, sorts a copy on the heap: building the index of 559,106 windows raised RSS by
 * 18 MB for 6.7 MB of columns, the peak of a 2 GB trace.dat's whole run.
 */
export function rowsByStart(starts: BigColumn, count: number): Uint32Array {
  let src = new Uint32Array(count);
  for (let i = 0; i < count; i++) src[i] = i;
  if (count < 2) return src;
  // Run boundaries: runs[k] is where run k begins; the last entry is count.
  const runs = new Uint32Array(count + 1);
  let nRuns = 0;
  runs[nRuns++] = 0;
  let prev = getBig(starts, 0);
  for (let i = 1; i < count; i++) {
    const v = getBig(starts, i);
    if (v < prev) runs[nRuns++] = i;
    prev = v;
  }
  runs[nRuns] = count;
  if (nRuns === 1) return src;
  let dst = new Uint32Array(count);
  while (nRuns > 1) {
    let out = 0;
    for (let k = 0; k < nRuns; k += 2) {
      // A last run without a partner is copied as it is (mid = hi = count).
      const lo = runs[k] ?? 0;
      const mid = runs[k + 1] ?? count;
      const hi = runs[Math.min(k + 2, nRuns)] ?? count;
      // Each run is a block of consecutive positions and every row of the left one is lower
      // than every row of the right one (the blocks were merged in place order), so taking
      // the left on equal starts keeps ties in row order.
      let i = lo;
      let j = mid;
      let o = lo;
      while (i < mid && j < hi) {
        const a = src[i] ?? 0;
        const b = src[j] ?? 0;
        if (getBig(starts, b) < getBig(starts, a)) {
          dst[o++] = b;
          j++;
        } else {
          dst[o++] = a;
          i++;
        }
      }
      while (i < mid) dst[o++] = src[i++] ?? 0;
      while (j < hi) dst[o++] = src[j++] ?? 0;
      runs[out++] = lo;
    }
    runs[out] = count;
    nRuns = out;
    const t = src;
    src = dst;
    dst = t;
  }
  return src;
}

export class IntervalIndex<T> {
  private readonly items: readonly Interval<T>[];
  private readonly rows: RowIntervalIndex;

  constructor(intervals: readonly Interval<T>[]) {
    this.items = [...intervals];
    const starts = bigColumn();
    const ends = bigColumn();
    this.items.forEach((iv, i) => {
      setBig(starts, i, iv.start);
      setBig(ends, i, iv.end);
    });
    this.rows = new RowIntervalIndex(starts, ends, this.items.length);
  }

  /** Every interval with start ≤ hi and end ≥ lo (overlapping [lo, hi] when lo ≤ hi), latest start first. */
  *reaching(lo: bigint, hi: bigint): Generator<Interval<T>> {
    for (const r of this.rows.reaching(lo, hi)) {
      const iv = this.items[r];
      if (iv !== undefined) yield iv;
    }
  }
}
