// The host= field of a capture's header (capture/host-field.ts, docs/capture-format.md): what
// the runner writes is what the parser reads back (capture/ and parsers/ may not import each
// other, so this test joins them). The ftrace header is checked on its real recording
// (test/parsers/host-name.test.ts, test/fixtures/merge/hosts/hv-a/ftrace.txt).

import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { headerLine } from '../../capture/bpftrace.js';
import { hostField } from '../../capture/host-field.js';
import { createBpftraceParser } from '../../parsers/bpftrace.js';
import { parseText } from '../fixtures/text/harness.js';

const pid = { target: { kind: 'pid', pid: 4242 }, format: 'text', readWrite: true } as const;

describe('capture header host=', () => {
  it('a host name is written as one word; one that is not (a space, a control character, empty) is left out', () => {
    expect(hostField('hv-07.lab')).toBe(' host=hv-07.lab');
    expect(hostField('bad name')).toBe('');
    expect(hostField('bad\tname')).toBe('');
    expect(hostField('')).toBe('');
  });

  it("the runner's header names this host, and the parser reads it back", () => {
    const line = headerLine(pid, 4242);
    expect(line).toBe(`# migscope-capture v2 tracer=bpftrace format=text runner=migscope host=${hostname()} target=pid:4242 read_write=1`);
    expect(parseText(line, createBpftraceParser).hosts.map((h) => h.name)).toEqual([hostname()]);
  });

  it("host mode: host= comes before the target's match=\"REGEX\", so a regex saying host= is not read as one", () => {
    const line = headerLine({ target: { kind: 'all', match: /qemu host=evil/ }, format: 'text', readWrite: false }, undefined, 'hv-07');
    expect(line).toMatch(/ runner=migscope host=hv-07 target=all match=/);
    const out = parseText(line, createBpftraceParser);
    expect(out.hosts.map((h) => h.name)).toEqual(['hv-07']);
    expect(out.malformed).toEqual([]);
  });

  it('a host name that cannot be written: no host= at all, read as a capture that names no host', () => {
    const line = headerLine(pid, 4242, 'bad name');
    expect(line).not.toContain('host=');
    const out = parseText(line, createBpftraceParser);
    expect(out.hosts).toEqual([]);
    expect(out.malformed).toEqual([]);
  });

  it('JSON captures wrap the same header line; the parser reads host= from it', () => {
    const json = `{"type": "printf", "data": ${JSON.stringify(`${headerLine({ ...pid, format: 'json' }, 4242, 'hv-07')}\n`)}}`;
    expect(parseText(json, createBpftraceParser).hosts.map((h) => h.name)).toEqual(['hv-07']);
  });
});
