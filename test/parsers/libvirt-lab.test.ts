// Real libvirt output (test/fixtures/libvirt-lab/README.md): the per-VM logs and the
// daemon's monitor log of a TCG migration between two libvirt domains on this machine.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FORMATS } from '../../parsers/index.js';
import { analyzeInputs } from '../../src/cli/pipeline.js';
import { createCommandLineReader } from '../../parsers/text/qemu-cmdline.js';

const F = 'test/fixtures/libvirt-lab';
const analyze = (...paths: string[]) => analyzeInputs(paths.map((path) => ({ path })), { formats: FORMATS });

describe('real libvirt 9.0 logs of a QEMU 7.2 migration', () => {
  it("the daemon's monitor log: both sides, QEMU's figures, the destination's setup is no side conflict", async () => {
    const a = await analyze(`${F}/libvirtd.log`);
    expect(a.input.files[0]?.format).toBe('libvirt-log');
    expect(a.input.malformed).toBe(0);
    const src = a.migrations?.find((m) => m.side === 'source');
    const dst = a.migrations?.find((m) => m.side === 'destination');
    expect(src).toMatchObject({ outcome: 'completed', setupTimeMs: 1, downtimeMs: 1, totalTimeMs: 4, downtimeLimitMs: 300, ramTransferredBytes: 484122n, passes: 2, uri: 'unix:/tmp/lvlab/mig.sock', peer: dst?.id });
    expect(src?.sideEvidence).toMatch(/^"migrate" command \(test\/fixtures\/libvirt-lab\/libvirtd\.log:\d+\)$/);
    expect(src?.statuses.map((s) => s.status)).toEqual(['setup', 'active', 'completed']);
    expect(dst?.sideEvidence).toMatch(/^"migrate-incoming" command/);
    expect(dst?.statuses.map((s) => s.status)).toEqual(['setup', 'active', 'completed']);
    // QEMU reported setup on the destination after migrate-incoming: not a contradiction.
    expect(dst?.notes).toEqual([]);
    expect(dst?.vmResumeNs).toBeDefined();
  });

  it('the per-VM logs: host from the start-up line, status from QEMU 7.2 trace lines, the command line read and nothing malformed', async () => {
    for (const [vm, side] of [['mig-src', 'source'], ['mig-dst', 'destination']] as const) {
      const a = await analyze(`${F}/${vm}.log`);
      expect(a.input.files[0]).toMatchObject({ format: 'libvirt-log', clock: 'realtime', host: { name: 'vm' } });
      expect(a.input.malformed).toBe(0);
      expect(a.migrations?.map((m) => [m.side, m.outcome])).toEqual([[side, 'completed']]);
      // The command line (one argument a line, shell-quoted, JSON -device) is a command line
      // to the reader, from its first line to -msg; its -device has no host device.
      const lines = readFileSync(`${F}/${vm}.log`, 'utf8').split('\n');
      const r = createCommandLineReader();
      const read = lines.map((l) => r.line(l));
      const first = lines.indexOf('LC_ALL=C \\');
      const last = lines.indexOf('-msg timestamp=on');
      expect(read.flatMap((x, i) => (x.kind === 'command-line' ? [i] : []))).toEqual(Array.from({ length: last - first + 1 }, (_, k) => first + k));
      expect(read.flatMap((x) => (x.kind === 'command-line' ? [...x.devices, ...x.errors] : []))).toEqual([]);
      expect(lines.some((l) => l.startsWith(`-device '{"driver":"isa-serial"`))).toBe(true);
    }
  });
});
