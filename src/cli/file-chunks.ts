// A file's bytes, a chunk at a time, for the line splitter (parsers/lines.ts): read into
// three buffers used in turn (the consumer's, and two read ahead), so reading a 2 GB trace
// allocates three buffers, not 2,000.
//
// Issue 13: createReadStream allocated a fresh 1 MiB buffer per chunk, and decoding each to
// text made a 1 MiB external string besides; both are garbage a moment later but live off
// the JS heap, where they pile up between collections (tens of MB of peak RSS). Smaller
// chunks decode to ordinary strings that die young.
//
// The contract: a chunk is valid until the consumer asks for the next one (feedLines is done
// with a chunk when push returns; it copies what it keeps).

import { open, type FileHandle } from 'node:fs/promises';

export const CHUNK_BYTES = 1 << 16;
/**
 * What the analysis reads at a time, handed on in CHUNK_BYTES slices: a read costs the main
 * thread 20–100 µs whatever its size (FileHandle.read's promise and request), which was
 * 11 % of a 64 MB sparse trace's CPU profile at one read per 64 KiB chunk.
 */
export const READ_BYTES = 1 << 18;

/** A read's outcome, kept as a value: a read in flight while the consumer works must not be an unhandled rejection if it fails. */
type Outcome = { readonly bytes: number } | { readonly error: unknown };

interface Read {
  readonly buf: Buffer;
  /** Where in the file the read starts; null: the file's own position (a pipe). */
  readonly pos: number | null;
  readonly done: Promise<Outcome>;
}

function startRead(fh: FileHandle, buf: Buffer, pos: number | null): Read {
  const done = fh.read(buf, 0, buf.length, pos).then(
    (r): Outcome => ({ bytes: r.bytesRead }),
    (error: unknown): Outcome => ({ error }),
  );
  return { buf, pos, done };
}

/** Reads in flight while the consumer works on a chunk of a regular file. */
const AHEAD = 2;

/**
 * The next chunks of a regular file are read while the consumer works on this one: each
 * read is a round trip through libuv's thread pool, and waiting for it chunk by chunk left
 * the main thread idle 31 % of a 64 MB sparse trace's analysis (1,024 reads of 64 KiB).
 * A read goes into a buffer the consumer has let go of (it asked for a later chunk), and
 * at the position the reads before it end at if they are whole; a short read (the end of
 * the file, which may still be growing) has the reads after it dropped and read again from
 * where it ended. A pipe or a terminal (process substitution, /dev/stdin) is read one chunk
 * at a time, at its own position. Either way the file is read until a read gives nothing.
 * A regular file is read `readBytes` at a time (at least a chunk) and each read is handed on
 * in chunks of at most `chunkBytes`: the chunk size is what the consumer makes strings of,
 * the read size what the main thread pays a read for (READ_BYTES).
 */
export async function* fileChunks(path: string, chunkBytes = CHUNK_BYTES, readBytes = chunkBytes): AsyncGenerator<Buffer> {
  const fh = await open(path, 'r');
  const reads: Read[] = [];
  try {
    const ahead = (await fh.stat()).isFile() ? AHEAD : 0;
    const size = ahead === 0 ? chunkBytes : Math.max(chunkBytes, readBytes);
    const free: Buffer[] = Array.from({ length: ahead + 1 }, () => Buffer.allocUnsafe(size));
    let pos = 0;
    const fill = (): void => {
      while (free.length > 0 && reads.length < Math.max(ahead, 1)) {
        reads.push(startRead(fh, free.shift() as Buffer, ahead === 0 ? null : pos));
        pos += size;
      }
    };
    /** The buffer of the chunk the consumer has: free once it asks for the next. */
    let held: Buffer | undefined;
    for (;;) {
      if (held !== undefined) free.push(held);
      fill();
      const read = reads.shift() as Read;
      fill();
      const r = await read.done;
      held = read.buf;
      if ('error' in r) throw r.error;
      if (r.bytes === 0) return;
      if (r.bytes < size && read.pos !== null) {
        // The reads after it assumed a whole chunk here: drop them and go on from where it ended.
        for (const later of reads.splice(0)) {
          await later.done;
          free.push(later.buf);
        }
        pos = read.pos + r.bytes;
      }
      // In slices of at most chunkBytes; the buffer is let go of once the consumer asks past the last.
      for (let at = 0; at < r.bytes; at += chunkBytes) yield read.buf.subarray(at, Math.min(r.bytes, at + chunkBytes));
    }
  } finally {
    // Reads still in flight (the consumer stopped early) end before the file is closed.
    for (const r of reads) await r.done;
    await fh.close();
  }
}
