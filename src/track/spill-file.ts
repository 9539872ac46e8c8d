// The temporary file that finished sessions are spilled to (spilled-list.ts), so that a trace
// of 50,000 migrations does not hold them all in memory (issue 13). The file is removed from
// its directory as soon as it is opened: only the open descriptor keeps it, so it is gone on
// every exit, a crash or SIGKILL included, and nothing is left in the temp directory
// ($TMPDIR, else /tmp). Writes are batched; a read of a part still in the batch writes the
// batch first. A write that fails (disk full) loses nothing: the batch stays in memory and
// is read from there, and append() refuses more, so the caller keeps later items itself.

import { closeSync, mkdtempSync, openSync, readSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BATCH_BYTES = 1 << 20;
/** The read buffer starts this big and grows (doubling) to the largest item read, up to SCRATCH_MAX; a larger item gets its own. */
const SCRATCH_START = 1 << 14;
const SCRATCH_MAX = 1 << 20;

/** The file could not be written (disk full, I/O error): keep the item elsewhere. */
export class SpillRefused extends Error {}

export interface SpillFile {
  /** Appends `text`; returns where it is (bytes). Throws SpillRefused once a write has failed. */
  append(text: string): { readonly pos: number; readonly len: number };
  read(pos: number, len: number): string;
  /** Bytes written so far (tests, the bench). */
  size(): number;
  close(): void;
}

/** Opens a new spill file, or returns undefined when no temporary file can be made (read-only temp dir): the caller keeps its items in memory. */
export function openSpillFile(dir: string = tmpdir()): SpillFile | undefined {
  let fd: number;
  try {
    const d = mkdtempSync(join(dir, 'migscope-spill-'));
    const path = join(d, 'sessions');
    fd = openSync(path, 'w+', 0o600);
    unlinkSync(path);
    rmdirSync(d);
  } catch {
    return undefined;
  }
  let written = 0; // bytes in the file
  let batch: Buffer[] = [];
  let batchBytes = 0;
  let failed: Error | undefined;
  let scratch = Buffer.allocUnsafe(SCRATCH_START);
  const flush = (): void => {
    if (batchBytes === 0 || failed !== undefined) return;
    const b = batch.length === 1 ? (batch[0] as Buffer) : Buffer.concat(batch, batchBytes);
    batch = [b];
    let off = 0;
    try {
      while (off < b.length) off += writeSync(fd, b, off, b.length - off, written + off);
    } catch (e) {
      // Whatever part of it reached the file is ignored: the whole batch is read from memory from now on.
      failed = e instanceof Error ? e : new Error(String(e));
      return;
    }
    written += b.length;
    batch = [];
    batchBytes = 0;
  };
  return {
    append(text) {
      if (failed !== undefined) throw new SpillRefused(`spill file not writable: ${failed.message}`);
      const b = Buffer.from(text, 'utf8');
      const pos = written + batchBytes;
      batch.push(b);
      batchBytes += b.length;
      if (batchBytes >= BATCH_BYTES) flush();
      return { pos, len: b.length };
    },
    read(pos, len) {
      if (pos + len > written) flush();
      if (pos + len > written) {
        // Not written (a failed write): the batch in memory holds it.
        const all = batch.length === 1 ? (batch[0] as Buffer) : Buffer.concat(batch, batchBytes);
        batch = [all];
        return all.toString('utf8', pos - written, pos - written + len);
      }
      // Into one reused buffer: a fresh one per read (most items are over the 4 KiB that
      // Buffer's pool serves) was off-heap garbage piling up between collections, ≈ 50 MB
      // while a report read back 237,316 sessions (issue 13).
      if (len > scratch.length && len <= SCRATCH_MAX) scratch = Buffer.allocUnsafe(Math.min(SCRATCH_MAX, Math.max(len, scratch.length * 2)));
      const buf = len <= scratch.length ? scratch : Buffer.allocUnsafe(len);
      let got = 0;
      while (got < len) {
        const n = readSync(fd, buf, got, len - got, pos + got);
        if (n === 0) throw new Error(`spill: short read at ${pos + got}`);
        got += n;
      }
      return buf.toString('utf8', 0, len);
    },
    size: () => written + batchBytes,
    close() {
      closeSync(fd);
    },
  };
}
