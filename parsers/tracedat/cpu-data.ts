// Where a CPU's ring-buffer pages come from: raw pages read in bounded windows
// (v6 and uncompressed v7), or v7 compressed chunks, one decompressed chunk in memory at
// a time (spec/trace-formats.md §5.6: u32 chunk count, then per chunk u32 zsize,
// u32 usize, zsize bytes of one frame; the per-CPU size in the BUFFER option is 4 bytes
// short in trace-cmd 3.1.6, so chunks are walked by count and bounded by the file).
import { type ByteSource } from './byte-source.js';
import { COMPRESSED_BLOCK_HEADER, type Codec, type PendingBlock, submitBlock } from './compression.js';
import { decodeLayout } from './layout.js';
import { type CpuDataSpec } from './metadata.js';

/** Pages per raw read: bounded memory per CPU, few syscalls. */
const WINDOW_PAGES = 64;
/** trace-cmd writes chunks of at most 10 pages; accept far more, never unbounded. */
export const MAX_CHUNK_BYTES = 64 * 1024 * 1024;

export type ProblemFn = (byteOffset: number, message: string) => void;

/** A cursor over one CPU's pages. After next() returns true, buf[start, start+avail) is the page. */
export interface PageSource {
  next(): boolean;
  buf: Buffer;
  start: number;
  /** Bytes of the page actually present (< pageSize only for a truncated last page). */
  avail: number;
  /** File offset of the page (raw) or of its compressed chunk. */
  fileOffset: number;
  /** True when the page came out of a compressed chunk (offsets inside are not file offsets). */
  readonly compressed: boolean;
  /** Index of the page inside its chunk (compressed), for messages. */
  pageInChunk: number;
  /** On-disk bytes consumed so far (progress). */
  consumed: number;
}

export function rawPages(src: ByteSource, spec: CpuDataSpec, pageSize: number, problem: ProblemFn): PageSource {
  const end = Math.min(spec.offset + spec.size, src.size);
  if (spec.offset + spec.size > src.size) {
    problem(src.size, `CPU ${spec.cpu ?? '?'} data (${spec.size} bytes at byte ${spec.offset}) runs past the end of the file: truncated`);
  }
  const window = Buffer.allocUnsafe(pageSize * WINDOW_PAGES);
  let winFile = spec.offset; // file offset of window[0]
  let winLen = 0;
  let next = spec.offset; // file offset of the next page
  const ps: PageSource = {
    buf: window,
    start: 0,
    avail: 0,
    fileOffset: 0,
    compressed: false,
    pageInChunk: 0,
    consumed: 0,
    next() {
      if (next >= end) return false;
      if (next + pageSize > winFile + winLen) {
        winFile = next;
        winLen = src.readInto(window, 0, next, Math.min(window.length, end - next));
        if (winLen === 0) return false;
      }
      ps.start = next - winFile;
      ps.avail = Math.min(pageSize, winFile + winLen - next);
      ps.fileOffset = next;
      if (ps.avail < pageSize) {
        problem(next, `CPU ${spec.cpu ?? '?'}: last page has only ${ps.avail} of ${pageSize} bytes (truncated)`);
      }
      next += pageSize;
      ps.consumed = Math.min(next, end) - spec.offset;
      return true;
    },
  };
  return ps;
}

/** A chunk read from the file and handed to the decoder; its problems wait for their turn. */
interface ReadChunk {
  readonly at: number;
  /** File offset just past the chunk (progress once it is parsed). */
  readonly endPos: number;
  readonly block: PendingBlock | undefined;
  /** Problems found reading it, reported when the chunk is taken (records stay in order). */
  readonly problems: readonly [number, string][];
}

export function compressedPages(src: ByteSource, spec: CpuDataSpec, pageSize: number, codec: Codec, problem: ProblemFn): PageSource {
  const cpu = spec.cpu ?? '?';
  const hdr = Buffer.alloc(8);
  let pos = spec.offset;
  let chunksLeft = 0;
  if (src.readInto(hdr, 0, pos, 4) === 4) {
    chunksLeft = hdr.readUInt32LE(0);
    pos += 4;
  } else {
    problem(pos, `CPU ${cpu}: compressed data has no chunk count (truncated)`);
  }
  /** Reads the chunk at `pos` and submits it; undefined when no chunk is left to read. */
  const readChunk = (): ReadChunk | undefined => {
    if (chunksLeft === 0) return undefined;
    chunksLeft--;
    const at = pos;
    const stop = (message: string): ReadChunk => {
      chunksLeft = 0;
      return { at, endPos: pos, block: undefined, problems: [[at, message]] };
    };
    if (src.readInto(hdr, 0, pos, 8) !== 8) return stop(`CPU ${cpu}: chunk header cut off by the end of the file (truncated; ${chunksLeft + 1} chunks missing)`);
    const h = decodeLayout(COMPRESSED_BLOCK_HEADER, hdr, 0);
    const zsize = h?.num('csize') ?? 0;
    const usize = h?.num('usize') ?? 0;
    if (zsize > MAX_CHUNK_BYTES || usize > MAX_CHUNK_BYTES || usize % pageSize !== 0) {
      return stop(`CPU ${cpu}: absurd chunk header (compressed ${zsize}, uncompressed ${usize} bytes); rest of this CPU's data skipped`);
    }
    if (pos + 8 + zsize > src.size) return stop(`CPU ${cpu}: chunk of ${zsize} bytes runs past the end of the file (truncated)`);
    const input = Buffer.allocUnsafe(zsize);
    src.readInto(input, 0, pos + 8, zsize);
    pos += 8 + zsize;
    return { at, endPos: pos, block: submitBlock(codec, input, usize), problems: [] };
  };
  // The chunk after the one being parsed, already with the decoder (the overlap).
  let ahead: ReadChunk | undefined;
  let chunk: Buffer = Buffer.alloc(0);
  let chunkAt = 0;
  let pageAt = 0; // offset of the next page inside `chunk`
  const ps: PageSource = {
    buf: chunk,
    start: 0,
    avail: 0,
    fileOffset: 0,
    compressed: true,
    pageInChunk: 0,
    consumed: 0,
    next() {
      while (pageAt >= chunk.length) {
        const c = ahead ?? readChunk();
        ahead = undefined;
        if (c === undefined) return false;
        for (const [at, message] of c.problems) problem(at, message);
        if (c.block === undefined) return false;
        chunkAt = c.at;
        ps.consumed = c.endPos - spec.offset;
        try {
          chunk = c.block.take();
        } catch (e) {
          problem(chunkAt, `CPU ${cpu}: chunk skipped: ${e instanceof Error ? e.message : String(e)}`);
          chunk = Buffer.alloc(0);
        }
        ahead = readChunk();
        pageAt = 0;
        ps.pageInChunk = -1;
      }
      ps.buf = chunk;
      ps.start = pageAt;
      ps.avail = pageSize;
      ps.fileOffset = chunkAt;
      ps.pageInChunk++;
      pageAt += pageSize;
      return true;
    },
  };
  return ps;
}
