// Waiting for our own output to drain (`watch -`). process.stdout into a pipe or socket
// queues every write it cannot pass on at once, and watch writes a line per finding and
// (--json-lines) per session: behind a reader slower than watch that queue grew without
// bound (bench/watch-soak.ts: 1 GB at 50,000 sessions, all of it JSON lines waiting). With
// stdin as input, watch can simply stop reading until the queue drains: the writer before
// it then waits in turn, and nothing is lost. (A live capture cannot be paused without the
// tracer losing events; there watch keeps writing.)

import type { Writable } from 'node:stream';

/** Resolves when `out` drained, closed or failed, or when `stop` resolves (a signal): never hangs on a gone reader. */
export function waitForOutput(out: Writable, stop?: Promise<unknown>): Promise<void> {
  if (out.writableNeedDrain !== true) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      out.off('drain', done);
      out.off('close', done);
      out.off('error', done);
      resolve();
    };
    out.once('drain', done);
    out.once('close', done);
    out.once('error', done);
    void stop?.then(done);
  });
}
