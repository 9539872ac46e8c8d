// How the embedded report data stores its columns (model-types.ts), server side. The page
// decodes with the mirror functions in client/decode.ts; test/report/html-model.test.ts
// round-trips them.
//
// Three codings, chosen to make a 100,000-session report small without a custom format:
// - delta: each known value minus the previous known value (times, line numbers);
// - spans: interval starts relative to the previous interval's end (usually 0: intervals
//   are contiguous) and ends as durations;
// - run-length: a column whose values repeat in runs (errno, result, file index, the 0s of
//   a span column) becomes { rle: [value, count, value, count, …] } when that is shorter.

import type { Column } from './model-types.js';

/** Plain, or run-length coded when that halves the number of entries or better. */
export function column(values: readonly (number | null)[]): Column {
  let runs = 0;
  for (let i = 0; i < values.length; i++) if (i === 0 || values[i] !== values[i - 1]) runs++;
  if (runs * 2 > values.length / 2) return values;
  const rle: (number | null)[] = [];
  for (let i = 0; i < values.length; ) {
    let j = i + 1;
    while (j < values.length && values[j] === values[i]) j++;
    rle.push(values[i] ?? null, j - i);
    i = j;
  }
  return { rle };
}

/** Integers where undefined means unknown (stored as null). */
export function ints(values: readonly (number | undefined)[]): Column {
  return column(values.map((v) => (v === undefined ? null : v)));
}

/** Delta coding: each known value minus the previous known value (the first minus 0). */
export function delta(values: readonly (number | undefined)[]): Column {
  const out: (number | null)[] = new Array<number | null>(values.length);
  let prev = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === undefined) {
      out[i] = null;
    } else {
      out[i] = v - prev;
      prev = v;
    }
  }
  return column(out);
}

/**
 * Span coding of [start, end) pairs in order: start minus base (base = the previous span's
 * end when known, else the last known start, else 0); end minus the start (or the base when
 * the start is unknown).
 */
export function spans(starts: readonly (number | undefined)[], ends: readonly (number | undefined)[]): { readonly start: Column; readonly end: Column } {
  const s: (number | null)[] = [];
  const e: (number | null)[] = [];
  let lastStart = 0;
  let prevEnd: number | undefined;
  for (let i = 0; i < starts.length; i++) {
    const a = starts[i];
    const b = ends[i];
    const base = prevEnd ?? lastStart;
    s.push(a === undefined ? null : a - base);
    if (a !== undefined) lastStart = a;
    e.push(b === undefined ? null : b - (a ?? base));
    prevEnd = b;
  }
  return { start: column(s), end: column(e) };
}
