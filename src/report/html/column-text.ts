// The codings of column-codec.ts (plain or run-length, delta, spans) over columns of
// doubles where NaN is unknown, written straight to JSON text: JSON.parse of the text is
// the Column that column-codec.ts makes of the same values (unknown → null). The report's
// session columns use it (model.ts): on a 2 GB trace a device lane has ~30,000 sessions
// and ~240,000 pending samples, and as JS arrays every value was a heap number that lived
// until the lane was written, so each lane left tens of MB of old-generation garbage and
// `report` peaked ~270 MB above `analyze` (issue 13).

import { grown } from '../../track/columns.js';

/** A growing column of doubles; undefined is kept as NaN. */
export class Nums {
  private a = new Float64Array(64);
  private n = 0;

  push(v: number | undefined): void {
    this.a = grown(this.a, this.n + 1);
    this.a[this.n++] = v === undefined ? NaN : v;
  }

  get length(): number {
    return this.n;
  }

  get values(): Float64Array {
    return this.a.subarray(0, this.n);
  }
}

/** A number as JSON.stringify writes it (a non-finite one, and unknown, as null). */
const num = (x: number): string => (Number.isFinite(x) ? String(x) : 'null');
/** column-codec.ts's run test, with every NaN one value (null). */
const same = (a: number, b: number): boolean => a === b || (Number.isNaN(a) && Number.isNaN(b));

/** column(): plain, or { rle } when that halves the number of entries or better. */
export function columnText(v: ArrayLike<number>): string {
  const n = v.length;
  let runs = 0;
  for (let i = 0; i < n; i++) if (i === 0 || !same(v[i] ?? NaN, v[i - 1] ?? NaN)) runs++;
  const parts: string[] = [];
  if (runs * 2 > n / 2) {
    for (let i = 0; i < n; i++) parts.push(num(v[i] ?? NaN));
    return `[${parts.join(',')}]`;
  }
  for (let i = 0; i < n; ) {
    const x = v[i] ?? NaN;
    let j = i + 1;
    while (j < n && same(v[j] ?? NaN, x)) j++;
    parts.push(num(x), String(j - i));
    i = j;
  }
  return `{"rle":[${parts.join(',')}]}`;
}

/** delta(): each known value minus the previous known value (the first minus 0). */
export function deltaText(v: ArrayLike<number>): string {
  const out = new Float64Array(v.length);
  let prev = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i] ?? NaN;
    if (Number.isNaN(x)) out[i] = NaN;
    else {
      out[i] = x - prev;
      prev = x;
    }
  }
  return columnText(out);
}

/** spans(): starts against the previous span's end (or the last known start), ends as durations. */
export function spansText(starts: ArrayLike<number>, ends: ArrayLike<number>): { readonly start: string; readonly end: string } {
  const s = new Float64Array(starts.length);
  const e = new Float64Array(starts.length);
  let lastStart = 0;
  let prevEnd = NaN;
  for (let i = 0; i < starts.length; i++) {
    const a = starts[i] ?? NaN;
    const b = ends[i] ?? NaN;
    const base = Number.isNaN(prevEnd) ? lastStart : prevEnd;
    s[i] = Number.isNaN(a) ? NaN : a - base;
    if (!Number.isNaN(a)) lastStart = a;
    e[i] = Number.isNaN(b) ? NaN : b - (Number.isNaN(a) ? base : a);
    prevEnd = b;
  }
  return { start: columnText(s), end: columnText(e) };
}
