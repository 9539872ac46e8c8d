// parsers/simpletrace: QEMU's simple trace backend, version 4 (scripts/simpletrace.py).

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FORMATS, UnusableInputError } from '../../parsers/index.js';
import { parseSimpletrace } from '../../parsers/simpletrace/index.js';
import { cFormat } from '../../parsers/simpletrace/trace-events.js';
import { cPrintf } from '../../parsers/simpletrace/printf.js';
import { analyzeInputs } from '../../src/cli/pipeline.js';
import { collector } from '../fixtures/text/harness.js';
import { event, fixtureTrace, header, mapping } from './simpletrace-builder.js';

const root = resolve(import.meta.dirname, '../..');
const fixture = join(root, 'test/fixtures/qemu/simpletrace-v4.bin');
const traceEvents = join(root, 'test/fixtures/qemu/trace-events');
const tmp = mkdtempSync(join(tmpdir(), 'migscope-simple-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function parse(path: string, te: string | 'none' = traceEvents): Promise<ReturnType<typeof collector>['out']> {
  const { sink, out } = collector();
  await parseSimpletrace(path, sink, te === 'none' ? {} : { traceEvents: te });
  return out;
}

describe('simpletrace v4', () => {
  it('the committed fixture is what the builder makes (no drift between layout and file)', () => {
    expect(readFileSync(fixture).equals(fixtureTrace())).toBe(true);
    const head = readFileSync(fixture).subarray(0, 64);
    expect(FORMATS.find((f) => f.detect(head, []))?.name).toBe('simpletrace');
  });

  it('events print as the log backend would; dropped records are lost events; unmapped ids and undeclared events are malformed with their offset', async () => {
    const out = await parse(fixture);
    expect(out.clocks).toEqual(['mono']);
    const texts = out.records.map((r) => (r.kind === 'marker' ? r.text : r.kind === 'lost-events' ? `lost ${r.count}` : r.kind));
    expect(texts).toEqual([
      'migrate_set_state new state setup',
      'savevm_state_setup ',
      'vfio_migration_set_device_state  (0000:65:00.0) state PRE_COPY',
      'migrate_set_state new state active',
      'lost 3',
      'migration_completion_vm_stop ret 0',
      'vfio_migration_set_device_state  (0000:65:00.0) state STOP_COPY',
      'vfio_save_block  (0000:65:00.0) data_size -1',
      'vfio_migration_set_device_state  (0000:65:00.0) state STOP',
      'migrate_set_state new state completed',
    ]);
    expect(out.records[0]).toMatchObject({ tsNs: 5_000_000_000n, pid: 4711, src: { file: fixture, byteOffset: expect.any(Number) } });
    expect(out.skipped).toBe(1); // memory_region_ops_read
    expect(out.malformed.map((m) => m.message)).toEqual([expect.stringMatching(/^vfio_unknown_to_trace_events: arguments cannot be printed without its trace-events entry \(not in /), 'event id 9 has no mapping record before it']);
    expect(out.malformed.every((m) => typeof m.src.byteOffset === 'number')).toBe(true);
  });

  it('without a trace-events file, events with arguments are malformed and say what to pass; argument-less ones still read', async () => {
    const p = join(tmp, 'alone', 'x.bin');
    mkdirSync(join(tmp, 'alone'), { recursive: true });
    writeFileSync(p, fixtureTrace());
    const out = await parse(p, 'none');
    expect(out.records.filter((r) => r.kind === 'marker').map((r) => (r.kind === 'marker' ? r.text : ''))).toEqual(['savevm_state_setup']);
    expect(out.malformed[0]?.message).toMatch(/pass --trace-events FILE/);
  });

  it('a truncated file keeps the records before the cut and reports where', async () => {
    const full = fixtureTrace();
    const p = join(tmp, 'cut.bin');
    writeFileSync(p, full.subarray(0, full.length - 5));
    const out = await parse(p);
    expect(out.records.length).toBe(9);
    expect(out.malformed.at(-1)?.message).toMatch(/runs past the end of the file/);
  });

  it('a wrong magic or version is an unusable input', async () => {
    const p = join(tmp, 'v3.bin');
    writeFileSync(p, Buffer.concat([header(3n), mapping(0n, 'x')]));
    await expect(parse(p)).rejects.toBeInstanceOf(UnusableInputError);
    const q = join(tmp, 'junk.bin');
    writeFileSync(q, Buffer.alloc(64, 7));
    await expect(parse(q)).rejects.toThrow(/not a QEMU simpletrace file/);
  });

  it('a corrupt record length stops framing with a message, not a crash', async () => {
    const good = Buffer.concat([header(), mapping(0n, 'migrate_set_state'), event(0n, 1n, 1, ['setup'])]);
    const bad = event(0n, 2n, 1, ['active']);
    bad.writeUInt32LE(0xffffff, 8 + 16); // length
    const p = join(tmp, 'corrupt.bin');
    writeFileSync(p, Buffer.concat([good, bad]));
    const out = await parse(p);
    expect(out.records).toHaveLength(1);
    expect(out.malformed[0]?.message).toMatch(/event record length 16777215 \(corrupt\)/);
  });

  it('the migration tracker reads a simpletrace like any QEMU log (trace clock: not merged, times kept)', async () => {
    const a = await analyzeInputs([{ path: fixture }], { formats: FORMATS, traceEvents });
    expect(a.input.lostEvents).toBe(3);
    const [m] = a.migrations ?? [];
    expect(m).toMatchObject({ side: 'source', outcome: 'completed', clock: 'trace' });
    expect(m?.devices[0]?.states.map((s) => s.state)).toEqual(['PRE_COPY', 'STOP_COPY', 'STOP']);
  });
});

describe('trace-events formats and printf', () => {
  it('PRI macros and string pieces join into one C format', () => {
    expect(cFormat('" (%s) size 0x%"PRIx64" ret %d"')).toBe(' (%s) size 0x%llx ret %d');
    expect(cFormat('" (%s) data 0x%"PRIx64')).toBe(' (%s) data 0x%llx');
    expect(cFormat('"a" BOGUS')).toBeUndefined();
  });
  it('values are cut to their C type like the cast in QEMU did', () => {
    expect(cPrintf('%d %u %x %08x %p %s', [
      { n: 0xffff_ffff_ffff_ffffn, bits: 32, signed: true },
      { n: 0xffff_ffffn, bits: 32, signed: false },
      { n: 255n, bits: 64, signed: false },
      { n: 3n, bits: 32, signed: false },
      { n: 0n, bits: 64, signed: false },
      { s: 'x' },
    ])).toBe('-1 4294967295 ff 00000003 (nil) x');
    expect(cPrintf('%d', [])).toBeUndefined();
  });
});
