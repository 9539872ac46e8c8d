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

import { bigColumn, getBig, setBig, type BigColumn } from './columns.js';

export interface Interval<T> {
  readonly start: bigint;
  readonly end: bigint;
  readonly item: T;
}

export class RowIntervalIndex {
  /** Row numbers in order of start (ties in row order). */
  private readonly sorted: Uint32Array;
  private readonly prefixMaxEnd: BigColumn = bigColumn();

  /** Rows 0…count−1 of `starts` and `ends` (columns.ts: exact bigints). */
  constructor(
    private readonly starts: BigColumn,
    private readonly ends: BigColumn,
    count: number,
  ) {
    // Typed from the start: a JS array of 559,106 row numbers was 4.5 MB of old generation
    // (a 2 GB trace.dat's windows). Ties go in row order by the comparator itself.
    const rows = new Uint32Array(count);
    for (let i = 0; i < count; i++) rows[i] = i;
    rows.sort((a, b) => {
      const x = getBig(starts, a);
      const y = getBig(starts, b);
      return x < y ? -1 : x > y ? 1 : a - b;
    });
    this.sorted = rows;
    this.prefixMaxEnd.vals = new BigInt64Array(count);
    let max: bigint | undefined;
    for (let i = 0; i < this.sorted.length; i++) {
      const e = getBig(ends, this.sorted[i] ?? 0);
      max = max === undefined || e > max ? e : max;
      setBig(this.prefixMaxEnd, i, max);
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
    for (let i = a - 1; i >= 0 && getBig(this.prefixMaxEnd, i) >= lo; i--) {
      const r = this.sorted[i] ?? 0;
      if (getBig(this.ends, r) >= lo) yield r;
    }
  }
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
