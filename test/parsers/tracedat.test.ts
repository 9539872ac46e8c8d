// parsers/tracedat against trace-cmd itself: every event of every sample (and of
// rebuilt/synthetic files) must agree with `trace-cmd report -R -t` on timestamp, cpu,
// pid, comm, name and every field; TraceRecords are checked against the same events.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import type { TraceRecord } from '../../src/record/types.js';
import { detectTraceDat, parseTraceDat } from '../../parsers/tracedat/index.js';
import { buildPage, collector, compareWithReport, decodeAll, haveTraceCmd, recordBytes, splitV7, traceCmdReport, writeV7 } from './tracedat-helpers.js';

const S = path.resolve(import.meta.dirname, '../fixtures/samples') + '/';
const SAMPLES = [
  'trace-cmd/vfio-mig-v6.dat',
  'trace-cmd/vfio-mig-v7-nocompress.dat',
  'trace-cmd/vfio-mig-default-v7-zstd.dat',
  'trace-cmd/vfio-mig-lost-events-extract.dat',
  'uprobe/uprobe-libc-v7.dat',
].map((f) => S + f);

if (!haveTraceCmd) console.warn('tracedat tests: /usr/bin/trace-cmd missing: comparisons with trace-cmd report skipped');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tracedat-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(!haveTraceCmd)('every event agrees with trace-cmd report -R -t', () => {
  for (const file of SAMPLES) {
    test(path.basename(file), async () => {
      const report = traceCmdReport(file);
      const ours = await decodeAll(file);
      expect(ours.problems).toEqual([]);
      expect(report.length).toBeGreaterThan(50);
      expect(compareWithReport(report, ours.items)).toEqual([]);
    });
  }

  test('the comparison itself catches a wrong field, timestamp and pid', async () => {
    const file = SAMPLES[1] ?? '';
    const report = traceCmdReport(file);
    const ours = await decodeAll(file);
    const first = ours.items[0];
    if (first?.kind !== 'event') throw new Error('expected an event first');
    const f0 = first.fields[1];
    if (f0 === undefined) throw new Error('expected fields');
    const bad = [{ ...first, tsNs: first.tsNs + 1n, pid: first.pid + 1, fields: [first.fields[0], { f: f0.f, v: 12345 }, ...first.fields.slice(2)].filter((x) => x !== undefined) }, ...ours.items.slice(1)];
    const diffs = compareWithReport(report, bad);
    expect(diffs.some((d) => d.includes(': ts ours'))).toBe(true);
    expect(diffs.some((d) => d.includes(': pid'))).toBe(true);
    expect(diffs.some((d) => d.includes(`${f0.f.name} trace-cmd`))).toBe(true);
    expect(compareWithReport(report, ours.items.slice(1))).not.toEqual([]);
  });
});

describe('TraceRecords', () => {
  test('v6, v7 and v7-zstd give the same kinds of records; clock is local', async () => {
    for (const file of SAMPLES.slice(0, 3)) {
      const { sink, out } = collector();
      await parseTraceDat(file, sink);
      expect(out.problems).toEqual([]);
      expect(out.clocks).toEqual(['local']);
      const kinds = out.records.reduce<Record<string, number>>((m, r) => ({ ...m, [r.kind]: (m[r.kind] ?? 0) + 1 }), {});
      expect(kinds).toEqual({ ioctl: 5, marker: 23, access: 22 });
    }
  });

  test('syscall pairs map to access/ioctl records with ret, exact offsets, no value', async () => {
    const file = SAMPLES[0] ?? '';
    const { sink, out } = collector();
    await parseTraceDat(file, sink);
    const ours = await decodeAll(file);
    const enters = ours.items.filter((e) => e.kind === 'event' && e.name.startsWith('sys_enter_'));
    const calls = out.records.filter((r) => r.kind === 'access' || r.kind === 'ioctl');
    expect(calls.length).toBe(enters.length);
    for (let i = 0; i < calls.length; i++) {
      const r = calls[i];
      const e = enters[i];
      if (r === undefined || e?.kind !== 'event') throw new Error('missing');
      expect(r.tsNs).toBe(e.tsNs);
      expect(r.tid).toBe(e.pid);
      expect(r.cpu).toBe(e.cpu);
      expect(r.comm).toBe(e.comm);
      const field = (n: string): unknown => e.fields.find((x) => x.f.name === n)?.v;
      expect(BigInt(r.fd)).toBe(field('fd'));
      if (r.kind === 'access') {
        expect(r.offset).toBe(field('pos'));
        expect(BigInt(r.size)).toBe(field('count'));
        expect(r.value).toBeUndefined();
        expect(r.ret).toBe(r.size);
      } else {
        expect(BigInt(r.cmd)).toBe(field('cmd'));
        expect(r.arg).toBe(field('arg'));
        expect(r.ret).toBe(-25); // ENOTTY, stored as 0xffffffffffffffe7
      }
    }
    const first = calls.find((r) => r.kind === 'access');
    expect(first?.kind === 'access' && first.offset).toBe(0x90000000000n);
  });

  test('print events become markers without the trailing newline, long (length-word) one included', async () => {
    const { sink, out } = collector();
    await parseTraceDat(SAMPLES[2] ?? '', sink);
    const markers = out.records.filter((r) => r.kind === 'marker');
    expect(markers[0]?.kind === 'marker' && markers[0].text).toBe('vfio_migration_probe  (0000:65:00.0) Region 9');
    const long = markers.find((m) => m.kind === 'marker' && m.text.includes('precopy dirty size'));
    expect(long?.kind === 'marker' && long.text.length).toBeGreaterThan(112);
    expect(markers.every((m) => m.kind === 'marker' && !m.text.endsWith('\n'))).toBe(true);
  });

  test('lost events: CPU 1 1233 and CPU 0 1389, each right before its page first record', async () => {
    const { sink, out } = collector();
    await parseTraceDat(SAMPLES[3] ?? '', sink);
    const lost = out.records.filter((r) => r.kind === 'lost-events');
    expect(lost.map((r) => [r.cpu, r.kind === 'lost-events' ? r.count : -1])).toEqual([[1, 1233], [0, 1389]]);
    const i = out.records.indexOf(lost[0] ?? out.records[0]!);
    expect(out.records[i + 1]?.cpu).toBe(1);
    expect(out.records[i + 1]?.tsNs).toBe(lost[0]?.tsNs);
  });

  test('uprobe-only trace: pwrite64 values from val_u32 (count 4), reads without value, libc ret -1 unknown', async () => {
    const { sink, out } = collector();
    await parseTraceDat(SAMPLES[4] ?? '', sink);
    expect(out.problems).toEqual([]);
    const writes = out.records.filter((r) => r.kind === 'access' && r.op === 'pwrite');
    // the workload writes device_state 3, 2, 2, 0; val_u64 holds garbage above 4 bytes (0x7f0000000003)
    expect(writes.map((r) => (r.kind === 'access' ? r.value : undefined))).toEqual([3n, 2n, 2n, 0n]);
    const reads = out.records.filter((r) => r.kind === 'access' && r.op === 'pread');
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.every((r) => r.kind === 'access' && r.value === undefined && r.ret === r.size)).toBe(true);
    const ioctls = out.records.filter((r) => r.kind === 'ioctl');
    expect(ioctls.every((r) => r.kind === 'ioctl' && r.ret === undefined)).toBe(true);
  });

  test('detectTraceDat', () => {
    expect(detectTraceDat(fs.readFileSync(SAMPLES[0] ?? '').subarray(0, 16))).toBe(true);
    expect(detectTraceDat(Buffer.from('# tracer: nop\n'))).toBe(false);
    expect(detectTraceDat(Buffer.from([0x17, 0x08, 0x44]))).toBe(false);
  });

  test('onProgress reaches the total', async () => {
    const { sink } = collector();
    const seen: [number, number][] = [];
    await parseTraceDat(SAMPLES[3] ?? '', sink, { onProgress: (d, t) => seen.push([d, t]) });
    const last = seen[seen.length - 1];
    expect(last?.[0]).toBe(last?.[1]);
    expect(last?.[1]).toBeGreaterThan(0);
  });
});

describe('zlib-compressed v7 (built from the nocompress sample: this trace-cmd has only zstd)', () => {
  const zfile = path.join(tmp, 'rebuilt-zlib.dat');
  const nfile = path.join(tmp, 'rebuilt-none.dat');
  const src = SAMPLES[1] ?? '';
  fs.writeFileSync(zfile, writeV7(splitV7(src), 'zlib'));
  fs.writeFileSync(nfile, writeV7(splitV7(src), 'none'));

  test('decodes to exactly the events of the original', async () => {
    const a = await decodeAll(src);
    const z = await decodeAll(zfile);
    expect(z.problems).toEqual([]);
    expect(z.meta.codec).toBe('zlib');
    expect(z.items).toEqual(a.items);
    expect(z.items.length).toBe(77);
  });

  test.skipIf(!haveTraceCmd)('the rebuilt uncompressed file is read by trace-cmd identically (the writer is sound)', async () => {
    expect(compareWithReport(traceCmdReport(nfile), (await decodeAll(nfile)).items)).toEqual([]);
  });

  test('the committed fixture test/fixtures/tracedat/vfio-mig-v7-zlib.dat holds the same events', async () => {
    const fixture = new URL('../fixtures/tracedat/vfio-mig-v7-zlib.dat', import.meta.url).pathname;
    const f = await decodeAll(fixture);
    expect(f.problems).toEqual([]);
    expect(f.meta.codec).toBe('zlib');
    expect(f.items).toEqual((await decodeAll(src)).items);
  });

  test('zlib records equal the original records', async () => {
    const a = collector();
    const z = collector();
    await parseTraceDat(src, a.sink);
    await parseTraceDat(zfile, z.sink);
    const strip = (rs: TraceRecord[]): unknown[] => rs.map((r) => ({ ...r, src: undefined }));
    expect(strip(z.out.records)).toEqual(strip(a.out.records));
  });
});

describe('synthetic pages: TIME_STAMP, padding with delta, time extend, length word, > 2^53 ns', () => {
  // ftrace:print has id 5 in the samples' formats: common fields, ip at 8, buf[] at 16.
  const pieces = splitV7(SAMPLES[1] ?? '');
  const print = (pid: number, text: string): Buffer => {
    const rest = Buffer.alloc(8 + text.length + 1);
    rest.write(text, 8);
    return recordBytes(5, pid, rest);
  };
  const base = 2n ** 60n + 12345n; // beyond a double's exact range
  const page = buildPage(4096, base, [
    { t: 'data', delta: 0, payload: print(1, 'a\n') },
    { t: 'pad', delta: 7, bytes: 12 },
    { t: 'data', delta: 3, payload: print(1, 'b\n') },
    { t: 'extend', delta: 5n * 2n ** 27n + 99n },
    { t: 'data', delta: 1, payload: print(1, `${'x'.repeat(150)}\n`) },
    { t: 'stamp', ts: 777n * 2n ** 27n + 5n },
    { t: 'data', delta: 2, payload: print(1, 'd\n') },
  ]);
  const small = buildPage(4096, 1000n, [{ t: 'data', delta: 0, payload: print(2, 'cpu1\n') }], 0xc0000000, 42);
  const file = path.join(tmp, 'synthetic.dat');
  fs.writeFileSync(file, writeV7({ ...pieces, cpus: [{ cpu: 0, pages: page }, { cpu: 1, pages: small }] }, 'none'));

  test('timestamps are exact and follow every entry kind', async () => {
    const { sink, out } = collector();
    await parseTraceDat(file, sink);
    expect(out.problems).toEqual([]);
    const m = out.records.filter((r) => r.kind === 'marker');
    const t1 = base + 7n + 3n;
    const t2 = t1 + 5n * 2n ** 27n + 99n + 1n;
    // TIME_STAMP keeps the top 5 bits (0xf8 << 56) of the current time: 2^60 is among them.
    const t3 = ((777n * 2n ** 27n + 5n) | (t2 & (0xf8n << 56n))) + 2n;
    expect(m.map((r) => [r.tsNs, r.kind === 'marker' ? r.text.slice(0, 4) : ''])).toEqual([
      [1000n, 'cpu1'],
      [base, 'a'],
      [t1, 'b'],
      [t2, 'xxxx'],
      [t3, 'd'],
    ]);
    const lost = out.records.find((r) => r.kind === 'lost-events');
    expect(lost?.kind === 'lost-events' && [lost.cpu, lost.count, lost.tsNs]).toEqual([1, 42, 1000n]);
  });

  test.skipIf(!haveTraceCmd)('trace-cmd agrees on the synthetic file', async () => {
    expect(compareWithReport(traceCmdReport(file), (await decodeAll(file)).items)).toEqual([]);
  });
});
