// The thread that reads an ftrace text file and filters its lines (parsers/line-filter.ts)
// while the main thread analyses the lines it kept (src/cli/filtered-file.ts). Driven by
// the main thread: each message asks for one block and may give back the buffer of a block
// it is done with, so a whole file is read through the same few buffers; each answer
// transfers its buffers, nothing is copied between the threads.

import { parentPort, workerData } from 'node:worker_threads';
import { createBlockReader, FILTER_BLOCK_BYTES, type BlockReader } from '../../parsers/line-filter.js';
import type { BlockAnswer, BlockRequest } from './filtered-file.js';

const port = parentPort;
if (port === null) throw new Error('line-filter-worker: not started as a worker thread');
const { path } = workerData as { path: string };

let reader: BlockReader | undefined;
let ended = false;

function answer(m: BlockAnswer, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(m, transfer);
}

port.on('message', (m: BlockRequest) => {
  if (ended) return;
  try {
    reader ??= createBlockReader(path);
    // Buffers of their own (not the pool's), so that they can be transferred.
    const buf = m.buf !== undefined ? Buffer.from(m.buf) : Buffer.allocUnsafeSlow(FILTER_BLOCK_BYTES);
    const b = reader.next(buf);
    if (b === undefined) {
      ended = true;
      reader.close();
      answer({ kind: 'end' });
      return;
    }
    const transfer: ArrayBuffer[] = [buf.buffer as ArrayBuffer];
    if (b.lineNos !== undefined) transfer.push(b.lineNos.buffer as ArrayBuffer);
    if (b.scans !== undefined) transfer.push(b.scans.buffer as ArrayBuffer);
    answer({ ...b, buf: buf.buffer as ArrayBuffer }, transfer);
  } catch (e) {
    ended = true;
    const err = e as NodeJS.ErrnoException;
    answer({ kind: 'error', message: err.message, code: err.code });
  }
});
