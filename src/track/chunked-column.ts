// Numbers appended one at a time into fixed-size typed chunks (spilled-list.ts: where each
// spilled item is in the file, 559,106 rows on a 2 GB trace.dat). A typed array grown by
// copying frees each earlier size into the C allocator's heap, which later allocations
// only partly reuse and which is not given back while anything above it lives. While a
// 2 GB trace.dat was read, glibc's heap grew from 5 to 25 MB with grown arrays, from 6.5
// to 14 MB with chunks (sampled from /proc/self/smaps). Chunks are never copied or freed
// before the column is.

type Chunk = Float64Array | Uint32Array | Uint16Array;

const SHIFT = 12;
/** Rows a chunk: 32 KiB of doubles. */
export const CHUNK_ROWS = 1 << SHIFT;
const MASK = CHUNK_ROWS - 1;

export class ChunkedColumn {
  private constructor(
    private readonly make: (n: number) => Chunk,
    private readonly chunks: Chunk[],
  ) {}

  static of(make: (n: number) => Chunk): ChunkedColumn {
    return new ChunkedColumn(make, []);
  }

  /** Row i (0 for a row never set). */
  at(i: number): number {
    const c = this.chunks[i >>> SHIFT];
    return c === undefined ? 0 : (c[i & MASK] as number);
  }

  set(i: number, v: number): void {
    const k = i >>> SHIFT;
    while (this.chunks.length <= k) this.chunks.push(this.make(CHUNK_ROWS));
    (this.chunks[k] as Chunk)[i & MASK] = v;
  }

  /** A column that reads the same rows, its chunks shared, not copied (rows set later in a shared chunk show in both). */
  shared(): ChunkedColumn {
    return new ChunkedColumn(this.make, this.chunks.slice());
  }
}
