// Writing a long text that is produced in pieces (report/json.ts jsonChunks,
// report/terminal.ts terminalChunks) to a stream: in batches, waiting for the stream when it
// is full, so that neither the whole text nor a queue of it is ever held (issue 13: the
// output of 50,000 sessions is hundreds of MB). The batches go through two reused buffers
// (report/text-batches.ts): a new Buffer per batch was 26,000 of them for a 2 GB trace's
// 1.7 GB of JSON, memory outside the heap freed only when a collection finds each dead.

import type { Writable } from 'node:stream';
import { TextBatches } from '../report/text-batches.js';
import { waitForOutput } from './output-backpressure.js';

/** Bytes per batch. */
const BATCH_BYTES = 1 << 17;

/**
 * Batches between two turns of the event loop (4 MiB of text, ≈ 40 ms of JSON). Into a file
 * (`--json > out.json`) stdout is written synchronously and each write's callback comes in
 * the same turn, so the loop never turned while the text was written: on a 2 GB trace.dat
 * that was 35 s (80 s on slower cores) in which SIGINT and SIGTERM were not even seen, the
 * second signal's "stop at once" included (stop-signals.ts). Counted in batches, not
 * timed, so that the test can tell where the turn comes.
 */
export const BATCHES_PER_TURN = 32;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export async function writeChunks(out: Writable, chunks: Iterable<string>): Promise<void> {
  // Resolves once the stream is done with the data (written, or failed: its error is the stream's 'error').
  const batches = new TextBatches((data) => new Promise<void>((resolve) => out.write(data, () => resolve())), BATCH_BYTES);
  let sinceTurn = 0;
  for (const c of chunks) {
    if (!(await batches.add(c))) continue;
    await waitForOutput(out);
    // The reader is gone (a closed pipe): the rest of the text has nowhere to go.
    if (out.destroyed) return;
    if (++sinceTurn === BATCHES_PER_TURN) {
      sinceTurn = 0;
      await nextTurn();
    }
  }
  await batches.finish();
}
