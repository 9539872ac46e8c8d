// An event format whose stored size does not match its text (trace-cmd wrote the size, then
// copied a format file that another tracer changed meanwhile; issue 14): the formats after
// it, and the records that use them, are still read, with a problem at the record's byte.
import * as fs from 'node:fs';
import { describe, expect, test } from 'vitest';
import { bufferSource, TraceDatError } from '../../parsers/tracedat/byte-source.js';
import { OPT } from '../../parsers/tracedat/sections.js';
import { parseTraceDatSource } from '../../parsers/tracedat/index.js';
import type { TraceRecord } from '../../src/record/types.js';
import { collector, splitV7, writeV7 } from './tracedat-helpers.js';

const S = new URL('../fixtures/samples/trace-cmd/', import.meta.url).pathname;
const V6 = fs.readFileSync(`${S}vfio-mig-v6.dat`);
const V7 = fs.readFileSync(`${S}vfio-mig-v7-nocompress.dat`);

async function run(buf: Buffer): Promise<{ records: TraceRecord[]; problems: { src?: { byteOffset?: number }; message: string }[]; fatal: TraceDatError | undefined }> {
  const { sink, out } = collector();
  try {
    await parseTraceDatSource(bufferSource(buf, 'x.dat'), sink);
    return { records: out.records, problems: out.problems as { src?: { byteOffset?: number }; message: string }[], fatal: undefined };
  } catch (e) {
    if (e instanceof TraceDatError) return { records: out.records, problems: out.problems as { src?: { byteOffset?: number }; message: string }[], fatal: e };
    throw e;
  }
}

/** File offset of the size field of format `name` (the sample's sections are uncompressed). */
function formatAt(buf: Buffer, name: string): number {
  const h = buf.indexOf(Buffer.from(`name: ${name}\n`, 'latin1'));
  if (h < 8) throw new Error(`no format ${name}`);
  return h - 8;
}

/** A copy whose format `name` has a stored size off by `delta` (its text unchanged). */
function withSizeOff(buf: Buffer, name: string, delta: number | bigint): Buffer {
  const b = Buffer.from(buf);
  const at = formatAt(b, name);
  const v = typeof delta === 'bigint' ? delta : b.readBigUInt64LE(at) + BigInt(delta);
  b.writeBigUInt64LE(v, at);
  return b;
}

const json = (r: readonly TraceRecord[]): string => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));

/** Parses `damaged`, which must read without a fatal error and give `clean`'s records exactly; its size-mismatch problems. */
async function recovered(damaged: Buffer, clean: { readonly records: readonly TraceRecord[] }): Promise<{ src?: { byteOffset?: number }; message: string }[]> {
  const r = await run(damaged);
  expect(r.fatal).toBeUndefined();
  expect(json(r.records)).toBe(json(clean.records));
  return r.problems.filter((x) => /does not match its text/.test(x.message));
}

describe('a format whose stored size does not match its text', async () => {
  const clean7 = await run(V7);
  const clean6 = await run(V6);

  test('the clean samples read with no format problem (the check stays quiet)', () => {
    expect(clean7.fatal).toBeUndefined();
    expect(clean6.fatal).toBeUndefined();
    expect(clean7.records.length).toBeGreaterThan(20);
    expect([...clean7.problems, ...clean6.problems].filter((p) => /format/.test(p.message))).toEqual([]);
  });

  for (const [version, file, clean] of [['v7', V7, clean7], ['v6', V6, clean6]] as const) {
    for (const delta of [+37, -37, 0x4141414141414141n]) {
      test(`${version}: inside the list (sys_enter_pwrite64, size ${typeof delta === 'bigint' ? 'ASCII garbage' : delta > 0 ? '37 too big' : '37 too small'}): every record kept`, async () => {
        const p = await recovered(withSizeOff(file, 'sys_enter_pwrite64', delta), clean);
        expect(p).toHaveLength(1);
        expect(p[0]?.src?.byteOffset).toBe(formatAt(file, 'sys_enter_pwrite64'));
        expect(p[0]?.message).toMatch(/event format 1 of 6 of system "syscalls"/);
      });
    }

    test(`${version}: the last ftrace format before the systems (bprint): every record kept`, async () => {
      for (const delta of [+37, -37]) {
        expect(await recovered(withSizeOff(file, 'bprint', delta), clean)).toHaveLength(1);
      }
    });
  }

  test('v7: the last format of its section (sys_exit_ioctl) too big or too small: every record kept', async () => {
    for (const delta of [+37, -37, 0x4141414141414141n]) {
      expect(await recovered(withSizeOff(V7, 'sys_exit_ioctl', delta), clean7)).toHaveLength(1);
    }
  });

  test('v7: the last format of a system followed by another system', async () => {
    // EVENT_FORMATS rebuilt as two systems: syscalls (the pwrite64/pread64 formats) and a
    // second one holding the ioctl formats, so a system boundary follows sys_exit_pread64.
    const pieces = splitV7(`${S}vfio-mig-v7-nocompress.dat`);
    const ev = pieces.meta.get(OPT.EVENT_FORMATS)!;
    const recs: Buffer[] = [];
    let p = 4 + 'syscalls\0'.length + 4;
    for (let i = 0; i < 6; i++) {
      const size = Number(ev.readBigUInt64LE(p));
      recs.push(ev.subarray(p, p + 8 + size));
      p += 8 + size;
    }
    const u32 = (v: number): Buffer => {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(v);
      return b;
    };
    const two = Buffer.concat([u32(2), Buffer.from('syscalls\0'), u32(4), ...recs.slice(0, 4), Buffer.from('syscalls\0'), u32(2), ...recs.slice(4)]);
    const file = writeV7({ ...pieces, meta: new Map([...pieces.meta, [OPT.EVENT_FORMATS, two]]) }, 'none');
    const clean = await run(file);
    expect(clean.fatal).toBeUndefined();
    expect(json(clean.records)).toBe(json(clean7.records));
    expect(clean.problems.filter((x) => /format/.test(x.message))).toEqual([]);
    for (const delta of [+37, -37]) {
      const m = await recovered(withSizeOff(file, 'sys_exit_pread64', delta), clean7);
      expect(m).toHaveLength(1);
      expect(m[0]?.message).toMatch(/event format 4 of 4 of system "syscalls"/);
    }
  });

  test('v7: a list that ends before its count says (a system header where a format was due)', async () => {
    const b = Buffer.from(V7);
    // The syscalls count says 7 where 6 follow: the section's end comes where a 7th was due.
    const at = formatAt(b, 'sys_enter_pwrite64') - 4;
    expect(b.readUInt32LE(at)).toBe(6);
    b.writeUInt32LE(7, at);
    const r = await run(b);
    expect(r.fatal).toBeUndefined();
    // The 6 formats are read; the missing 7th is reported, not invented.
    expect(json(r.records)).toBe(json(clean7.records));
    expect(r.problems.some((x) => /event format 7 of 7 of system "syscalls"/.test(x.message) || /ends after 6 of its 7 formats/.test(x.message))).toBe(true);
  });

  test('v6: the last format of the file (followed by kallsyms): every record kept', async () => {
    for (const delta of [+37, -37, 0x4141414141414141n]) {
      const m = await recovered(withSizeOff(V6, 'sys_exit_ioctl', delta), clean6);
      expect(m).toHaveLength(1);
      expect(m[0]?.src?.byteOffset).toBe(formatAt(V6, 'sys_exit_ioctl'));
    }
  });

  test('v6: the last format with nothing recognisable after it stays a clear error at its byte', async () => {
    // The kallsyms block's size is made absurd as well: no structure follows the text.
    const b = withSizeOff(V6, 'sys_exit_ioctl', 0x4141414141414141n);
    const at = formatAt(V6, 'sys_exit_ioctl');
    const end = at + 8 + Number(V6.readBigUInt64LE(at));
    b.writeUInt32LE(0xffffff00, end);
    const r = await run(b);
    expect(r.fatal).toBeInstanceOf(TraceDatError);
    expect(r.fatal?.byteOffset).toBe(at);
    expect(r.fatal?.message).toMatch(/format size/);
  });
});
