// The temporary file that finished sessions are spilled to (spilled-list.ts), so that a trace
// of 50,000 migrations does not hold them all in memory (issue 13). The file is removed from
// its directory as soon as it is opened: only the open descriptor keeps it, so it is gone on
// every exit, a crash or SIGKILL included, and nothing is left in the temp directory
// ($TMPDIR, else /tmp). Writes are batched in one reused buffer; a read of a part still in
// the batch writes the batch first. A write that fails (disk full) loses nothing: the batch
// is kept in memory and read from there, and append() refuses the text that met the
// failure and every later one, so the caller keeps those itself
// (test/track/spill-file-full.test.ts fills a file-size limit).

import { closeSync, mkdtempSync, openSync, readSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BATCH_BYTES = 1 << 20;
/** The read buffer starts this big and grows (doubling) to the largest item read, up to SCRATCH_MAX; a larger item gets its own. */
const SCRATCH_START = 1 << 14;
const SCRATCH_MAX = 1 << 20;
/**
 * Reads of items this small go through a window of the file read ahead: the passes over a
 * list read its items in order (a device's sessions lie ascending, between the other
 * devices'), and one readSync per item of a few KB was 3–4 % of a dense trace's CPU.
 */
const WINDOW_BYTES = 1 << 17;
const WINDOW_ITEM_MAX = WINDOW_BYTES >> 2;

/** The file could not be written (disk full, I/O error): keep the item elsewhere. */
export class SpillRefused extends Error {}

export interface SpillFile {
  /** Appends `text`; returns where it is (bytes). Throws SpillRefused once a write has failed. */
  append(text: string): { readonly pos: number; readonly len: number };
  read(pos: number, len: number): string;
  /** Appends raw bytes (the report's number columns, report/html/column-text.ts); as append. */
  appendBytes(bytes: Uint8Array): { readonly pos: number; readonly len: number };
  /** Reads `len` bytes at `pos` into the start of `into`, no allocation. */
  readBytes(pos: number, len: number, into: Uint8Array): void;
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
  // The write batch: texts are encoded straight into one reused buffer. A Buffer per text,
  // held in a list until the batch was full, outlived young-generation collections (a
  // megabyte of sessions is a few hundred of them) and died in the old generation (issue 13).
  const batch = Buffer.allocUnsafe(BATCH_BYTES);
  let used = 0;
  let failed: Error | undefined;
  /** The batch that could not be written, kept: its bytes are read from here from then on. */
  let kept: Buffer | undefined;
  let scratch = Buffer.allocUnsafe(SCRATCH_START);
  /** Bytes [winPos, winPos + winLen) of the file, read ahead (only what was in the file then: it is only ever appended to). */
  let win: Buffer | undefined;
  let winPos = 0;
  let winLen = 0;
  const writeAt = (b: Uint8Array, pos: number): void => {
    let off = 0;
    while (off < b.length) off += writeSync(fd, b, off, b.length - off, pos + off);
  };
  const fail = (e: unknown): void => {
    failed = e instanceof Error ? e : new Error(String(e));
  };
  const flush = (): void => {
    if (used === 0 || failed !== undefined) return;
    try {
      writeAt(batch.subarray(0, used), written);
    } catch (e) {
      // Whatever part of it reached the file is ignored: the batch is read from memory from now on.
      fail(e);
      kept = Buffer.from(batch.subarray(0, used));
      used = 0;
      return;
    }
    written += used;
    used = 0;
  };
  const refused = (): SpillRefused => new SpillRefused(`spill file not writable: ${failed?.message ?? 'unknown error'}`);
  /** Appends an item of at most `max` bytes: `put` writes it into the batch at `at` and returns its length; `whole` gives it as one Buffer when it is larger than a batch. */
  const appendWith = (max: number, put: (at: number) => number, whole: () => Uint8Array): { pos: number; len: number } => {
    if (failed !== undefined) throw refused();
    if (max > BATCH_BYTES - used) {
      flush();
      if (failed !== undefined) throw refused();
    }
    if (max > BATCH_BYTES) {
      // Larger than a batch (the batch is empty now): written on its own.
      const b = whole();
      try {
        writeAt(b, written);
      } catch (e) {
        fail(e);
        throw refused();
      }
      const pos = written;
      written += b.length;
      return { pos, len: b.length };
    }
    const pos = written + used;
    const len = put(used);
    used += len;
    return { pos, len };
  };
  /** `len` bytes at `pos` of the file into `into` at `at`. */
  const preadAll = (pos: number, len: number, into: Uint8Array, at: number): number => {
    let got = 0;
    while (got < len) {
      const n = readSync(fd, into, at + got, len - got, pos + got);
      if (n === 0) break;
      got += n;
    }
    return got;
  };
  /**
   * Where `len` bytes at `pos` are in memory without a read of their own: in the batch not
   * yet written, the batch kept after a failed write, or the read-ahead window (filled from
   * `pos` when the item is small). Undefined: read them straight from the file.
   */
  const inMemory = (pos: number, len: number): { readonly buf: Buffer; readonly at: number } | undefined => {
    if (pos + len > written) flush();
    if (pos + len > written) {
      // Not in the file: the batch kept after a failed write, or (when a flush failed just now) that one.
      return { buf: kept ?? batch, at: pos - written };
    }
    if (win !== undefined && pos >= winPos && pos + len <= winPos + winLen) return { buf: win, at: pos - winPos };
    if (len > WINDOW_ITEM_MAX) return undefined;
    win ??= Buffer.allocUnsafe(WINDOW_BYTES);
    winPos = pos;
    winLen = 0;
    winLen = preadAll(pos, Math.min(WINDOW_BYTES, written - pos), win, 0);
    if (winLen < len) throw new Error(`spill: short read at ${pos + winLen}`);
    return { buf: win, at: 0 };
  };
  /** `len` bytes at `pos` into `into` (from offset 0). */
  const readInto = (pos: number, len: number, into: Uint8Array): void => {
    const m = inMemory(pos, len);
    if (m !== undefined) {
      into.set(m.buf.subarray(m.at, m.at + len));
      return;
    }
    const got = preadAll(pos, len, into, 0);
    if (got < len) throw new Error(`spill: short read at ${pos + got}`);
  };
  return {
    append(text) {
      // At most 3 bytes of UTF-8 per UTF-16 unit.
      return appendWith(
        text.length * 3,
        (at) => batch.write(text, at, 'utf8'),
        () => Buffer.from(text, 'utf8'),
      );
    },
    appendBytes(bytes) {
      return appendWith(
        bytes.length,
        (at) => {
          batch.set(bytes, at);
          return bytes.length;
        },
        () => bytes,
      );
    },
    read(pos, len) {
      // Into one reused buffer: a fresh one per read (most items are over the 4 KiB that
      // Buffer's pool serves) was off-heap garbage piling up between collections, ≈ 50 MB
      // while a report read back 237,316 sessions (issue 13).
      // A small item is decoded where it lies (the window, the batch): no copy.
      const m = inMemory(pos, len);
      if (m !== undefined) return m.buf.toString('utf8', m.at, m.at + len);
      if (len > scratch.length && len <= SCRATCH_MAX) scratch = Buffer.allocUnsafe(Math.min(SCRATCH_MAX, Math.max(len, scratch.length * 2)));
      const buf = len <= scratch.length ? scratch : Buffer.allocUnsafe(len);
      readInto(pos, len, buf);
      return buf.toString('utf8', 0, len);
    },
    readBytes: readInto,
    size: () => written + used + (kept?.length ?? 0),
    close() {
      closeSync(fd);
    },
  };
}
