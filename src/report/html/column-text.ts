// The codings of column-codec.ts (plain or run-length, delta, spans) over columns of
// doubles where NaN is unknown, written straight to JSON text: JSON.parse of the text is
// the Column that column-codec.ts makes of the same values (unknown → null). The report's
// lane and finding columns use it (model.ts): on a 2 GB trace a device lane has ~30,000
// sessions and ~240,000 pending samples, and as JS arrays every value was a heap number that
// lived until the lane was written, so each lane left tens of MB of old-generation garbage
// and `report` peaked ~270 MB above `analyze` (issue 13). The codings read a column in row
// order (NumColumn), so its blocks can wait in the spill file (Nums) and a derived column
// (differences, spans) is computed as it is read, never stored.

import { SpillRefused, type SpillFile } from '../../track/spill-file.js';

/** What the codings read: a column's length and its values by row, read in row order (a pass may start again at row 0). */
export interface NumColumn {
  readonly length: number;
  /** The value of row i (NaN: unknown). */
  get(i: number): number;
}

/** Rows per block of a Nums: 32 KiB of doubles, one spill-file write and one read. */
const BLOCK_SHIFT = 12;
const BLOCK_ROWS = 1 << BLOCK_SHIFT;

/**
 * A growing column of doubles (undefined is kept as NaN), in blocks of BLOCK_ROWS. With a
 * spill file every finished block is written there and read back a block at a time as the
 * codings read the column in order: a 2 GB trace's lane of 30,000 sessions and 240,000
 * pending samples held ≈ 28 MB of these columns in memory while it was written, which took
 * `report` ≈ 30 MB past `analyze` at its peak (issue 13). Without a file (or once it
 * refuses a write) the blocks stay in memory.
 */
export class Nums implements NumColumn {
  /** Finished blocks: in memory, or where they are in the file. */
  private readonly done: (Float64Array | { readonly pos: number; readonly len: number })[] = [];
  private cur = new Float64Array(BLOCK_ROWS);
  private n = 0;
  /** The block read from the file last, and which one it is. */
  private read: Float64Array | undefined;
  private readBlock = -1;

  constructor(private readonly file?: SpillFile) {}

  /** Empty again, its buffers kept (NumsPool). */
  clear(): void {
    this.n = 0;
    this.done.length = 0;
    this.readBlock = -1;
  }

  push(v: number | undefined): void {
    const k = this.n & (BLOCK_ROWS - 1);
    this.cur[k] = v === undefined ? NaN : v;
    this.n++;
    if (k === BLOCK_ROWS - 1) this.finish();
  }

  private finish(): void {
    if (this.file !== undefined) {
      try {
        // The block's bytes are copied into the file's batch: `cur` is free again.
        this.done.push(this.file.appendBytes(new Uint8Array(this.cur.buffer, this.cur.byteOffset, this.cur.byteLength)));
        return;
      } catch (e) {
        // The file refused it (disk full): this block, and each later one it refuses, stays in memory.
        if (!(e instanceof SpillRefused)) throw e;
      }
    }
    this.done.push(this.cur);
    this.cur = new Float64Array(BLOCK_ROWS);
  }

  get length(): number {
    return this.n;
  }

  get(i: number): number {
    if (i >= this.n || i < 0) return NaN;
    const b = i >>> BLOCK_SHIFT;
    const k = i & (BLOCK_ROWS - 1);
    if (b === this.done.length) return this.cur[k] as number;
    const block = this.done[b];
    if (block === undefined) return NaN;
    if (block instanceof Float64Array) return block[k] as number;
    if (b !== this.readBlock) {
      this.read ??= new Float64Array(BLOCK_ROWS);
      (this.file as SpillFile).readBytes(block.pos, block.len, new Uint8Array(this.read.buffer));
      this.readBlock = b;
    }
    return (this.read as Float64Array)[k] as number;
  }
}

/**
 * Columns reused lane after lane: take() hands out the same Nums in the same order after
 * each reset(), so each keeps its buffers. A fresh Nums per column per lane grew by half
 * over and over, and a 2 GB trace's lane (30,000 sessions, 240,000 pending samples) left
 * ≈ 30 MB of array buffers behind it for the collector (issue 13).
 */
export class NumsPool {
  private readonly all: Nums[] = [];
  private next = 0;

  /** `file`: where the columns' finished blocks go (the run's spill file); without one they stay in memory. */
  constructor(private readonly file?: SpillFile) {}

  take(): Nums {
    let c = this.all[this.next];
    if (c === undefined) this.all.push((c = new Nums(this.file)));
    else c.clear();
    this.next++;
    return c;
  }

  /** Every Nums taken is free again: call only once their values were written out. */
  reset(): void {
    this.next = 0;
  }
}

/**
 * A column computed row by row from others in one forward walk: `start` makes a fresh
 * walker (its state: the previous value, …) that is called with rows 0, 1, 2, … in turn.
 * A read of the row read last gives it again; a read of an earlier row walks again from 0
 * (the codings read a column twice: runs, then values). No scratch column of the whole
 * length is kept (a 2 GB trace's lane has 240,000 pending samples).
 */
function walked(length: number, start: () => (i: number) => number): NumColumn {
  let step = start();
  let at = -1;
  let last = NaN;
  return {
    length,
    get(i) {
      if (i === at) return last;
      if (i < at) {
        step = start();
        at = -1;
      }
      while (at < i) last = step(++at);
      return last;
    },
  };
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
export function* columnPieces(v: NumColumn): Generator<string> {
  const n = v.length;
  let runs = 0;
  let prev = NaN;
  for (let i = 0; i < n; i++) {
    const x = v.get(i);
    if (i === 0 || !same(x, prev)) runs++;
    prev = x;
  }
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
      parts.push(num(v.get(i)));
      if (parts.length === PIECE_ITEMS && i < n - 1) yield piece('');
    }
    yield piece(']');
    return;
  }
  yield '{"rle":[';
  for (let i = 0; i < n; ) {
    const x = v.get(i);
    let j = i + 1;
    while (j < n && same(v.get(j), x)) j++;
    parts.push(num(x), String(j - i));
    i = j;
    if (parts.length >= PIECE_ITEMS && i < n) yield piece('');
  }
  yield piece(']}');
}

/** delta(), as pieces: each known value minus the previous known value (the first minus 0). */
export function* deltaPieces(v: NumColumn): Generator<string> {
  yield* columnPieces(
    walked(v.length, () => {
      let prev = 0;
      return (i) => {
        const x = v.get(i);
        if (Number.isNaN(x)) return NaN;
        const d = x - prev;
        prev = x;
        return d;
      };
    }),
  );
}

/**
 * spans(), as the pieces of `"start":…,"end":…` (the two keys are next to each other
 * wherever spans are written): starts against the previous span's end (or the last known
 * start), ends as durations.
 */
export function* spansPieces(starts: NumColumn, ends: NumColumn): Generator<string> {
  /** A walk over the spans: each span's base is the previous span's end, or when that is unknown the last known start. */
  const walker = (value: (start: number, end: number, base: number) => number) => (): ((i: number) => number) => {
    let lastStart = 0;
    let prevEnd = NaN;
    return (i) => {
      const a = starts.get(i);
      const b = ends.get(i);
      const r = value(a, b, Number.isNaN(prevEnd) ? lastStart : prevEnd);
      if (!Number.isNaN(a)) lastStart = a;
      prevEnd = b;
      return r;
    };
  };
  yield '"start":';
  yield* columnPieces(walked(starts.length, walker((a, _b, base) => (Number.isNaN(a) ? NaN : a - base))));
  yield ',"end":';
  yield* columnPieces(walked(starts.length, walker((a, b, base) => (Number.isNaN(b) ? NaN : b - (Number.isNaN(a) ? base : a)))));
}
