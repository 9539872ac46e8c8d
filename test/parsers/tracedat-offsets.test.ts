// trace.dat evidence cites each record's own place (issue 14: every finding pointed at the
// same byte offset, that of the compressed chunk): uncompressed data gives the record's
// file offset, where its ring-buffer event header is (the record's common_type then follows
// 4 bytes on: spec trace-formats §5.7); compressed data gives the chunk's offset plus the
// record's offset inside the decompressed chunk; both give the CPU. The fixtures are one
// lab run written twice (v7 without compression, v7 zlib): the same records at the same
// offsets inside their pages.

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTraceDat } from '../../parsers/tracedat/index.js';
import type { ParserSink, Source } from '../../src/record/types.js';
import { formatSource } from '../../src/report/terminal.js';

const root = resolve(import.meta.dirname, '../..');
const RAW = join(root, 'test/fixtures/samples/trace-cmd/vfio-mig-v7-nocompress.dat');
const ZLIB = join(root, 'test/fixtures/tracedat/vfio-mig-v7-zlib.dat');

async function sources(file: string): Promise<Source[]> {
  const out: Source[] = [];
  const sink: ParserSink = { record: (r) => out.push(r.src), skipped: () => undefined, malformed: () => undefined, clock: () => undefined };
  await parseTraceDat(file, sink);
  return out.filter((s) => s.byteOffset !== undefined && s.cpu !== undefined);
}

const key = (s: Source): string => `${s.cpu}:${s.byteOffset}:${s.chunkOffset ?? ''}`;

describe('trace.dat record offsets', () => {
  it('uncompressed: every record its own file offset, an event header of a record there, and its CPU', async () => {
    const srcs = await sources(RAW);
    expect(srcs.length).toBeGreaterThan(10);
    expect(new Set(srcs.map(key)).size).toBe(srcs.length);
    const bytes = readFileSync(RAW);
    for (const s of srcs) {
      expect(s.chunkOffset).toBeUndefined();
      const off = s.byteOffset ?? 0;
      const typeLen = bytes.readUInt32LE(off) & 0x1f;
      // a data record: type_len 1..28 (length in words), or 0 (length in the next word)
      expect(typeLen).toBeLessThanOrEqual(28);
    }
    expect(formatSource(srcs[0] as Source)).toMatch(/vfio-mig-v7-nocompress\.dat@\d+ cpu \d+$/);
  });

  it('compressed: the chunk, the offset inside it (distinct per record), the CPU; the same page positions as uncompressed', async () => {
    const z = await sources(ZLIB);
    const raw = await sources(RAW);
    expect(new Set(z.map(key)).size).toBe(z.length);
    expect(new Set(z.map((s) => s.byteOffset)).size).toBeLessThan(z.length); // many records share a chunk…
    for (const s of z) expect(s.chunkOffset).toBeDefined(); // …and are told apart inside it
    const PAGE = 4096;
    expect(z.map((s) => (s.chunkOffset ?? 0) % PAGE)).toEqual(raw.map((s) => (s.byteOffset ?? 0) % PAGE));
    expect(z.map((s) => s.cpu)).toEqual(raw.map((s) => s.cpu));
    expect(formatSource(z[0] as Source)).toMatch(/vfio-mig-v7-zlib\.dat@\d+\+\d+ cpu \d+$/);
  });
});
