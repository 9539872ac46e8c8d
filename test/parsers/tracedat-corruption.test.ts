// Untrusted trace.dat input: truncation, flipped page-header bits, absurd lengths, unknown
// event ids, corrupt compression, option loops, wrong magic. Never a crash or hang;
// every problem is counted with a byte offset; records before the damage survive.
import * as fs from 'node:fs';
import { describe, expect, test } from 'vitest';
import type { TraceRecord } from '../../src/record/types.js';
import { bufferSource, TraceDatError } from '../../parsers/tracedat/byte-source.js';
import { parseTraceDatSource } from '../../parsers/tracedat/index.js';
import { collector, splitV7, writeV7 } from './tracedat-helpers.js';

const S = new URL('../fixtures/samples/trace-cmd/', import.meta.url).pathname;
const V6 = fs.readFileSync(`${S}vfio-mig-v6.dat`);
const V7 = fs.readFileSync(`${S}vfio-mig-v7-nocompress.dat`);
const ZSTD = fs.readFileSync(`${S}vfio-mig-default-v7-zstd.dat`);
const ZLIB = writeV7(splitV7(`${S}vfio-mig-v7-nocompress.dat`), 'zlib');

async function run(buf: Buffer): Promise<{ out: ReturnType<typeof collector>['out']; fatal: TraceDatError | undefined }> {
  const { sink, out } = collector();
  try {
    await parseTraceDatSource(bufferSource(buf, 'x.dat'), sink);
    return { out, fatal: undefined };
  } catch (e) {
    if (e instanceof TraceDatError) return { out, fatal: e };
    throw e; // anything else is a crash: fails the test
  }
}
const key = (r: TraceRecord): string => `${r.kind}@${r.tsNs}@${r.cpu}`;

describe('fatal cases throw TraceDatError with an offset', () => {
  test('wrong magic', async () => {
    const b = Buffer.from(V7);
    b[1] = 0x09;
    const r = await run(b);
    expect(r.fatal?.byteOffset).toBe(0);
    expect(r.fatal?.message).toMatch(/wrong magic/);
  });
  test('text file and empty file', async () => {
    expect((await run(Buffer.from('# tracer: nop\n'))).fatal?.message).toMatch(/wrong magic/);
    expect((await run(Buffer.alloc(0))).fatal?.message).toMatch(/wrong magic/);
  });
  test('unsupported version, big endian, absurd page size', async () => {
    const v = Buffer.from(V7);
    v[10] = 0x38; // "8"
    expect((await run(v)).fatal?.message).toMatch(/unsupported trace.dat version "8"/);
    const be = Buffer.from(V7);
    be[12] = 1;
    expect((await run(be)).fatal?.byteOffset).toBe(12);
    const ps = Buffer.from(V7);
    ps.writeUInt32LE(12345, 14);
    expect((await run(ps)).fatal?.message).toMatch(/absurd page size/);
  });
  test('options chain loop', async () => {
    // The first options section's DONE points at itself: make the second link loop back.
    const b = Buffer.from(V7);
    const first = Number(b.readBigUInt64LE(24));
    const size = Number(b.readBigUInt64LE(first + 8));
    b.writeBigUInt64LE(BigInt(first), first + 16 + size - 8);
    const r = await run(b);
    expect(r.out.problems.some((p) => /loops back/.test(p.message))).toBe(true);
    expect(r.fatal === undefined || r.fatal.message.includes('loops')).toBe(true);
  });
});

describe('truncation at many offsets', () => {
  for (const [name, full] of [['v6', V6], ['v7', V7], ['v7-zstd', ZSTD], ['v7-zlib', ZLIB]] as const) {
    test(name, async () => {
      const whole = await run(full);
      expect(whole.fatal).toBeUndefined();
      const all = new Set(whole.out.records.map(key));
      const cuts = new Set<number>();
      for (let i = 1; i < 97; i++) cuts.add(Math.floor((full.length * i) / 97));
      for (let o = full.length - 8200; o < full.length; o += 97) cuts.add(o);
      let recovered = 0;
      for (const cut of cuts) {
        const r = await run(full.subarray(0, cut));
        if (r.fatal !== undefined) {
          expect(r.fatal.byteOffset).toBeGreaterThanOrEqual(0);
          expect(r.fatal.byteOffset).toBeLessThanOrEqual(cut + 16);
          continue;
        }
        // every record is a real one (or a call whose exit was cut off: same key)
        for (const rec of r.out.records) {
          if (rec.cpu !== undefined) expect(all.has(key(rec))).toBe(true);
        }
        expect(r.out.problems.length).toBeGreaterThan(0);
        for (const p of r.out.problems) expect(typeof p.src.byteOffset).toBe('number');
        if (r.out.records.length > 0) recovered++;
      }
      expect(recovered).toBeGreaterThan(3);
    });
  }

  test('v6 cut inside CPU 1 data: all of CPU 0 survives, CPU 1 up to the cut', async () => {
    const whole = await run(V6);
    const cut = 0xb000 + 0x80; // CPU 1's page at 0xb000
    const r = await run(V6.subarray(0, cut));
    const got = new Set(r.out.records.map(key));
    const cpu0 = whole.out.records.filter((x) => x.cpu === 0);
    expect(cpu0.length).toBeGreaterThan(20);
    for (const x of cpu0) expect(got.has(key(x))).toBe(true);
    expect(r.out.records.some((x) => x.cpu === 1)).toBe(true);
    expect(r.out.problems.some((p) => /truncated/.test(p.message) && p.src.byteOffset !== undefined)).toBe(true);
  });

  test('v7 cut inside the data: records before the cut are recovered (CPU unknown)', async () => {
    const r = await run(V7.subarray(0, 45056 + 2000)); // into CPU 1's page
    expect(r.fatal).toBeUndefined();
    expect(r.out.problems.some((p) => /BUFFER option missing/.test(p.message))).toBe(true);
    expect(r.out.records.filter((x) => x.kind === 'access').length).toBeGreaterThan(15);
    expect(r.out.records.every((x) => x.cpu === undefined)).toBe(true);
  });
});

describe('damaged pages: skipped with offset, neighbours kept', () => {
  // v6: CPU 0 page at 0xa000, CPU 1 page at 0xb000; commit word at +8.
  test('bit flips in the commit word of CPU 1 page', async () => {
    const whole = await run(V6);
    const cpu0 = whole.out.records.filter((x) => x.cpu === 0).map(key);
    for (const bit of [27, 28, 29, 40, 63, 26, 20, 12, 10, 9]) {
      const b = Buffer.from(V6);
      const at = 0xb000 + 8 + (bit >> 3);
      b[at] = (b[at] ?? 0) ^ (1 << (bit & 7));
      const r = await run(b);
      expect(r.fatal).toBeUndefined();
      const got = new Set(r.out.records.map(key));
      for (const k of cpu0) expect(got.has(k)).toBe(true);
      if (bit >= 12) {
        // flag garbage, or a size beyond the page: the whole page is skipped
        expect(r.out.problems.map((p) => p.src.byteOffset)).toEqual([0xb008]);
        expect(r.out.problems[0]?.message).toMatch(/bad page header/);
        expect(r.out.records.filter((x) => x.cpu === 1)).toEqual([]);
      } else {
        // a larger size that still fits walks into the page's unused tail: the records
        // before it are kept; whatever the tail holds is reported with offsets, not thrown
        expect(r.out.records.filter((x) => x.cpu === 1).length).toBe(whole.out.records.filter((x) => x.cpu === 1).length);
        for (const p of r.out.problems) expect(p.src.byteOffset).toBeGreaterThan(0xb000);
      }
    }
  });

  test('clean file: no problems (the checks stay quiet)', async () => {
    for (const f of [V6, V7, ZSTD, ZLIB]) expect((await run(f)).out.problems).toEqual([]);
  });

  test('absurd record length word and bad type_len in CPU 0 page: rest of page skipped, CPU 1 intact', async () => {
    const whole = await run(V6);
    const cpu1 = whole.out.records.filter((x) => x.cpu === 1).map(key);
    const b = Buffer.from(V6);
    // find the first type_len-0 entry (the long print) in CPU 0's page and make its length absurd
    let p = 0xa000 + 16;
    const end = 0xa000 + 16 + (b.readUInt32LE(0xa008) & 0x7ffffff);
    let before = 0;
    while (p < end) {
      const w = b.readUInt32LE(p);
      const tl = w & 31;
      if (tl === 0) break;
      if (tl <= 28) before++;
      p += tl <= 28 ? 4 + tl * 4 : 8;
    }
    expect(p).toBeLessThan(end);
    b.writeUInt32LE(0x7fffff00, p + 4);
    const r = await run(b);
    expect(r.out.problems).toHaveLength(1);
    expect(r.out.problems[0]?.src.byteOffset).toBe(p);
    expect(r.out.problems[0]?.message).toMatch(/runs past the page data/);
    // Where it sits on the trace clock (InputProblem.tsNs): the last event read before it.
    const t = r.out.problems[0]?.tsNs;
    expect(typeof t).toBe('bigint');
    expect(r.out.records.some((x) => x.tsNs === t)).toBe(true);
    const got = new Set(r.out.records.map(key));
    for (const k of cpu1) expect(got.has(k)).toBe(true);
    expect(r.out.records.filter((x) => x.cpu === 0).length).toBeGreaterThan(0);
    expect(before).toBeGreaterThan(10);
  });

  test('unknown event id: counted with its offset, other records kept', async () => {
    const whole = await run(V6);
    const b = Buffer.from(V6);
    const rec = 0xb000 + 16 + 4; // first record of CPU 1 (sys_enter_ioctl)
    b.writeUInt16LE(65000, rec);
    const r = await run(b);
    expect(r.out.problems).toHaveLength(1);
    expect(r.out.problems[0]?.src.byteOffset).toBe(rec - 4);
    expect(r.out.problems[0]?.message).toMatch(/unknown event id 65000/);
    // the ioctl whose entry was damaged is lost; its exit alone is skipped; the rest pair up
    expect(r.out.records.length).toBe(whole.out.records.length - 1);
    expect(r.out.skipped).toBe(whole.out.skipped + 1);
  });

  test('corrupt zstd chunk and corrupt zlib section: reported with offsets, no throw escapes', async () => {
    const z = Buffer.from(ZSTD);
    const cpu0 = 1019904; // per decoded.txt: CPU 0 data offset in the zstd sample
    z[cpu0 + 4 + 8 + 20] = (z[cpu0 + 4 + 8 + 20] ?? 0) ^ 0xff;
    z[cpu0 + 4 + 8 + 40] = (z[cpu0 + 4 + 8 + 40] ?? 0) ^ 0x55;
    const r = await run(z);
    expect(r.fatal).toBeUndefined();
    expect(r.out.problems.length).toBeGreaterThan(0);
    expect(r.out.records.some((x) => x.cpu === 1 || x.cpu === 0)).toBe(true);
    // zlib: break the first compressed metadata section (HEADER_INFO) → fatal with offset
    const zl = Buffer.from(ZLIB);
    const sec = zl.indexOf(Buffer.from([16, 0, 1, 0]));
    zl[sec + 16 + 8 + 3] = (zl[sec + 16 + 8 + 3] ?? 0) ^ 0xff;
    const r2 = await run(zl);
    expect(r2.fatal?.message).toMatch(/zlib/);
    expect(r2.fatal?.byteOffset).toBe(sec + 16 + 8);
  });

  test('absurd chunk sizes and CPU data offsets', async () => {
    const z = Buffer.from(ZSTD);
    const cpu0 = 1019904;
    z.writeUInt32LE(0xfffffff0, cpu0 + 4); // zsize
    const r = await run(z);
    expect(r.out.problems.some((p) => p.src.byteOffset === cpu0 + 4 && /absurd chunk header/.test(p.message))).toBe(true);
    expect(r.out.records.some((x) => x.cpu === 1)).toBe(true);
    const c = Buffer.from(ZSTD);
    c.writeUInt32LE(0xffffffff, cpu0); // chunk count
    const r2 = await run(c);
    expect(r2.fatal).toBeUndefined();
    expect(r2.out.problems.length).toBeGreaterThan(0);
  });
});
