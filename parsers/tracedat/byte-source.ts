// Positioned, bounded reads over a trace.dat (DESIGN.md: no stage holds the whole trace).
// A multi-GB file is never read whole: metadata sections and per-CPU windows/chunks are
// read with fs.readSync at an explicit position into buffers whose size was checked
// against the file size (and a cap) first.
import * as fs from 'node:fs';

/** A fatal problem: nothing (more) at all can be read. Carries the byte offset. */
export class TraceDatError extends Error {
  constructor(message: string, readonly byteOffset: number) {
    super(`byte ${byteOffset}: ${message}`);
    this.name = 'TraceDatError';
  }
}

export interface ByteSource {
  /** Name used in messages and in Source.file. */
  readonly file: string;
  readonly size: number;
  /**
   * Read up to `len` bytes at `pos` into buf[bufOff..]; returns the count actually read
   * (short only at end of file).
   */
  readInto(buf: Buffer, bufOff: number, pos: number, len: number): number;
  close(): void;
}

export function openFileSource(path: string): ByteSource {
  const fd = fs.openSync(path, 'r');
  let size: number;
  try {
    size = fs.fstatSync(fd).size;
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
  return {
    file: path,
    size,
    readInto(buf, bufOff, pos, len) {
      let done = 0;
      while (done < len) {
        const n = fs.readSync(fd, buf, bufOff + done, len - done, pos + done);
        if (n === 0) break;
        done += n;
      }
      return done;
    },
    close() {
      fs.closeSync(fd);
    },
  };
}

/** An in-memory source (tests, and inputs that are already buffers). */
export function bufferSource(data: Buffer, file: string): ByteSource {
  return {
    file,
    size: data.length,
    readInto(buf, bufOff, pos, len) {
      if (pos >= data.length) return 0;
      return data.copy(buf, bufOff, pos, Math.min(data.length, pos + len));
    },
    close() {},
  };
}

/**
 * Largest single metadata item (a section payload, a format text, the cmdlines) we will
 * allocate. Real files: formats ~1 MB, kallsyms (never read) up to tens of MB.
 */
export const MAX_METADATA_BYTES = 256 * 1024 * 1024;

/**
 * Read exactly `len` bytes at `pos`, after checking the length against the file and the
 * cap; throws TraceDatError (naming `what` and the offset) otherwise.
 */
export function readExact(src: ByteSource, pos: number, len: number, what: string): Buffer {
  if (!Number.isSafeInteger(pos) || pos < 0 || pos > src.size) {
    throw new TraceDatError(`${what}: offset ${pos} is outside the file (size ${src.size})`, pos);
  }
  if (!Number.isSafeInteger(len) || len < 0 || len > MAX_METADATA_BYTES) {
    throw new TraceDatError(`${what}: absurd length ${len}`, pos);
  }
  if (pos + len > src.size) {
    throw new TraceDatError(`${what}: needs ${len} bytes but the file ends after ${src.size - pos} (truncated?)`, pos);
  }
  const buf = Buffer.allocUnsafe(len);
  const n = src.readInto(buf, 0, pos, len);
  if (n !== len) throw new TraceDatError(`${what}: short read (${n} of ${len} bytes)`, pos);
  return buf;
}

/** A u64 from the file used as an offset or size: must be a safe number within `limit`. */
export function toBounded(v: bigint, limit: number, what: string, at: number): number {
  if (v < 0n || v > BigInt(limit)) {
    throw new TraceDatError(`${what} ${v} is out of range (at most ${limit})`, at);
  }
  return Number(v);
}
