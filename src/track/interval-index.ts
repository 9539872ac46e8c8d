// Closed intervals sorted by start, for "which of them reach into [lo, hi]" without
// looking at all of them: settling 50,000 sessions' downtime shares pairwise cost minutes
// (downtime-shares.ts). prefixMaxEnd[i] is the latest end among the first i+1 intervals,
// so a backwards scan from the last start ≤ hi stops as soon as nothing earlier can
// still end at or after lo.

export interface Interval<T> {
  readonly start: bigint;
  readonly end: bigint;
  readonly item: T;
}

export class IntervalIndex<T> {
  private readonly sorted: Interval<T>[];
  private readonly prefixMaxEnd: bigint[];

  constructor(intervals: readonly Interval<T>[]) {
    this.sorted = [...intervals].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    this.prefixMaxEnd = [];
    let max: bigint | undefined;
    for (const iv of this.sorted) {
      max = max === undefined || iv.end > max ? iv.end : max;
      this.prefixMaxEnd.push(max);
    }
  }

  /** Every interval with start ≤ hi and end ≥ lo (overlapping [lo, hi] when lo ≤ hi), latest start first. */
  *reaching(lo: bigint, hi: bigint): Generator<Interval<T>> {
    // Last index whose start ≤ hi.
    let a = 0;
    let b = this.sorted.length;
    while (a < b) {
      const m = (a + b) >>> 1;
      if ((this.sorted[m]?.start ?? 0n) <= hi) a = m + 1;
      else b = m;
    }
    for (let i = a - 1; i >= 0 && (this.prefixMaxEnd[i] ?? -1n) >= lo; i--) {
      const iv = this.sorted[i];
      if (iv !== undefined && iv.end >= lo) yield iv;
    }
  }
}
