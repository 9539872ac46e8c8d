// The syscall (or probe) each thread is inside, by tid: a Map whose entries are emptied,
// not deleted (issue 13). Every syscall entry sets a tid and its exit removes it; with
// Map.delete, V8's hash table fills with deleted entries and is rebuilt every few
// syscalls, and each rebuilt table of a long-lived map outlives young-generation
// collections and dies in the old one: 15 MB of the 126 MB promoted and then collected
// while analysing 64 MB of dense ftrace text (sampling heap profile, objects collected by
// mark-compact). A tid emptied keeps its entry, so the table holds one per thread seen,
// and is rebuilt only when empty entries outnumber the live ones by far.
//
// Iteration (values) is in the order the live entries were set, as a Map's after a
// delete and set would be: the records a flush completes come out in that order.

/** Empty entries kept before they are removed, when they also outnumber the live ones. */
const MAX_EMPTY = 1024;

export class TidSlots<V> {
  private readonly vals = new Map<number, V | undefined>();
  /** When each live entry was set (its place in the iteration order). */
  private readonly seqs = new Map<number, number>();
  private seq = 0;
  private live = 0;

  get(tid: number): V | undefined {
    return this.vals.get(tid);
  }

  /** As Map.set: a live entry keeps its place in the order, a new (or emptied) one goes last. */
  set(tid: number, v: V): void {
    if (this.vals.get(tid) === undefined) {
      this.live++;
      this.seqs.set(tid, this.seq++);
    }
    this.vals.set(tid, v);
  }

  delete(tid: number): void {
    if (this.vals.get(tid) === undefined) return;
    this.vals.set(tid, undefined);
    this.live--;
    const empty = this.vals.size - this.live;
    if (empty > MAX_EMPTY && empty > 4 * this.live) this.compact();
  }

  get size(): number {
    return this.live;
  }

  /** The live values, in the order they were set. */
  values(): V[] {
    const out: { v: V; seq: number }[] = [];
    for (const [tid, v] of this.vals) if (v !== undefined) out.push({ v, seq: this.seqs.get(tid) as number });
    out.sort((a, b) => a.seq - b.seq);
    return out.map((e) => e.v);
  }

  clear(): void {
    this.vals.clear();
    this.seqs.clear();
    this.live = 0;
  }

  private compact(): void {
    for (const [tid, v] of this.vals)
      if (v === undefined) {
        this.vals.delete(tid);
        this.seqs.delete(tid);
      }
  }
}
