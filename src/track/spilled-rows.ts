// A device's intervals or state writes (interval-store.ts, write-store.ts) with all but the
// latest blocks of rows in the spill file (spill-file.ts), as the sessions are (issue 13).
// The column stores are compact, but a long trace fills every device to the per-device cap
// (20,000 intervals and as many writes): 8 devices held ≈ 20 MB of columns through the whole
// run, the largest part of `analyze`'s array-buffer memory on 470 MB. Here memory holds the
// block being filled and the one before it (column stores of SPILL_BLOCK_ROWS rows), the
// block read last (decoded), and where each spilled block is in the file.
//
// Readers go through the same ItemStore (view, at, from) and read rows in order (JSON
// output, the report's lanes, a session's slice), so one decoded block serves a block of reads.
// A row replaced after its block was written (patchWrite: a read-back that came late) is
// kept in a side map; the file is never rewritten. When the file refuses a write (disk
// full), the block stays in memory as it is: nothing is lost, only memory is not saved.

import { rowStore, type ItemStore, type ReusableStore } from './columns.js';
import { decodeValue, encodeValue } from './spill-codec.js';
import { SpillRefused, type SpillFile } from './spill-file.js';

/**
 * Rows per block: one file write, one read back. Small enough that a block's text (≈ 200
 * bytes a row) stays under the 128 KB past which V8 puts a string in the large-object
 * space, which only a full collection frees: with 1,024 rows each block read back while
 * the JSON was written left its 200 KB string there, 56 MB a pass over 8 capped devices.
 */
export const SPILL_BLOCK_ROWS = 256;

/** Rows in the file, by the view of each store (rowsInFile). */
const inFile = new WeakMap<object, () => number>();

/** How many rows of `list` are in the file, when it is the view of a spilled-rows store (tests, the bench). */
export function rowsInFile(list: readonly unknown[]): number | undefined {
  return inFile.get(list)?.();
}

/** A finished block: where it is in the file, or the column store itself when the file refused it. */
type Block<T> = { readonly pos: number; readonly len: number } | { readonly kept: ItemStore<T> };

export function spilledRows<T>(columns: () => ReusableStore<T>, file: SpillFile, what: string, blockRows: number = SPILL_BLOCK_ROWS): ItemStore<T> {
  /** Every finished block but the latest. */
  const blocks: Block<T>[] = [];
  /**
   * The latest finished block, still in memory: a session's slice starts where the session
   * did, often in the block before the one being filled, and is read while the session
   * ends (timeline-recorder.ts intervalsFrom); reading it from the file would decode a
   * block of rows for a few.
   */
  let latest: ReusableStore<T> | undefined;
  let tail = columns();
  /** Rows replaced after their block went to the file. */
  const replaced = new Map<number, T>();
  let cachedBlock = -1;
  let cached: T[] = [];

  /** Writes a block's rows to the file; true when they are there (the store is free to reuse), false when it is kept as the block. */
  function spill(store: ReusableStore<T>): boolean {
    const rows: T[] = [];
    for (let k = 0; k < store.length; k++) rows.push(store.at(k));
    try {
      blocks.push(file.append(encodeValue(rows)));
      return true;
    } catch (e) {
      if (!(e instanceof SpillRefused)) throw e;
      blocks.push({ kept: store });
      return false;
    }
  }

  function finishTail(): void {
    // The block written to the file gives its store to the next block: a store a block
    // (its typed arrays grown to a block's rows, its maps) lived long enough to reach the
    // old generation, and a new one per block left ≈ 10 MB of dead array buffers and
    // hash tables waiting for each full collection on 2 GB of text (issue 13).
    let free: ReusableStore<T> | undefined;
    if (latest !== undefined && spill(latest)) {
      free = latest;
      free.clear();
    }
    latest = tail;
    tail = free ?? columns();
  }

  /** The store holding block b when it is in memory. */
  function inMemory(b: number): ItemStore<T> | undefined {
    if (b < blocks.length) {
      const block = blocks[b] as Block<T>;
      return 'kept' in block ? block.kept : undefined;
    }
    return latest !== undefined && b === blocks.length ? latest : tail;
  }

  function fromFile(b: number, k: number): T {
    if (b !== cachedBlock) {
      const block = blocks[b] as { readonly pos: number; readonly len: number };
      cached = decodeValue(file.read(block.pos, block.len)) as T[];
      cachedBlock = b;
    }
    return cached[k] as T;
  }

  function write(i: number, item: T): void {
    const b = Math.floor(i / blockRows);
    const k = i - b * blockRows;
    const mem = inMemory(b);
    if (mem === undefined) replaced.set(i, item);
    else if (mem !== tail || k < tail.length) mem.set(k, item);
    else {
      tail.push(item);
      if (tail.length === blockRows) finishTail();
    }
  }

  function read(i: number): T {
    if (replaced.size > 0) {
      const r = replaced.get(i);
      if (r !== undefined) return r;
    }
    const b = Math.floor(i / blockRows);
    const k = i - b * blockRows;
    const mem = inMemory(b);
    return mem !== undefined ? mem.at(k) : fromFile(b, k);
  }

  const store = rowStore<T>(what, write, read);
  inFile.set(store.view, () => blocks.reduce((n, b) => n + ('kept' in b ? 0 : blockRows), 0));
  return store;
}
