// zstd decompression that a corrupt frame cannot hang. fzstd (pure JS, the only zstd
// decoder Node 20 has) loops forever on some corrupt Huffman tables: its weight-reading
// loop (`rhu`) advances by a bit count read from the damaged table, which can be 0 — a
// one-byte change inside a compressed section of samples/trace-cmd/
// vfio-mig-lost-events-extract.dat does it (test/fuzz/regressions/). So frames are
// decoded in a worker thread that the parser waits for synchronously (Atomics.wait on a
// shared flag, with a deadline); a worker that misses the deadline is terminated and the
// chunk reported as corrupt. Node ≥ 22.15 has a native decoder (zlib.zstdDecompressSync),
// used when present.
import { createRequire } from 'node:module';
import * as zlib from 'node:zlib';
import { Worker } from 'node:worker_threads';

/** Deadline for one frame: generous for a loaded machine (real chunks take < 1 ms per 40 KiB). */
function deadlineMs(usize: number): number {
  return 3000 + Math.ceil(usize / (1 << 20)) * 100;
}

/**
 * Starting the decoder thread (a new V8 isolate that loads fzstd) is not decoding and can
 * take seconds on a loaded machine: it has its own, long limit and does not count against a
 * frame's deadline (a 3 s deadline that included it failed real captures on a busy host).
 */
const STARTUP_MS = 60_000;

/**
 * The time one file may spend in the decoder, over all its frames (TraceDatOptions
 * zstdBudgetMs): a hostile file of many frames that each hang would otherwise cost one
 * deadline per frame. The fuzzer gives each case a budget; the CLI has none (real files of
 * GBs decode for minutes) and relies on the per-frame deadline.
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

// The worker is a CommonJS snippet: it runs from the compiled tree and from the TypeScript
// sources under vitest alike (no worker file path to resolve). ctl[0]: 0 pending, 1 done,
// 2 failed (message in the last MESSAGE_BYTES of the control buffer).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { decompress } = require(workerData.fzstd);
const ready = new Int32Array(workerData.ready);
Atomics.store(ready, 0, 1);
Atomics.notify(ready, 0);
parentPort.on('message', (m) => {
  const ctl = new Int32Array(m.ctl, 0, 2);
  try {
    const out = new Uint8Array(m.output, 0, m.outLen);
    const got = decompress(new Uint8Array(m.input, 0, m.inLen), out);
    if (got.length !== m.outLen || got.buffer !== out.buffer) throw new Error('decoded ' + got.length + ' bytes, expected ' + m.outLen);
    Atomics.store(ctl, 0, 1);
  } catch (e) {
    const msg = Buffer.from(String(e && e.message ? e.message : e)).subarray(0, ${MESSAGE_BYTES});
    new Uint8Array(m.ctl, 8, ${MESSAGE_BYTES}).set(msg);
    ctl[1] = msg.length;
    Atomics.store(ctl, 0, 2);
  }
  Atomics.notify(ctl, 0);
});
`;

let worker: Worker | undefined;
let inSab: SharedArrayBuffer | undefined;
let outSab: SharedArrayBuffer | undefined;
const ctlSab = new SharedArrayBuffer(8 + MESSAGE_BYTES);
const ctl = new Int32Array(ctlSab, 0, 2);

function getWorker(): Worker {
  if (worker === undefined) {
    const fzstd = createRequire(import.meta.url).resolve('fzstd');
    const readySab = new SharedArrayBuffer(4);
    const ready = new Int32Array(readySab);
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { fzstd, ready: readySab } });
    w.unref(); // an idle decoder never keeps the process alive
    w.on('error', () => {
      if (worker === w) worker = undefined;
    });
    // The thread starts on its own (no event loop turn needed here): wait for it apart from the frame's deadline.
    Atomics.wait(ready, 0, 0, STARTUP_MS);
    if (Atomics.load(ready, 0) !== 1) {
      void w.terminate();
      throw new Error(`the zstd decoder thread did not start within ${STARTUP_MS} ms`);
    }
    worker = w;
  }
  return worker;
}

type NativeZstd = (buf: Uint8Array, opts?: { maxOutputLength?: number }) => Buffer;

function nativeZstd(): NativeZstd | undefined {
  const f: unknown = Reflect.get(zlib, 'zstdDecompressSync');
  return typeof f === 'function' ? (buf, opts) => Reflect.apply(f, zlib, [buf, opts]) : undefined;
}

/** Decode one zstd frame into exactly `out.length` bytes; throws Error on corrupt data or a deadline miss. */
export function zstdDecompressGuarded(frame: Uint8Array, out: Buffer): void {
  const native = nativeZstd();
  if (native !== undefined) {
    const got = native(frame, { maxOutputLength: out.length });
    if (got.length !== out.length) throw new Error(`decoded ${got.length} bytes, expected ${out.length}`);
    got.copy(out);
    return;
  }
  if (inSab === undefined || inSab.byteLength < frame.length) inSab = new SharedArrayBuffer(Math.max(frame.length, 1 << 16));
  if (outSab === undefined || outSab.byteLength < out.length) outSab = new SharedArrayBuffer(Math.max(out.length, 1 << 16));
  new Uint8Array(inSab, 0, frame.length).set(frame);
  if (budget !== undefined && budget.remainingMs <= 0) throw new Error(`not decoded: this file's zstd time budget (${budget.totalMs} ms) is spent`);
  Atomics.store(ctl, 0, 0);
  const w = getWorker();
  w.postMessage({ ctl: ctlSab, input: inSab, inLen: frame.length, output: outSab, outLen: out.length });
  const frameLimit = deadlineMs(out.length);
  const limit = budget !== undefined ? Math.min(frameLimit, budget.remainingMs) : frameLimit;
  const t0 = performance.now();
  const r = Atomics.wait(ctl, 0, 0, limit);
  if (budget !== undefined) budget.remainingMs -= performance.now() - t0;
  if (r === 'timed-out' && Atomics.load(ctl, 0) === 0) {
    // Stuck in the decoder: stop that thread; the next frame gets a fresh one.
    worker = undefined;
    void w.terminate();
    throw new Error(
      limit < frameLimit
        ? `zstd decoder did not finish within the ${budget?.totalMs ?? limit} ms budget of this file (corrupt frame?)`
        : `zstd decoder did not finish within ${limit} ms (corrupt frame)`,
    );
  }
  if (Atomics.load(ctl, 0) === 2) {
    throw new Error(Buffer.from(new Uint8Array(ctlSab, 8, Math.min(ctl[1] ?? 0, MESSAGE_BYTES))).toString('utf8'));
  }
  Buffer.from(outSab, 0, out.length).copy(out);
}
