// zstd decompression for trace.dat v7, off the main thread and bounded in time.
//
// The decoder is libzstd itself, compiled to WebAssembly (the zstddec package): Node 20 has
// no zstd, and the pure-JS fzstd used before ran at a tenth of its speed and looped forever
// on some corrupt Huffman tables (test/fuzz/regressions/). Frames are decoded in a worker
// thread for two reasons:
// - overlap: a CPU's page source submits its next chunk before it parses the current one
//   (cpu-data.ts), so decompression runs on the second core while the main thread
//   decodes, tracks and checks;
// - a deadline: the parser waits for a frame synchronously (Atomics.wait on the job's
//   flag) for a bounded time, and a file as a whole has a budget when one is set. A
//   worker that misses a deadline is terminated and the frame reported as corrupt; the
//   frames queued behind it are posted again to a fresh worker.
// Node ≥ 22.15 has a native decoder (zlib.zstdDecompressSync), used when present.
import { createRequire } from 'node:module';
import * as zlib from 'node:zlib';
import { Worker } from 'node:worker_threads';

/** Deadline for one frame: generous for a loaded machine (real chunks take < 1 ms per 40 KiB). */
function deadlineMs(usize: number): number {
  return 3000 + Math.ceil(usize / (1 << 20)) * 100;
}

/**
 * Starting the decoder thread (a new V8 isolate that instantiates the WebAssembly module)
 * is not decoding and can take seconds on a loaded machine: it has its own, long limit and
 * does not count against a frame's deadline.
 */
const STARTUP_MS = 60_000;

/**
 * The time one file may spend waiting for the decoder, over all its frames
 * (TraceDatOptions zstdBudgetMs): a hostile file of many frames that each hang would
 * otherwise cost one deadline per frame. The fuzzer gives each case a budget; the CLI has
 * none (real files of GBs decode for minutes) and relies on the per-frame deadline.
 */
let budget: { remainingMs: number; readonly totalMs: number } | undefined;

/** Set (or with undefined clear) the budget of the file being parsed; returns the previous one. */
export function setZstdFileBudget(totalMs: number | undefined): typeof budget {
  const prev = budget;
  budget = totalMs === undefined ? undefined : { remainingMs: totalMs, totalMs };
  return prev;
}

export function restoreZstdFileBudget(prev: typeof budget): void {
  budget = prev;
}

const MESSAGE_BYTES = 512;
/** ctl[0]: 0 pending, 1 done, 2 failed (message length in ctl[1], text from byte 8). */
const CTL_BYTES = 8 + MESSAGE_BYTES;

// The worker is a CommonJS snippet: it runs from the compiled tree and from the TypeScript
// sources under vitest alike (no worker file path to resolve). zstddec is an ES module,
// loaded with import(). zstddec does not check libzstd's result for an error code, so the
// size it returns is checked against the frame's known size.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { pathToFileURL } = require('node:url');
const ready = new Int32Array(workerData.ready);
const say = (v) => { Atomics.store(ready, 0, v); Atomics.notify(ready, 0); };
import(pathToFileURL(workerData.zstddec).href).then(async ({ ZSTDDecoder }) => {
  const d = new ZSTDDecoder();
  await d.init();
  parentPort.on('message', (m) => {
    const ctl = new Int32Array(m.ctl, 0, 2);
    try {
      const got = d.decode(new Uint8Array(m.input, 0, m.inLen), m.outLen);
      if (got.length !== m.outLen) throw new Error('libzstd rejected the frame (it gave ' + got.length + ' bytes, not ' + m.outLen + ')');
      new Uint8Array(m.output, 0, m.outLen).set(got);
      Atomics.store(ctl, 0, 1);
    } catch (e) {
      const msg = Buffer.from(String(e && e.message ? e.message : e)).subarray(0, ${MESSAGE_BYTES});
      new Uint8Array(m.ctl, 8, ${MESSAGE_BYTES}).set(msg);
      ctl[1] = msg.length;
      Atomics.store(ctl, 0, 2);
    }
    Atomics.notify(ctl, 0);
  });
  say(1);
}).catch(() => say(2));
`;

let worker: Worker | undefined;
/** Bumped each time a worker is replaced: a job posted to an older one is posted again. */
let generation = 0;

function getWorker(): Worker {
  if (worker === undefined) {
    const zstddec = createRequire(import.meta.url).resolve('zstddec');
    const readySab = new SharedArrayBuffer(4);
    const ready = new Int32Array(readySab);
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { zstddec, ready: readySab } });
    w.unref(); // an idle decoder never keeps the process alive
    w.on('error', () => {
      if (worker === w) dropWorker();
    });
    // The thread starts on its own (no event loop turn needed here): wait for it apart from the frame's deadline.
    Atomics.wait(ready, 0, 0, STARTUP_MS);
    if (Atomics.load(ready, 0) !== 1) {
      void w.terminate();
      throw new Error(Atomics.load(ready, 0) === 2 ? 'the zstd decoder (zstddec) could not be loaded' : `the zstd decoder thread did not start within ${STARTUP_MS} ms`);
    }
    worker = w;
    generation++;
  }
  return worker;
}

function dropWorker(): void {
  const w = worker;
  worker = undefined;
  generation++;
  if (w !== undefined) void w.terminate();
}

type NativeZstd = (buf: Uint8Array, opts?: { maxOutputLength?: number }) => Buffer;

function nativeZstd(): NativeZstd | undefined {
  const f: unknown = Reflect.get(zlib, 'zstdDecompressSync');
  return typeof f === 'function' ? (buf, opts) => Reflect.apply(f, zlib, [buf, opts]) : undefined;
}

/** A frame handed to the decoder; take() waits for it (bounded) and returns its bytes. */
export interface ZstdJob {
  /** The decoded frame, exactly usize bytes; throws Error on corrupt data or a deadline miss. */
  take(): Buffer;
}

const stats = { submitted: 0, taken: 0, buffersMade: 0 };

/** Frames handed to the decoder and taken from it so far (tests see the overlap), and job buffer sets made (tests see them reused). */
export function zstdStats(): { readonly submitted: number; readonly taken: number; readonly buffersMade: number } {
  return { ...stats };
}

interface JobBuffers {
  readonly ctlSab: SharedArrayBuffer;
  readonly input: SharedArrayBuffer;
  readonly output: SharedArrayBuffer;
}

/**
 * Job buffers the worker is done with, for the next frames. A new set per frame (1,700 for
 * 68 MB of zstd trace.dat) stayed alive until the worker's heap collected the messages that
 * carried them, which an idle-looking decoder thread seldom does: the zstd input peaked
 * ≈ 85 MB above the same trace uncompressed (issue 13). Sizes are rounded up to a power of
 * two so that frames of varying size share them. A job whose worker missed its deadline
 * keeps its buffers (that thread may still write into them until it is gone).
 */
const freeJobBuffers: JobBuffers[] = [];
const MAX_FREE_JOB_BUFFERS = 16;

const pow2 = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(n, 1)));

function jobBuffers(inLen: number, outLen: number): JobBuffers {
  const i = freeJobBuffers.findIndex((b) => b.input.byteLength >= inLen && b.output.byteLength >= outLen);
  if (i >= 0) return freeJobBuffers.splice(i, 1)[0] as JobBuffers;
  stats.buffersMade++;
  return { ctlSab: new SharedArrayBuffer(CTL_BYTES), input: new SharedArrayBuffer(pow2(inLen)), output: new SharedArrayBuffer(pow2(outLen)) };
}

function releaseJobBuffers(b: JobBuffers): void {
  if (freeJobBuffers.length < MAX_FREE_JOB_BUFFERS) freeJobBuffers.push(b);
}

/** Start decoding one zstd frame into `usize` bytes; the caller may work while it runs. */
export function zstdSubmit(frame: Uint8Array, usize: number): ZstdJob {
  stats.submitted++;
  const native = nativeZstd();
  if (native !== undefined) {
    return {
      take(): Buffer {
        stats.taken++;
        const got = native(frame, { maxOutputLength: usize });
        if (got.length !== usize) throw new Error(`decoded ${got.length} bytes, expected ${usize}`);
        return got;
      },
    };
  }
  // Each job in flight has its own buffers (jobs of several CPUs are in flight at once),
  // taken from the free ones when they are big enough.
  const bufs = jobBuffers(frame.length, usize);
  const { ctlSab, input, output } = bufs;
  const ctl = new Int32Array(ctlSab, 0, 2);
  new Uint8Array(input, 0, frame.length).set(frame);
  let postedTo = -1;
  const post = (): void => {
    const w = getWorker();
    Atomics.store(ctl, 0, 0);
    w.postMessage({ ctl: ctlSab, input, inLen: frame.length, output, outLen: usize });
    postedTo = generation;
  };
  post();
  return {
    take(): Buffer {
      stats.taken++;
      if (Atomics.load(ctl, 0) === 0) {
        if (budget !== undefined && budget.remainingMs <= 0) throw new Error(`not decoded: this file's zstd time budget (${budget.totalMs} ms) is spent`);
        // Queued behind a frame that hung: that worker is gone, post again to a fresh one.
        if (postedTo !== generation || worker === undefined) post();
        const frameLimit = deadlineMs(usize);
        const limit = budget !== undefined ? Math.min(frameLimit, budget.remainingMs) : frameLimit;
        const t0 = performance.now();
        const r = Atomics.wait(ctl, 0, 0, limit);
        if (budget !== undefined) budget.remainingMs -= performance.now() - t0;
        if (r === 'timed-out' && Atomics.load(ctl, 0) === 0) {
          // Stuck in the decoder: stop that thread; the next frame gets a fresh one.
          dropWorker();
          throw new Error(
            limit < frameLimit
              ? `zstd decoder did not finish within the ${budget?.totalMs ?? limit} ms budget of this file (corrupt frame?)`
              : `zstd decoder did not finish within ${limit} ms (corrupt frame)`,
          );
        }
      }
      // The worker is done with the buffers (done or failed): copy out, and they are free.
      if (Atomics.load(ctl, 0) === 2) {
        const message = Buffer.from(new Uint8Array(ctlSab, 8, Math.min(ctl[1] ?? 0, MESSAGE_BYTES))).toString('utf8');
        releaseJobBuffers(bufs);
        throw new Error(message);
      }
      const out = Buffer.allocUnsafe(usize);
      out.set(new Uint8Array(output, 0, usize));
      releaseJobBuffers(bufs);
      return out;
    },
  };
}

/** Decode one zstd frame into exactly `out.length` bytes; throws Error on corrupt data or a deadline miss. */
export function zstdDecompressGuarded(frame: Uint8Array, out: Buffer): void {
  zstdSubmit(frame, out.length).take().copy(out);
}
