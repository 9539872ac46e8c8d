// Buffered, synchronous file output for the generators (ASCII text: length = bytes).
import { closeSync, openSync, writeSync } from 'node:fs';

export interface TextOut {
  write(s: string): void;
  /** Bytes written so far (including buffered). */
  bytes(): number;
  /** Overwrite bytes at a position already written (flushes first). */
  patch(pos: number, s: string): void;
  close(): void;
}

const FLUSH_AT = 1 << 20;

export function createTextOut(path: string): TextOut {
  const fd = openSync(path, 'w');
  let acc = '';
  let flushed = 0;
  const flush = (): void => {
    if (acc.length === 0) return;
    const b = Buffer.from(acc, 'latin1');
    writeSync(fd, b, 0, b.length, flushed);
    flushed += b.length;
    acc = '';
  };
  return {
    write(s) {
      acc += s;
      if (acc.length >= FLUSH_AT) flush();
    },
    bytes: () => flushed + acc.length,
    patch(pos, s) {
      flush();
      const b = Buffer.from(s, 'latin1');
      writeSync(fd, b, 0, b.length, pos);
    },
    close() {
      flush();
      closeSync(fd);
    },
  };
}
