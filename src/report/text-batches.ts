// Long text produced in small pieces, handed to a consumer (a stream, a gzip) in batches
// encoded into two buffers that are reused: a string handed to a stream becomes a Buffer
// of its own, held until the consumer took it, and on a 2 GB trace those outlived
// young-generation collections by the thousand (issue 13). A buffer is refilled only once
// the consumer is done with the batch it holds; a piece larger than a batch goes as it is.
// Used by cli/write-chunks.ts (analyze's output) and report/html/render.ts (the gzip).

/** UTF-8 bytes per UTF-16 unit at most (a surrogate pair is 4 bytes for 2 units). */
const MAX_BYTES_PER_UNIT = 3;

export class TextBatches {
  private readonly bufs: [Buffer, Buffer];
  /** The consumer's promise for the batch each buffer holds, until it is awaited. */
  private readonly busy: (Promise<void> | undefined)[] = [undefined, undefined];
  private k = 0;
  private used = 0;

  /**
   * `consume(data)` hands data over and resolves when the consumer is done with it (a
   * write callback); it may reject (a failed reader), and that reaches the caller of
   * add() or finish() that waits on it.
   */
  constructor(
    private readonly consume: (data: Buffer | string) => Promise<void>,
    private readonly batchBytes: number,
  ) {
    this.bufs = [Buffer.allocUnsafe(batchBytes), Buffer.allocUnsafe(batchBytes)];
  }

  /** Adds a piece; true when a batch was handed over first (the caller may check its consumer then). */
  async add(piece: string): Promise<boolean> {
    if (piece.length * MAX_BYTES_PER_UNIT <= this.batchBytes - this.used) {
      this.used += this.current().write(piece, this.used, 'utf8');
      return false;
    }
    await this.flush();
    if (piece.length * MAX_BYTES_PER_UNIT > this.batchBytes) await this.consume(piece);
    else this.used += this.current().write(piece, this.used, 'utf8');
    return true;
  }

  /** Hands the batch being filled over, then waits until the other buffer is free. */
  async flush(): Promise<void> {
    if (this.used === 0) return;
    const taken = this.consume(this.current().subarray(0, this.used));
    // A failed reader rejects every wait at once; the one awaited (here or in finish) carries
    // the error, this one must not be reported as unhandled.
    taken.catch(() => {});
    this.busy[this.k] = taken;
    this.k ^= 1;
    this.used = 0;
    await this.busy[this.k];
    this.busy[this.k] = undefined;
  }

  private current(): Buffer {
    return this.bufs[this.k] as Buffer;
  }

  /** Everything handed over and taken. */
  async finish(): Promise<void> {
    await this.flush();
    await Promise.all(this.busy);
  }
}
