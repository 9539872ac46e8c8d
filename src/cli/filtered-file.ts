// An ftrace text file analysed on both cores: a worker thread (line-filter-worker.ts) reads
// it and takes out the lines the parser would only count as skipped
// (parsers/line-filter.ts), while this thread parses, decodes, tracks and checks the lines
// it kept. The worker stays a few blocks ahead; blocks come back in file order.
//
// When to use it (pipeline.ts): a regular file of ftrace text of FILTER_MIN_BYTES or more
// (the worker's start, ≈ 30 ms, is not worth it below) whose first lines are at least
// FILTER_MIN_SHARE lines of no interest. MIGSCOPE_LINE_FILTER overrides that
// choice (docs/architecture.md): "off" reads every file as before (parsers/lines.ts),
// "thread" filters any file on the worker, "inline" filters on this thread (what the tests
// of the block format run under vitest, where the worker's compiled file does not exist).

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createLineFeeder, type FeedOptions } from '../../parsers/lines.js';
import { createBlockReader, feedBlock, FILTER_BLOCK_BYTES, type LineBlock } from '../../parsers/line-filter.js';
import type { LineParser } from '../record/types.js';

/** Files smaller than this are read as before, on this thread alone. */
export const FILTER_MIN_BYTES = 8 << 20;

/**
 * Auto mode filters on the worker when at least this share of the file's first lines would
 * be taken out (line-filter.ts skippableShare): where nearly every line is migration
 * traffic the worker has nothing to take off this thread and costs its memory (≈ 10 MB).
 */
export const FILTER_MIN_SHARE = 0.25;

/** Blocks asked for ahead of the one being analysed (each FILTER_BLOCK_BYTES of memory). */
const AHEAD = 3;

/** A request to the worker: one more block, into `buf` (a block's buffer given back) when set. */
export interface BlockRequest {
  readonly buf?: ArrayBuffer;
}

/** The worker's answer: a block (its buffers transferred), the end of the file, or why it could not read on. */
export type BlockAnswer =
  | (Omit<LineBlock, 'buf'> & { readonly buf: ArrayBuffer })
  | { readonly kind: 'end' }
  | { readonly kind: 'error'; readonly message: string; readonly code: string | undefined };

export type LineFilterMode = 'off' | 'thread' | 'inline' | 'auto';

/** MIGSCOPE_LINE_FILTER, checked: an unknown value is an error, not a silent default. */
export function lineFilterMode(env: NodeJS.ProcessEnv = process.env): LineFilterMode {
  const v = env['MIGSCOPE_LINE_FILTER'];
  if (v === undefined || v === '' || v === 'auto') return 'auto';
  if (v === 'off' || v === 'thread' || v === 'inline') return v;
  throw new Error(`MIGSCOPE_LINE_FILTER=${v}: expected off, thread, inline or auto`);
}

/**
 * How to read a regular file of ftrace text: with the filter on a worker thread, on this
 * thread, or not at all (the line splitter alone). `share`: skippableShare of its first
 * bytes, asked only in auto mode.
 */
export function lineFilterChoice(mode: LineFilterMode, size: number, share: () => number, workerAvailable: boolean): 'thread' | 'inline' | 'off' {
  switch (mode) {
    case 'off':
    case 'inline':
      return mode;
    case 'thread':
      if (!workerAvailable) throw new Error("MIGSCOPE_LINE_FILTER=thread: the line filter thread's compiled file is missing (run npm run build), or set MIGSCOPE_LINE_FILTER=inline");
      return 'thread';
    case 'auto':
      return workerAvailable && size >= FILTER_MIN_BYTES && share() >= FILTER_MIN_SHARE ? 'thread' : 'off';
  }
}

/** The worker's compiled file beside this module (tsc's output) or beside the bundle's chunks; undefined when running from the TypeScript sources. */
export function lineFilterWorkerUrl(): URL | undefined {
  for (const rel of ['./line-filter-worker.js', '../line-filter-worker.js']) {
    const u = new URL(rel, import.meta.url);
    if (existsSync(fileURLToPath(u))) return u;
  }
  return undefined;
}

interface BlockSource {
  /** The next block; undefined at the end of the file or once halted. */
  next(): Promise<LineBlock | undefined>;
  /** The consumer is done with `b`: its buffer may be read into again. */
  release(b: LineBlock): void;
  /** Ends next() (a stop request): it returns undefined from now on. */
  halt(): void;
  close(): Promise<void>;
}

function inlineSource(path: string): BlockSource {
  const reader = createBlockReader(path);
  const buf = Buffer.allocUnsafeSlow(FILTER_BLOCK_BYTES);
  let halted = false;
  return {
    async next() {
      // A turn of the event loop per block, so that a stop request (a signal) is seen.
      await new Promise<void>((resolve) => setImmediate(resolve));
      return halted ? undefined : reader.next(buf);
    },
    release() {},
    halt() {
      halted = true;
    },
    async close() {
      reader.close();
    },
  };
}

/** The worker thread failed (it did not start, or died): not an error of the file's. */
class ThreadFailed extends Error {}

function workerSource(path: string, url: URL): BlockSource {
  const worker = new Worker(url, { workerData: { path } });
  const answers: BlockAnswer[] = [];
  let failure: Error | undefined;
  let finished = false;
  let halted = false;
  let wake: (() => void) | undefined;
  const woken = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  worker.on('message', (m: BlockAnswer) => {
    answers.push(m);
    woken();
  });
  // The thread itself failing (not a read error, which it answers with) is said with what to do.
  const OFF = 'MIGSCOPE_LINE_FILTER=off reads the file without it';
  worker.on('error', (e: Error) => {
    failure ??= new ThreadFailed(`${path}: the line filter thread failed: ${e.message} (${OFF})`);
    woken();
  });
  worker.on('exit', (code) => {
    if (!finished) failure ??= new ThreadFailed(`${path}: the line filter thread stopped (exit code ${code}) before the end of the file (${OFF})`);
    woken();
  });
  for (let i = 0; i < AHEAD; i++) worker.postMessage({} satisfies BlockRequest);
  return {
    async next() {
      for (;;) {
        if (halted) return undefined;
        const m = answers.shift();
        if (m !== undefined) {
          if (m.kind === 'end') {
            finished = true;
            return undefined;
          }
          if (m.kind === 'error') {
            finished = true;
            throw Object.assign(new Error(m.message), { code: m.code });
          }
          return { ...m, buf: Buffer.from(m.buf) };
        }
        if (failure !== undefined) throw failure;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
    release(b) {
      const ab = b.buf.buffer as ArrayBuffer;
      if (!finished) worker.postMessage({ buf: ab } satisfies BlockRequest, [ab]);
    },
    halt() {
      halted = true;
      woken();
    },
    async close() {
      finished = true;
      answers.length = 0; // blocks not asked for any more: their buffers go now, not at the run's end (stop keeps this source)
      await worker.terminate();
    },
  };
}

export interface FilteredFeedOptions extends FeedOptions {
  /** The worker's file (lineFilterWorkerUrl) to filter on a thread of its own; undefined: on this one. */
  readonly worker: URL | undefined;
  /** Resolves on a stop request: what was read so far is analysed, as with untilStopped. */
  readonly stop?: Promise<unknown>;
  /**
   * When the worker fails before its first block, filter on this thread instead (the same
   * lines, only slower) rather than fail: for the automatic choice, where the thread is
   * migscope's idea, not the user's. After a first block the parser has moved on and the
   * failure is the run's.
   */
  readonly fallBack?: boolean;
}

/** Feeds `path` to `parser` (which must have lineBytes and skipLines: the ftrace text parser) through the line filter. */
export async function feedFilteredFile(path: string, parser: LineParser, opts: FilteredFeedOptions): Promise<void> {
  let source = opts.worker !== undefined ? workerSource(path, opts.worker) : inlineSource(path);
  void opts.stop?.then(() => source.halt());
  const feeder = createLineFeeder(parser, { file: opts.file, sink: opts.sink });
  let blocks = 0;
  try {
    for (;;) {
      let b: LineBlock | undefined;
      try {
        b = await source.next();
      } catch (e) {
        if (!(e instanceof ThreadFailed) || opts.fallBack !== true || blocks > 0) throw e;
        await source.close();
        source = inlineSource(path);
        continue;
      }
      if (b === undefined) break;
      blocks++;
      opts.onBytes?.(b.bytes);
      feedBlock(b, feeder, parser);
      source.release(b);
    }
  } finally {
    await source.close();
  }
  feeder.end();
}
