// Writing a long text that is produced in pieces (report/json.ts jsonChunks,
// report/terminal.ts terminalChunks) to a stream: in batches, waiting for the stream when it
// is full, so that neither the whole text nor a queue of it is ever held (issue 13: the
// output of 50,000 sessions is hundreds of MB).
//
// The batches are encoded into two buffers that are reused, each refilled only once the
// stream is done with it: a string handed to write() becomes a new Buffer per batch, and a
// 2 GB trace's 1.7 GB of JSON made 26,000 of them, memory outside the heap that is freed
// only when a collection finds each one dead.

import type { Writable } from 'node:stream';
import { waitForOutput } from './output-backpressure.js';

/** Bytes per batch. */
const BATCH_BYTES = 1 << 17;
/** UTF-8 bytes per UTF-16 unit at most (a surrogate pair is 4 bytes for 2 units). */
const MAX_BYTES_PER_UNIT = 3;

export async function writeChunks(out: Writable, chunks: Iterable<string>): Promise<void> {
  const bufs = [Buffer.allocUnsafe(BATCH_BYTES), Buffer.allocUnsafe(BATCH_BYTES)];
  /** Resolves when the stream is done with buffer k (written, or failed: its error is the stream's 'error'). */
  const busy: (Promise<void> | undefined)[] = [undefined, undefined];
  let k = 0;
  let used = 0;

  const send = (data: Buffer | string): Promise<void> => new Promise<void>((resolve) => out.write(data, () => resolve()));

  /** Hands buffer k to the stream, then waits until the other one is free (and the stream not full). */
  const flush = async (): Promise<void> => {
    if (used === 0) return;
    busy[k] = send((bufs[k] as Buffer).subarray(0, used));
    k ^= 1;
    used = 0;
    await busy[k];
    busy[k] = undefined;
    await waitForOutput(out);
  };

  for (const c of chunks) {
    if (c.length * MAX_BYTES_PER_UNIT > BATCH_BYTES - used) {
      await flush();
      // The reader is gone (a closed pipe): the rest of the text has nowhere to go.
      if (out.destroyed) return;
      if (c.length * MAX_BYTES_PER_UNIT > BATCH_BYTES) {
        // Larger than a batch: as it is (rare: the pieces are a few KB).
        await send(c);
        continue;
      }
    }
    used += (bufs[k] as Buffer).write(c, used, 'utf8');
  }
  await flush();
  await Promise.all(busy);
}
