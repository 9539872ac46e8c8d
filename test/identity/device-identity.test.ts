// One physical device is one device (DESIGN.md; issue 16): the syscall view (pid:fd) and
// QEMU's view (the name in its trace events) of a device in one process are joined, and
// the join says which evidence made it. Pinned on the real samples that used to split.

import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FORMATS } from '../../parsers/index.js';
import { analyzeInputs } from '../../src/cli/pipeline.js';

const S = resolve(import.meta.dirname, '../fixtures/samples');

async function analyze(rel: string) {
  return analyzeInputs([{ path: join(S, rel) }], { formats: FORMATS });
}

describe('syscall view and QEMU view of one device are one device', () => {
  it('ftrace trace_pipe with tgid: QEMU names the device before its fd is seen (probe from the main thread)', async () => {
    const a = await analyze('ftrace/ftrace-trace_pipe-tgid.txt');
    expect(a.devices.map((d) => `${d.id} pid ${d.pid} fd ${d.fd}`)).toEqual(['0000:65:00.0 pid 20541 fd 4']);
    const d = a.devices[0];
    expect(d?.naming).toBe('qemu');
    // The pending_bytes reads are in the trace (values from QEMU's vfio_update_pending):
    // the save drained, so no V1-SAVE-DRAIN, and the session completed.
    expect(a.findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(d?.sessions.map((s) => s.outcome)).toEqual(['completed']);
  });

  it('trace-cmd extract with lost events: one device, every session on it', async () => {
    const a = await analyze('trace-cmd/vfio-mig-lost-events-extract.dat');
    expect(a.devices.map((d) => d.id)).toEqual(['0000:65:00.0']);
    expect(a.findings.filter((f) => f.severity === 'error' && f.certainty === 'certain')).toEqual([]);
  });
});

describe('the join says which evidence made it', () => {
  it('names the thread, fd and process that tied QEMU\'s name to the fd', async () => {
    const a = await analyze('ftrace/ftrace-trace_pipe-tgid.txt');
    expect(a.devices[0]?.identity).toMatch(/thread 20582 .*fd 4 of process 20541/);
  });
});

describe('a device only QEMU names', () => {
  it('keeps the fd its thread had just used, and says the fd was not shown to be a device', async () => {
    const a = await analyze('trace-cmd/vfio-mig-default-v7-zstd.report-cpu0.txt');
    expect(a.devices.map((d) => `${d.id} fd ${d.fd}`)).toEqual(['0000:65:00.0 fd 4']);
    expect(a.devices[0]?.identity).toMatch(/only QEMU's events name 0000:65:00.0.*fd 4.*did not show it to be a device/);
  });
});

describe('a session whose start the trace does not show', () => {
  it('is marked partial (after the lost window at the start of the extract), the later ones are not', async () => {
    const a = await analyze('trace-cmd/vfio-mig-lost-events-extract.dat');
    expect(a.devices[0]?.sessions.map((s) => s.partial === true)).toEqual([true, false, false]);
  });
});

describe('a device fd whose accesses cannot be placed never vanishes', () => {
  it('is listed with the accesses it saw and the --region to pass', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'migscope-unplaced-'));
    const path = join(dir, 'unplaced.trace');
    const head = '1671319712351 devfd pid=7813 tid=7813 fd=3 ret=3 comm=qemu-system-x86 name=0000:65:00.0';
    // Reads of a BAR-like region with no header pattern and no GET_REGION_INFO reply.
    const reads = [0, 1, 2].map((i) => `16713200000${i}0 pread64 pid=7813 tid=7813 fd=3 off=0x90000000100 count=64 ret=64 val=0x0 lat_ns=1000 comm=qemu-system-x86`);
    writeFileSync(path, [head, ...reads, ''].join('\n'));
    try {
      const a = await analyzeInputs([{ path }], { formats: FORMATS });
      const d = a.devices.find((x) => x.id === '0000:65:00.0');
      expect(d?.unplaced?.count).toBe(3);
      expect(d?.unplaced?.first.map((s) => s.line)).toEqual([2, 3, 4]);
      expect(d?.unplaced?.hint).toContain('--region 7813:3=0x90000000000');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
