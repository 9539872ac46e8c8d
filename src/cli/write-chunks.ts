// Writing a long text that is produced in pieces (report/json.ts jsonChunks,
// report/terminal.ts terminalChunks) to a stream: in batches of about 64 KiB, waiting for
// the stream when it is full, so that neither the whole text nor a queue of it is ever held
// (issue 13: the output of 50,000 sessions is hundreds of MB).

import type { Writable } from 'node:stream';
import { once } from 'node:events';

const BATCH_CHARS = 1 << 16;

export async function writeChunks(out: Writable, chunks: Iterable<string>): Promise<void> {
  let batch = '';
  for (const c of chunks) {
    batch += c;
    if (batch.length < BATCH_CHARS) continue;
    const flushed = out.write(batch);
    batch = '';
    if (!flushed) await once(out, 'drain');
  }
  if (batch !== '' && !out.write(batch)) await once(out, 'drain');
}
