// A growing column of exact bigints, 8 bytes a value while every value fits in a signed
// 64-bit integer (trace nanoseconds do: 2^63 ns is 292 years), and a plain array of
// bigints from the first value that does not (a hostile or corrupt timestamp stays exact,
// only the compact storage is given up). One bigint object with its own heap cell per
// value cost ~24 bytes, and a window per session of a 2 GB trace held 237,308 of them ×5
// (downtime-shares.ts, issue 13).

export class BigintColumn {
  private packed: BigInt64Array | undefined = new BigInt64Array(16);
  private loose: bigint[] | undefined;
  private n = 0;

  get length(): number {
    return this.n;
  }

  push(v: bigint): void {
    if (this.packed !== undefined && BigInt.asIntN(64, v) !== v) {
      // Does not fit: every value moves to a plain array, kept exact.
      this.loose = Array.from(this.packed.subarray(0, this.n));
      this.packed = undefined;
    }
    if (this.packed === undefined) {
      (this.loose ??= []).push(v);
    } else {
      if (this.n === this.packed.length) {
        const grown = new BigInt64Array(this.packed.length * 2);
        grown.set(this.packed);
        this.packed = grown;
      }
      this.packed[this.n] = v;
    }
    this.n++;
  }

  /** The value at i (0 ≤ i < length). */
  get(i: number): bigint {
    const v = this.packed !== undefined ? this.packed[i] : this.loose?.[i];
    if (v === undefined || i >= this.n) throw new RangeError(`BigintColumn: no value at ${i} of ${this.n}`);
    return v;
  }
}
