// A file's bytes, a chunk at a time, for the line splitter (parsers/lines.ts): read into
// two buffers used in turn, so reading a 2 GB trace allocates two buffers, not 2,000.
//
// Issue 13: createReadStream allocated a fresh 1 MiB buffer per chunk, and decoding each to
// text made a 1 MiB external string besides; both are garbage a moment later but live off
// the JS heap, where they pile up between collections (tens of MB of peak RSS). Smaller
// chunks decode to ordinary strings that die young.
//
// The contract: a chunk is valid until the consumer asks for the next one (feedLines is done
// with a chunk when push returns; it copies what it keeps).

import { open } from 'node:fs/promises';

export const CHUNK_BYTES = 1 << 16;

export async function* fileChunks(path: string, chunkBytes = CHUNK_BYTES): AsyncGenerator<Buffer> {
  const fh = await open(path, 'r');
  try {
    const bufs = [Buffer.allocUnsafe(chunkBytes), Buffer.allocUnsafe(chunkBytes)];
    for (let k = 0; ; k ^= 1) {
      const b = bufs[k] as Buffer;
      const { bytesRead } = await fh.read(b, 0, chunkBytes, null);
      if (bytesRead === 0) return;
      yield b.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}
