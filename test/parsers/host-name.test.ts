// The host an input names itself (ParserSink.host; parsers/text/host-name.ts): a migscope
// capture header's host= (bpftrace, ftrace), trace.dat's UNAME option nodename (v6 and v7,
// every compression), libvirt's hostname: line. Each source is read from real recorded
// files (test/fixtures/merge/hosts/README.md: captures taken in UTS namespaces named hv-a
// and hv-b; the trace.dat fixtures' UNAME is the recording host's, "vm"), and each is shown
// to turn a bad name into a counted malformed problem at its line or byte, never a crash
// and never a host.

import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createBpftraceParser } from '../../parsers/bpftrace.js';
import { createFtraceTextParser } from '../../parsers/ftrace-text.js';
import { createLibvirtLogParser } from '../../parsers/libvirt-log.js';
import { checkHostName, unameNodename } from '../../parsers/text/host-name.js';
import { parseTraceDat, probeTraceDat } from '../../parsers/tracedat/index.js';
import type { LineParser, ParserSink } from '../../src/record/types.js';
import { collector, parseFile, parseText, type Collected } from '../fixtures/text/harness.js';

const H = 'test/fixtures/merge/hosts';
const tmp = (): string => mkdtempSync(join(tmpdir(), 'migscope-host-'));

/** The recorded file with its first line changed by `edit` (everything else as recorded). */
function withFirstLine(path: string, edit: (l: string) => string, make: (file: string, sink: ParserSink) => LineParser): Collected {
  const lines = readFileSync(path, 'utf8').split('\n');
  const at = lines.findIndex((l) => l.includes('host='));
  lines[at] = edit(lines[at] ?? '');
  return parseText(lines.join('\n'), make, 'edited.txt');
}

describe('host names: the charset and length migscope accepts', () => {
  it('accepts host names and FQDNs as written, a trailing dot dropped', () => {
    expect(checkHostName('hv-a')).toEqual({ ok: true, name: 'hv-a' });
    expect(checkHostName('HV07.lab.example.')).toEqual({ ok: true, name: 'HV07.lab.example' });
    expect(checkHostName('node_3')).toEqual({ ok: true, name: 'node_3' });
  });

  it.each([
    ['', /empty/],
    ['a'.repeat(254), /254 characters \(at most 253\)/],
    [`${'a'.repeat(64)}.example`, /labels of 1 to 63/],
    ['bad host', /not a host name/],
    ['a..b', /not a host name/],
    ['-lead', /not a host name/],
    ['evil\u001b[31m', /not a host name/],
  ])('rejects %j', (raw, why) => {
    const c = checkHostName(raw);
    expect(c.ok).toBe(false);
    if (!c.ok) expect(c.error).toMatch(why);
  });

  it('UNAME text: the nodename between sysname and release machine', () => {
    expect(unameNodename('Linux vm 6.18.44-fc-v1045 x86_64')).toEqual({ ok: true, name: 'vm' });
    expect(unameNodename('Linux my host 6.1 x86_64')).toMatchObject({ ok: false });
    expect(unameNodename('Linux')).toMatchObject({ ok: false, error: expect.stringMatching(/not "sysname nodename release machine"/) });
  });
});

describe('bpftrace capture header host=', () => {
  it('a capture recorded on host hv-a names hv-a, with the header line', () => {
    const out = parseFile(`${H}/hv-a/capture.txt`, createBpftraceParser);
    expect(out.hosts).toEqual([{ name: 'hv-a', how: `capture header host= (${H}/hv-a/capture.txt:1)` }]);
    expect(out.malformed).toEqual([]);
  });

  it('an older capture without host= names no host and reads as before', () => {
    const out = parseFile('test/fixtures/merge/late/capture.txt', createBpftraceParser);
    expect(out.hosts).toEqual([]);
    expect(out.malformed).toEqual([]);
  });

  it('a bad host= is a malformed problem at its line; the rest of the capture is read', () => {
    const good = parseFile(`${H}/hv-a/capture.txt`, createBpftraceParser);
    const bad = withFirstLine(`${H}/hv-a/capture.txt`, (l) => l.replace('host=hv-a', 'host=hv-a;rm'), createBpftraceParser);
    expect(bad.hosts).toEqual([]);
    expect(bad.malformed).toEqual([{ src: { file: 'edited.txt', line: 1 }, message: expect.stringMatching(/^capture header host=: not a host name .*"hv-a;rm"/) }]);
    expect(bad.records.length).toBe(good.records.length);
    const empty = withFirstLine(`${H}/hv-a/capture.txt`, (l) => l.replace('host=hv-a', 'host='), createBpftraceParser);
    expect(empty.malformed.map((p) => p.message)).toEqual(['capture header host=: empty host name']);
  });

  it("host= is read only before target=: a host-mode match=\"REGEX\" is the user's text", () => {
    const line = '# migscope-capture v2 tracer=bpftrace format=text runner=migscope target=all match="qemu host=evil" read_write=1';
    expect(parseText(line, createBpftraceParser).hosts).toEqual([]);
  });

  it('a second header naming another host: a problem, the first host stands', () => {
    const text = readFileSync(`${H}/hv-a/capture.txt`, 'utf8').split('\n')[0] ?? '';
    const out = parseText(`${text}\n${text.replace('host=hv-a', 'host=hv-b')}\n`, createBpftraceParser);
    expect(out.hosts.map((h) => h.name)).toEqual(['hv-a']);
    expect(out.malformed).toEqual([{ src: { file: 'input.txt', line: 2 }, message: 'capture header host= names host hv-b, but input.txt:1 named hv-a: one input is one host\'s, hv-a is kept' }]);
  });
});

describe('ftrace capture header host=', () => {
  it('an ftrace capture recorded on host hv-a names hv-a, with the header line', () => {
    const out = parseFile(`${H}/hv-a/ftrace.txt`, (f, s) => createFtraceTextParser(f, s));
    expect(out.hosts).toEqual([{ name: 'hv-a', how: `capture header host= (${H}/hv-a/ftrace.txt:2)` }]);
    expect(out.malformed).toEqual([]);
  });

  it('an older ftrace capture (lab fixture, no host=) names none', () => {
    const out = parseFile('test/fixtures/lab/ftrace/clean-live-migration.txt', (f, s) => createFtraceTextParser(f, s));
    expect(out.hosts).toEqual([]);
  });

  it('a bad host= is a malformed problem at its line, the events are read', () => {
    const good = parseFile(`${H}/hv-a/ftrace.txt`, (f, s) => createFtraceTextParser(f, s));
    const bad = withFirstLine(`${H}/hv-a/ftrace.txt`, (l) => l.replace('host=hv-a', `host=${'x'.repeat(300)}`), (f, s) => createFtraceTextParser(f, s));
    expect(bad.hosts).toEqual([]);
    expect(bad.malformed).toEqual([{ src: { file: 'edited.txt', line: 2 }, message: expect.stringMatching(/^capture header host=: host name of 300 characters/) }]);
    expect(bad.records.length).toBe(good.records.length);
  });
});

describe("libvirt's hostname: line", () => {
  it("the per-VM log's start-up line names its host", () => {
    const out = parseFile('test/fixtures/qemu/libvirt-destination.log', createLibvirtLogParser);
    expect(out.hosts).toEqual([{ name: 'dst.example', how: "libvirt's hostname: line (test/fixtures/qemu/libvirt-destination.log:1)" }]);
  });

  it("the daemon log's own line names it too; hostname: elsewhere (a monitor message) does not", () => {
    const out = parseText(
      [
        '2025-07-21 18:43:20.000+0000: 3017: info : libvirt version: 9.0.0',
        '2025-07-21 18:43:20.000+0000: 3017: info : hostname: hv1.lab.example',
        '2025-07-21 18:43:28.002+0000: 3021: info : qemuMonitorJSONIOProcessLine:240 : QEMU_MONITOR_RECV_REPLY: mon=0x7f2c1c0040c0 reply={"return": {"hostname: other": 1}, "id": "libvirt-1"}',
      ].join('\n'),
      createLibvirtLogParser,
    );
    expect(out.hosts.map((h) => h.name)).toEqual(['hv1.lab.example']);
    expect(out.malformed).toEqual([]);
  });

  it('a bad name is a malformed problem at its line; the log is read as before', () => {
    const text = readFileSync('test/fixtures/qemu/libvirt-destination.log', 'utf8');
    const good = parseText(text, createLibvirtLogParser);
    const bad = parseText(text.replace('hostname: dst.example', 'hostname: dst example'), createLibvirtLogParser);
    expect(bad.hosts).toEqual([]);
    expect(bad.malformed.filter((p) => p.src.line === 1)).toEqual([{ src: { file: 'input.txt', line: 1 }, message: expect.stringMatching(/^libvirt's hostname: line: not a host name/) }]);
    expect(bad.malformed.length).toBe(good.malformed.length + 1);
    expect(bad.records).toEqual(good.records);
  });
});

describe('trace.dat UNAME option', () => {
  // Every stored trace.dat: v6, v7 uncompressed, zstd, zlib; recorded by trace-cmd 3.1.6 on
  // a host whose nodename is "vm" (their UNAME option, e.g. `trace-cmd dump --options`:
  // "Linux vm 6.18.44-fc-v782 x86_64").
  const files = [
    'test/fixtures/samples/trace-cmd/vfio-mig-v6.dat',
    'test/fixtures/samples/trace-cmd/vfio-mig-v7-nocompress.dat',
    'test/fixtures/samples/trace-cmd/vfio-mig-default-v7-zstd.dat',
    'test/fixtures/tracedat/vfio-mig-v7-zlib.dat',
    'test/fixtures/lab/trace-cmd/clean-live-migration.dat',
  ];

  it.each(files)('%s: the nodename, at the option record, by the parser and by the metadata-only probe', async (f) => {
    const { sink, out } = collector();
    await parseTraceDat(f, sink);
    expect(out.hosts).toHaveLength(1);
    expect(out.hosts[0]?.name).toBe('vm');
    expect(out.hosts[0]?.how).toMatch(new RegExp(`^trace\\.dat UNAME option nodename \\(${f.replace(/[.]/g, '\\.')}@\\d+\\)$`));
    const probe = collector();
    probeTraceDat(f, probe.sink);
    expect(probe.out.hosts).toEqual(out.hosts);
  });

  it('the byte offset is that of the UNAME record (id 5, then its size)', async () => {
    const f = 'test/fixtures/samples/trace-cmd/vfio-mig-v6.dat';
    const { sink, out } = collector();
    await parseTraceDat(f, sink);
    const at = Number(/@(\d+)\)$/.exec(out.hosts[0]?.how ?? '')?.[1]);
    const b = readFileSync(f);
    expect(b.readUInt16LE(at)).toBe(5);
    const size = b.readUInt32LE(at + 2);
    expect(b.toString('latin1', at + 6, at + 6 + size)).toBe('Linux vm 6.18.44-fc-v782 x86_64\0');
  });

  it.each(['test/fixtures/samples/trace-cmd/vfio-mig-v6.dat', 'test/fixtures/samples/trace-cmd/vfio-mig-v7-nocompress.dat'])(
    '%s with a bad nodename: a malformed problem at its byte offset, no host, the trace read as before',
    async (f) => {
      const b = readFileSync(f);
      const at = b.indexOf('Linux vm ');
      const bad = Buffer.from(b);
      bad.write('Linux v! ', at, 'latin1'); // same length: nothing else moves
      const path = join(tmp(), 'bad-uname.dat');
      writeFileSync(path, bad);
      const good = collector();
      await parseTraceDat(f, good.sink);
      const got = collector();
      await parseTraceDat(path, got.sink);
      expect(got.out.hosts).toEqual([]);
      const problems = got.out.malformed.filter((p) => /UNAME/.test(p.message));
      expect(problems).toEqual([{ src: { file: path, byteOffset: at - 6 }, message: expect.stringMatching(/^UNAME option: not a host name .*"v!"/) }]);
      expect(got.out.records.length).toBe(good.out.records.length);
      const probe = collector();
      probeTraceDat(path, probe.sink);
      expect(probe.out.hosts).toEqual([]);
    },
  );

  it('a file whose metadata cannot be read: the probe says nothing and does not throw', () => {
    const path = join(tmp(), 'cut.dat');
    copyFileSync('test/fixtures/samples/trace-cmd/vfio-mig-v6.dat', path);
    writeFileSync(path, readFileSync(path).subarray(0, 200));
    const probe = collector();
    expect(() => probeTraceDat(path, probe.sink)).not.toThrow();
    expect(probe.out.hosts).toEqual([]);
  });
});
