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

  /** Empty again, its buffer kept (NumsPool). */
  clear(): void {
    this.n = 0;
  }

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

/**
 * Columns reused lane after lane: take() hands out the same Nums in the same order after
 * each reset(), so each keeps the buffer it grew to. A fresh Nums per column per lane grew
 * by half over and over, and a 2 GB trace's lane (30,000 sessions, 240,000 pending samples)
 * left ≈ 30 MB of array buffers behind it for the collector (issue 13).
 */
export class NumsPool {
  private readonly all: Nums[] = [];
  private next = 0;

  take(): Nums {
    let c = this.all[this.next];
    if (c === undefined) this.all.push((c = new Nums()));
    else c.clear();
    this.next++;
    return c;
  }

  /** Every Nums taken is free again: call only once their values were written out. */
  reset(): void {
    this.next = 0;
  }
}

/** Scratch columns for the codings below, grown to the largest column seen (used within one call). */
const scratch: Float64Array[] = [new Float64Array(64), new Float64Array(64)];
function scratchOf(k: 0 | 1, n: number): Float64Array {
  if ((scratch[k] as Float64Array).length < n) scratch[k] = grown(scratch[k] as Float64Array, n);
  return (scratch[k] as Float64Array).subarray(0, n);
}

/** A number as JSON.stringify writes it (a non-finite one, and unknown, as null). */
const num = (x: number): string => (Number.isFinite(x) ? String(x) : 'null');
/** column-codec.ts's run test, with every NaN one value (null). */
const same = (a: number, b: number): boolean => a === b || (Number.isNaN(a) && Number.isNaN(b));

/** Numbers per piece of a column's text: well under the 128 KB past which V8 puts a string in the large-object space, freed only by a full collection. */
const PIECE_ITEMS = 2048;

/**
 * column(): plain, or { rle } when that halves the number of entries or better; as pieces
 * of PIECE_ITEMS numbers, so that no column is one big string (a 2 GB trace's lane has
 * columns of 240,000 values; as whole strings, and the lane made of them, each lane left
 * ≈ 12 MB in the large-object space until a full collection, issue 13).
 */
export function* columnPieces(v: ArrayLike<number>): Generator<string> {
  const n = v.length;
  let runs = 0;
  for (let i = 0; i < n; i++) if (i === 0 || !same(v[i] ?? NaN, v[i - 1] ?? NaN)) runs++;
  let parts: string[] = [];
  let first = true;
  const piece = (close: string): string => {
    const text = `${first ? '' : ','}${parts.join(',')}${close}`;
    first = false;
    parts = [];
    return text;
  };
  if (runs * 2 > n / 2) {
    yield '[';
    for (let i = 0; i < n; i++) {
      parts.push(num(v[i] ?? NaN));
      if (parts.length === PIECE_ITEMS && i < n - 1) yield piece('');
    }
    yield piece(']');
    return;
  }
  yield '{"rle":[';
  for (let i = 0; i < n; ) {
    const x = v[i] ?? NaN;
    let j = i + 1;
    while (j < n && same(v[j] ?? NaN, x)) j++;
    parts.push(num(x), String(j - i));
    i = j;
    if (parts.length >= PIECE_ITEMS && i < n) yield piece('');
  }
  yield piece(']}');
}

/**
 * delta(), as pieces: each known value minus the previous known value (the first minus 0).
 * The differences live in a scratch column until the last piece is taken: take every piece
 * before starting another of these.
 */
export function* deltaPieces(v: ArrayLike<number>): Generator<string> {
  const out = scratchOf(0, v.length);
  let prev = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i] ?? NaN;
    if (Number.isNaN(x)) out[i] = NaN;
    else {
      out[i] = x - prev;
      prev = x;
    }
  }
  yield* columnPieces(out);
}

/**
 * spans(), as the pieces of `"start":…,"end":…` (the two keys are next to each other
 * wherever spans are written): starts against the previous span's end (or the last known
 * start), ends as durations. Scratch columns, as deltaPieces.
 */
export function* spansPieces(starts: ArrayLike<number>, ends: ArrayLike<number>): Generator<string> {
  const s = scratchOf(0, starts.length);
  const e = scratchOf(1, starts.length);
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
  yield '"start":';
  yield* columnPieces(s);
  yield ',"end":';
  yield* columnPieces(e);
}
