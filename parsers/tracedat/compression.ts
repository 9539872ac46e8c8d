// Compressed blocks of trace.dat v7 (spec/trace-formats.md §5.4, §5.6; trace-cmd
// lib/trace-cmd/trace-compress.c tracecmd_compress_block / tracecmd_uncompress_chunk):
// a compressed section payload and each flyrecord chunk is `u32 csize, u32 usize,
// csize bytes of one frame`. zstd is libzstd as WebAssembly in a worker (zstd-guard.ts:
// Node 20 has no zstd); zlib (a zlib stream with header, as compress2 writes it) from node:zlib.
import * as zlib from 'node:zlib';
import { defineLayout } from './layout.js';
import { zstdSubmit } from './zstd-guard.js';

/** §5.4/§5.6 header in front of every compressed frame. */
export const COMPRESSED_BLOCK_HEADER = defineLayout([
  { name: 'csize', type: 'u32' },
  { name: 'usize', type: 'u32' },
]);

export type Codec = 'zstd' | 'zlib';

/** The codec for a v7 header's compression name; undefined for "none"; throws for others. */
export function codecOf(name: string): Codec | undefined {
  switch (name) {
    case 'none':
    case '':
      return undefined;
    case 'zstd':
    case 'zlib':
      return name;
    default:
      throw new Error(`unsupported compression "${name}" (zstd, zlib and none are supported)`);
  }
}

/**
 * zstd frame header check (RFC 8878 §3.1.1): when the frame states its content size it
 * must equal usize. The decoder then writes into a buffer of exactly usize bytes, so a
 * lying frame header can never make it allocate more.
 */
function zstdDeclaredSize(frame: Uint8Array): bigint | undefined {
  if (frame.length < 6) throw new Error('zstd frame shorter than its header');
  if (frame[0] !== 0x28 || frame[1] !== 0xb5 || frame[2] !== 0x2f || frame[3] !== 0xfd) {
    throw new Error('not a zstd frame (bad magic)');
  }
  const fhd = frame[4] ?? 0;
  const singleSegment = (fhd >> 5) & 1;
  const fcsFlag = fhd >> 6;
  const dictFlag = fhd & 3;
  const fcsBytes = fcsFlag === 0 ? singleSegment : 1 << fcsFlag;
  if (fcsBytes === 0) return undefined;
  let p = 5 + (singleSegment ? 0 : 1) + (dictFlag === 3 ? 4 : dictFlag);
  if (p + fcsBytes > frame.length) throw new Error('zstd frame header truncated');
  let v = 0n;
  for (let i = 0; i < fcsBytes; i++) v |= BigInt(frame[p++] ?? 0) << BigInt(8 * i);
  return fcsBytes === 2 ? v + 256n : v;
}

/** A frame on its way to being decompressed (see submitBlock). */
export interface PendingBlock {
  /** The frame's `usize` bytes; throws an Error with a plain message (the caller adds the byte offset). */
  take(): Buffer;
}

const failed = (message: string): PendingBlock => ({
  take(): Buffer {
    throw new Error(message);
  },
});

/**
 * Start decompressing one frame to exactly `usize` bytes. zstd runs in the decoder's
 * thread while the caller goes on (cpu-data.ts submits a CPU's next chunk before parsing
 * the current one); zlib is decoded when taken. Errors surface at take(), in order.
 */
export function submitBlock(codec: Codec, frame: Uint8Array, usize: number): PendingBlock {
  if (usize === 0) return { take: () => Buffer.alloc(0) };
  switch (codec) {
    case 'zstd': {
      let declared: bigint | undefined;
      try {
        declared = zstdDeclaredSize(frame);
      } catch (e) {
        return failed(e instanceof Error ? e.message : String(e));
      }
      if (declared !== undefined && declared !== BigInt(usize)) return failed(`zstd frame declares ${declared} bytes, header says ${usize}`);
      try {
        const job = zstdSubmit(frame, usize);
        return {
          take(): Buffer {
            try {
              return job.take();
            } catch (e) {
              throw new Error(`corrupt zstd data (${e instanceof Error ? e.message : String(e)})`);
            }
          },
        };
      } catch (e) {
        return failed(`corrupt zstd data (${e instanceof Error ? e.message : String(e)})`);
      }
    }
    case 'zlib': {
      // The frame may be a view of a buffer the caller reuses: decode from a copy.
      const copy = Buffer.from(frame);
      return {
        take(): Buffer {
          let out: Buffer;
          try {
            // maxOutputLength bounds the allocation whatever the stream claims.
            out = zlib.inflateSync(copy, { maxOutputLength: usize });
          } catch (e) {
            throw new Error(`corrupt zlib data (${e instanceof Error ? e.message : String(e)})`);
          }
          if (out.length !== usize) throw new Error(`zlib data gives ${out.length} bytes, header says ${usize}`);
          return out;
        },
      };
    }
  }
}

/**
 * Decompress one frame to exactly `usize` bytes. Throws an Error (with a plain message;
 * the caller adds the byte offset) on any mismatch or corrupt data.
 */
export function decompressBlock(codec: Codec, frame: Uint8Array, usize: number): Buffer {
  return submitBlock(codec, frame, usize).take();
}

/** Compress (fixture writer only: zlib; Node 20 cannot write zstd). */
export function compressZlib(data: Buffer): Buffer {
  return zlib.deflateSync(data);
}
