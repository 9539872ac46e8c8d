// Merge the per-CPU streams by timestamp (spec/trace-formats.md §5.7: "merge the per-CPU
// record streams by timestamp; ties: lower CPU first", which is what trace-cmd report
// does). A binary heap of cursors; a cursor that stays the smallest after advancing
// costs two comparisons. Number and bigint timestamps compare exactly in JavaScript.
import { type Cursor, ITEM_DONE } from './page.js';

function less(a: Cursor, ai: number, b: Cursor, bi: number): boolean {
  // Mixed number/bigint comparison is exact (ECMAScript IsLessThan on BigInt/Number).
  if (a.ts < b.ts) return true;
  if (a.ts > b.ts) return false;
  return ai < bi;
}

/**
 * Call `visit` for every item of every cursor in timestamp order (ties: lower index, and
 * the caller orders cursors by CPU). `pause` is awaited every `pauseEvery` items so a
 * long file does not starve the event loop.
 */
export async function mergeCursors(
  cursors: readonly Cursor[],
  visit: (c: Cursor) => void,
  pause: () => Promise<void>,
  pauseEvery = 65536,
): Promise<void> {
  const heap: number[] = [];
  for (let i = 0; i < cursors.length; i++) {
    const c = cursors[i];
    if (c === undefined) continue;
    c.advance();
    if (c.kind !== ITEM_DONE) heap.push(i);
  }
  const at = (k: number): Cursor => {
    const c = cursors[heap[k] ?? -1];
    if (c === undefined) throw new Error('merge heap corrupted');
    return c;
  };
  const siftDown = (k0: number): void => {
    let k = k0;
    const n = heap.length;
    for (;;) {
      const l = 2 * k + 1;
      if (l >= n) return;
      const r = l + 1;
      let m = l;
      if (r < n && less(at(r), heap[r] ?? 0, at(l), heap[l] ?? 0)) m = r;
      if (!less(at(m), heap[m] ?? 0, at(k), heap[k] ?? 0)) return;
      const tmp = heap[k] ?? 0;
      heap[k] = heap[m] ?? 0;
      heap[m] = tmp;
      k = m;
    }
  };
  for (let k = (heap.length >> 1) - 1; k >= 0; k--) siftDown(k);
  let n = 0;
  while (heap.length > 0) {
    const c = at(0);
    visit(c);
    c.advance();
    if (c.kind === ITEM_DONE) {
      const last = heap.pop() ?? 0;
      if (heap.length > 0) {
        heap[0] = last;
        siftDown(0);
      }
    } else {
      siftDown(0);
    }
    if (++n >= pauseEvery) {
      n = 0;
      await pause();
    }
  }
}
