// Every QEMU/libvirt/QMP line form of docs/input-formats.md, on its fixture: what becomes a
// record, what is skipped (counted), what is malformed (with its line), and which format
// detection picks. Real output: test/fixtures/qemu-lab (QEMU 7.2); built forms:
// test/fixtures/qemu (README there cites the format each line is built from).

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FORMATS } from '../../parsers/index.js';
import { createQemuLogParser, parseIsoStamp } from '../../parsers/qemu-log.js';
import { createQemuStapParser } from '../../parsers/qemu-stap.js';
import { createQmpTranscriptParser } from '../../parsers/qmp.js';
import { createLibvirtLogParser } from '../../parsers/libvirt-log.js';
import type { MarkerRecord, QmpRecord, TraceRecord } from '../../src/record/types.js';
import { parseFile, parseText } from '../fixtures/text/harness.js';

const root = resolve(import.meta.dirname, '../..');
const qemuDir = join(root, 'test/fixtures/qemu');
const labDir = join(root, 'test/fixtures/qemu-lab');

function detect(path: string): string | undefined {
  const head = readFileSync(path).subarray(0, 64 * 1024);
  const lines = head.toString('utf8').split('\n', 40).slice(0, 39);
  return FORMATS.find((f) => f.detect(head, lines))?.name;
}

const markers = (rs: readonly TraceRecord[]): MarkerRecord[] => rs.filter((r): r is MarkerRecord => r.kind === 'marker');
const qmps = (rs: readonly TraceRecord[]): QmpRecord[] => rs.filter((r): r is QmpRecord => r.kind === 'qmp');

describe('QEMU log backend, ≤ 10.0 with -msg timestamp=on: TID@SEC.USEC:event (real QEMU 7.2 output)', () => {
  const file = join(labDir, 'timestamped/source.log');
  it('every line is a kept migration event with the thread id and wall-clock time; nothing malformed', () => {
    const out = parseFile(file, createQemuLogParser);
    const text = readFileSync(file, 'utf8');
    const lines = text.split('\n').filter((l) => l !== '');
    expect(out.malformed).toEqual([]);
    expect(out.records.length + out.skipped).toBe(lines.length);
    expect(out.records.length).toBeGreaterThan(10);
    const first = markers(out.records)[0];
    expect(first?.text).toBe('migrate_set_state new state setup');
    const m = /^(\d+)@(\d+)\.(\d{6}):/.exec(lines[0] ?? '');
    expect(first?.tid).toBe(Number(m?.[1]));
    expect(first?.tsNs).toBe(BigInt(m?.[2] ?? '0') * 1_000_000_000n + BigInt(m?.[3] ?? '0') * 1000n);
    expect(out.clocks).toEqual(['realtime']);
    expect(detect(file)).toBe('qemu-log');
  });
});

describe('QEMU log backend without timestamps: bare "event args" (real QEMU 7.2 output)', () => {
  const file = join(labDir, 'bare/source.log');
  it('events keep their order only: no time, no thread, clock "order-only"', () => {
    const out = parseFile(file, createQemuLogParser);
    expect(out.malformed).toEqual([]);
    const ms = markers(out.records);
    expect(ms.length).toBeGreaterThan(10);
    expect(ms.every((r) => r.tsNs === undefined && r.tid === undefined)).toBe(true);
    expect(ms[0]?.text).toBe('migrate_set_state new state setup');
    expect(out.clocks).toEqual(['order-only']);
    expect(detect(file)).toBe('qemu-log');
  });
});

describe('QEMU log backend, 10.1+: ISO 8601 UTC prefix', () => {
  const file = join(qemuDir, 'log-iso.txt');
  it('events become markers at the stamped time; QEMU messages and other events are skipped; a broken stamp is malformed with its line', () => {
    const out = parseFile(file, createQemuLogParser);
    const ms = markers(out.records);
    expect(ms[0]).toMatchObject({ text: 'migrate_set_state new state setup', tsNs: 1753123408_089815_000n, tid: undefined, src: { file, line: 2 } });
    expect(ms.map((r) => r.src.line)).toEqual([2, 3, 4, 5, 6, 8, 9, 10, 12, 13, 14, 15]);
    // 2 QEMU messages (lines 1, 16) and memory_region_ops_read (line 7)
    expect(out.skipped).toBe(3);
    expect(out.malformed.map((p) => p.src.line)).toEqual([11]);
    expect(out.malformed[0]?.message).toMatch(/ISO 8601/);
    expect(out.clocks).toEqual(['realtime']);
    expect(detect(file)).toBe('qemu-log');
  });

  it('reads the stamp with and without the fraction (glib leaves it out when the µs are 0) and with an offset', () => {
    expect(parseIsoStamp('2025-07-21T18:43:28.089815Z x')?.tsNs).toBe(1753123408_089815_000n);
    expect(parseIsoStamp('2025-07-21T18:43:28Z x')?.tsNs).toBe(1753123408_000000_000n);
    expect(parseIsoStamp('2025-07-21T20:43:28.5+02:00 x')?.tsNs).toBe(1753123408_500000_000n);
    expect(parseIsoStamp('2025-13-21T18:43:28Z')).toBeUndefined();
    expect(parseIsoStamp('not a time')).toBeUndefined();
  });

  it('a file of only QEMU messages in the ISO form is still recognised as a QEMU log', () => {
    const head = '2025-07-21T18:43:29.500000Z qemu-system-x86_64: terminating on signal 15 from pid 4242\n';
    expect(FORMATS.find((f) => f.detect(Buffer.from(head), [head.trimEnd()]))?.name).toBe('qemu-log');
  });
});

describe('qemu-trace-stap: PID@NS event args', () => {
  const file = join(qemuDir, 'stap.txt');
  it('process id and wall-clock ns from the prefix; stap warnings and other events skipped; a broken prefix malformed', () => {
    const out = parseFile(file, createQemuStapParser);
    const ms = markers(out.records);
    expect(ms[0]).toMatchObject({ text: 'migrate_set_state new state setup', tsNs: 1753123408089815123n, pid: 4711, tid: undefined, src: { line: 2 } });
    expect(ms.find((r) => r.text.startsWith('vfio_save_setup'))?.text).toBe('vfio_save_setup  (0000:65:00.0) data buffer size 1048576');
    expect(out.skipped).toBe(2); // the WARNING line, memory_region_ops_read
    expect(out.malformed.map((p) => p.src.line)).toEqual([9]);
    expect(out.clocks).toEqual(['realtime']);
    expect(detect(file)).toBe('qemu-stap');
  });
});

describe('QMP transcript', () => {
  const file = join(qemuDir, 'qmp-transcript.jsonl');
  it('greeting, commands, replies and events, with arrows; a multi-line reply is one record at its first line', () => {
    const out = parseFile(file, createQmpTranscriptParser);
    const qs = qmps(out.records);
    expect(qs[0]?.dir).toBe('greeting');
    expect(qs.filter((q) => q.dir === 'command').map((q) => q.message['execute'])).toEqual(['qmp_capabilities', 'migrate-set-capabilities', 'migrate-set-parameters', 'migrate', 'query-migrate']);
    const events = qs.filter((q) => q.dir === 'event');
    expect(events[0]).toMatchObject({ tsNs: 1753123408_089815_000n, message: { event: 'MIGRATION', data: { status: 'setup' } } });
    const pretty = qs.find((q) => q.src.line === 21);
    expect(pretty?.dir).toBe('reply');
    expect(pretty?.message['return']).toMatchObject({ status: 'completed', downtime: 121, vfio: { transferred: 1048576 } });
    // commands and replies carry no time in a transcript
    expect(qs.filter((q) => q.dir !== 'event').every((q) => q.tsNs === undefined)).toBe(true);
    expect(out.skipped).toBe(1); // the client's note
    expect(out.malformed.map((p) => p.src.line)).toEqual([25]);
    expect(out.malformed[0]?.message).toMatch(/^QMP: not JSON/);
    expect(detect(file)).toBe('qmp');
  });

  it('real transcripts of both hosts (QEMU 7.2) are read whole', () => {
    for (const name of ['source-qmp.jsonl', 'destination-qmp.jsonl']) {
      const f = join(labDir, 'timestamped', name);
      const out = parseFile(f, createQmpTranscriptParser);
      expect(out.malformed).toEqual([]);
      expect(out.skipped).toBe(0);
      expect(out.records.length).toBe(readFileSync(f, 'utf8').trimEnd().split('\n').length);
      expect(detect(f)).toBe('qmp');
    }
  });

  it('an object still open at the end of the input is malformed, not silently dropped', () => {
    const out = parseText('{"execute": "query-migrate",\n', createQmpTranscriptParser);
    expect(out.records).toEqual([]);
    expect(out.malformed).toEqual([{ src: { file: 'input.txt', line: 1 }, message: 'QMP: JSON message not closed at the end of the input' }]);
  });

  it('valid JSON that is no QMP message is malformed with the reason', () => {
    const out = parseText('{"hello": 1}\n[1,2]\n', createQmpTranscriptParser);
    expect(out.malformed.map((p) => p.message)).toEqual(['QMP: JSON object that is not a QMP greeting, command, reply or event']);
    expect(out.skipped).toBe(1); // "[1,2]" does not start an object
  });
});

describe('libvirt log', () => {
  const file = join(qemuDir, 'libvirt-destination.log');
  it('monitor traffic becomes QMP records with the monitor; SEND_MSG spans two lines; events keep QEMU\'s own time', () => {
    const out = parseFile(file, createLibvirtLogParser);
    const qs = qmps(out.records);
    expect(qs.map((q) => [q.src.line, q.dir])).toEqual([
      [3, 'command'],
      [5, 'reply'],
      [6, 'command'],
      [8, 'reply'],
      [9, 'event'],
      [10, 'event'],
      [12, 'event'],
      [13, 'event'],
      [14, 'command'],
      [16, 'event'],
      [17, 'event'],
    ]);
    expect(qs.every((q) => q.monitor === '0x7f2c1c0040c0')).toBe(true);
    // libvirt's own stamp (ms) for commands, QEMU's (µs) for events
    expect(qs[0]?.tsNs).toBe(1753123408_001_000_000n);
    expect(qs[0]?.tid).toBe(3017);
    expect(qs[4]?.tsNs).toBe(1753123408_090500_000n);
    // the virt-launcher JSON line (17): RESUME
    expect(qs[10]?.message['event']).toBe('RESUME');
    // QEMU's own stderr in the per-VM log: the trace line is a marker
    expect(markers(out.records).map((r) => [r.src.line, r.text])).toEqual([[11, 'vfio_load_state  (0000:65:00.0) data 0xffffffffef100004']]);
    expect(out.malformed.map((p) => p.src.line)).toEqual([18]);
    expect(out.malformed[0]?.message).toMatch(/^libvirt QEMU_MONITOR_RECV_REPLY: not JSON/);
    // start-up line, 3 fd= tails, another libvirt message, QEMU's terminating message
    expect(out.skipped).toBe(6);
    // the command line (2): its one -device with a host device and an id
    expect(out.records.filter((r) => r.kind === 'vm-device')).toEqual([expect.objectContaining({ src: { file, line: 2 }, driver: 'vfio-pci', id: 'hostdev0', host: '0000:65:00.0', sysfsdev: undefined, syntax: 'json', tsNs: undefined })]);
    expect(out.clocks).toEqual(['realtime']);
    expect(detect(file)).toBe('libvirt-log');
  });
});

describe('detection does not claim the other formats\' samples', () => {
  const sampleFiles = (dir: string): string[] =>
    readdirSync(dir).flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? sampleFiles(p) : [p];
    });
  it('no recorded tracer sample is detected as a QEMU, QMP or libvirt format', () => {
    const ours = new Set(['qemu-log', 'qemu-stap', 'qmp', 'libvirt-log']);
    const claimed = sampleFiles(join(root, 'test/fixtures/samples'))
      .filter((p) => !p.endsWith('.md') && statSync(p).size > 0)
      .filter((p) => ours.has(detect(p) ?? ''));
    expect(claimed).toEqual([]);
  });
});
