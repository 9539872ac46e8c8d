// Closed intervals sorted by start, for "which of them reach into [lo, hi]" without
// looking at all of them: settling 50,000 sessions' downtime shares pairwise cost minutes
// (downtime-shares.ts). prefixMaxEnd[i] is the latest end among the first i+1 intervals,
// so a backwards scan from the last start ≤ hi stops as soon as nothing earlier can
// still end at or after lo.
//
// RowIntervalIndex works on columns (rows 0…n−1 of a start and an end column) and answers
// with row numbers, so that a caller with hundreds of thousands of intervals keeps no object
// per interval (downtime-shares.ts: one per session); IntervalIndex is the same search over
// a list of objects.

import { BigintColumn } from './bigint-column.js';

export interface Interval<T> {
  readonly start: bigint;
  readonly end: bigint;
  readonly item: T;
}

export class RowIntervalIndex {
  /** Row numbers in order of start (ties in row order). */
  private readonly sorted: Uint32Array;
  private readonly prefixMaxEnd = new BigintColumn();

  constructor(
    private readonly starts: BigintColumn,
    private readonly ends: BigintColumn,
  ) {
    const rows = Array.from({ length: starts.length }, (_, i) => i);
    // Array sort is stable; rows usually arrive in a few ordered runs (a device's sessions), which it merges cheaply.
    rows.sort((a, b) => {
      const x = starts.get(a);
      const y = starts.get(b);
      return x < y ? -1 : x > y ? 1 : 0;
    });
    this.sorted = Uint32Array.from(rows);
    let max: bigint | undefined;
    for (const r of this.sorted) {
      const e = ends.get(r);
      max = max === undefined || e > max ? e : max;
      this.prefixMaxEnd.push(max);
    }
  }

  /** Every row with start ≤ hi and end ≥ lo (overlapping [lo, hi] when lo ≤ hi), latest start first. */
  *reaching(lo: bigint, hi: bigint): Generator<number> {
    // Last position whose start ≤ hi.
    let a = 0;
    let b = this.sorted.length;
    while (a < b) {
      const m = (a + b) >>> 1;
      if (this.starts.get(this.sorted[m] ?? 0) <= hi) a = m + 1;
      else b = m;
    }
    for (let i = a - 1; i >= 0 && this.prefixMaxEnd.get(i) >= lo; i--) {
      const r = this.sorted[i] ?? 0;
      if (this.ends.get(r) >= lo) yield r;
    }
  }
}

export class IntervalIndex<T> {
  private readonly items: readonly Interval<T>[];
  private readonly rows: RowIntervalIndex;

  constructor(intervals: readonly Interval<T>[]) {
    this.items = [...intervals];
    const starts = new BigintColumn();
    const ends = new BigintColumn();
    for (const iv of this.items) {
      starts.push(iv.start);
      ends.push(iv.end);
    }
    this.rows = new RowIntervalIndex(starts, ends);
  }

  /** Every interval with start ≤ hi and end ≥ lo (overlapping [lo, hi] when lo ≤ hi), latest start first. */
  *reaching(lo: bigint, hi: bigint): Generator<Interval<T>> {
    for (const r of this.rows.reaching(lo, hi)) {
      const iv = this.items[r];
      if (iv !== undefined) yield iv;
    }
  }
}
