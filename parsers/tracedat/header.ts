// The initial file header of trace.dat, both versions (spec/trace-formats.md §5.2, and
// for v7 the compression header of §5.4; trace-cmd lib/trace-cmd/trace-output.c
// tracecmd_output_write_headers / trace-input.c read_header_files).
import { type ByteSource, TraceDatError } from './byte-source.js';
import { decodeLayout, defineLayout } from './layout.js';

/** §5.2: magic 17 08 44, "tracing", version\0, endian, long size, page size. */
export const FILE_HEADER = defineLayout([
  { name: 'magic0', type: 'u8' },
  { name: 'magic1', type: 'u8' },
  { name: 'magic2', type: 'u8' },
  { name: 'tracing', type: 'chars', length: 7 },
  { name: 'version', type: 'cstr' },
  { name: 'endian', type: 'u8' },
  { name: 'longSize', type: 'u8' },
  { name: 'pageSize', type: 'u32' },
]);

/** §5.4: v7 only, right after FILE_HEADER. */
export const V7_COMPRESSION_HEADER = defineLayout([
  { name: 'compression', type: 'cstr' },
  { name: 'compressionVersion', type: 'cstr' },
  { name: 'firstOptionsOffset', type: 'u64' },
]);

export const MAGIC = Buffer.from([0x17, 0x08, 0x44, ...Buffer.from('tracing', 'latin1')]);

/** True when `head` starts with the trace.dat magic (17 08 44 "tracing"). */
export function detectTraceDat(head: Buffer): boolean {
  return head.length >= MAGIC.length && head.subarray(0, MAGIC.length).equals(MAGIC);
}

export interface FileHeader {
  readonly version: 6 | 7;
  readonly longSize: 4 | 8;
  readonly pageSize: number;
  /** v7: "none", "zstd", "zlib"; v6: "none". */
  readonly compression: string;
  /** v7: offset of the first OPTIONS section; v6: undefined. */
  readonly firstOptionsOffset: bigint | undefined;
  /** Offset of the first byte after the header (v6 metadata / v7 first section). */
  readonly end: number;
}

/** Parse the header; anything wrong here is fatal (nothing else can be located). */
export function readFileHeader(src: ByteSource): FileHeader {
  const head = Buffer.alloc(Math.min(src.size, 256));
  src.readInto(head, 0, 0, head.length);
  if (!detectTraceDat(head)) {
    throw new TraceDatError('not a trace.dat file: wrong magic (expected 17 08 44 "tracing")', 0);
  }
  const h = decodeLayout(FILE_HEADER, head, 0);
  if (h === undefined || h.length > head.length) throw new TraceDatError('file header is truncated', 0);
  const version = h.str('version');
  if (version !== '6' && version !== '7') {
    throw new TraceDatError(`unsupported trace.dat version "${version}" (6 and 7 are supported)`, 10);
  }
  const endianAt = 10 + version.length + 1;
  if (h.num('endian') !== 0) {
    throw new TraceDatError('big-endian trace.dat files are not supported', endianAt);
  }
  const longSize = h.num('longSize');
  if (longSize !== 4 && longSize !== 8) {
    throw new TraceDatError(`long size ${longSize} is neither 4 nor 8`, endianAt + 1);
  }
  const pageSize = h.num('pageSize');
  // The kernel's sub-buffer size is a power of two between 4 KiB and 1 MiB (ring_buffer
  // subbuf_order); anything else is corruption.
  if (pageSize < 256 || pageSize > 16 * 1024 * 1024 || (pageSize & (pageSize - 1)) !== 0) {
    throw new TraceDatError(`absurd page size ${pageSize}`, endianAt + 2);
  }
  if (version === '6') {
    return { version: 6, longSize, pageSize, compression: 'none', firstOptionsOffset: undefined, end: h.length };
  }
  const c = decodeLayout(V7_COMPRESSION_HEADER, head, h.length);
  if (c === undefined || h.length + c.length > head.length) {
    throw new TraceDatError('v7 compression header is truncated', h.length);
  }
  return {
    version: 7,
    longSize,
    pageSize,
    compression: c.str('compression'),
    firstOptionsOffset: c.big('firstOptionsOffset'),
    end: h.length + c.length,
  };
}
