// Every lab scenario captured for real with `--tracer ftrace` (a private tracefs instance,
// syscall tracepoints, a uprobe on libc pwrite64), parsed back with parsers/ftrace-text.ts.
// Skips, with the reason, where the lab cannot run (root, FUSE, fusepy, tracefs).

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureScenario, labAvailable, labScenarios } from '../../capture/lab/run.js';
import { createFtraceTextParser } from '../../parsers/ftrace-text.js';
import { hostField } from '../../capture/host-field.js';
import { assertNoTracingLeft, assertScenario, collector, REGION } from './lab-helpers.js';

const avail = await labAvailable('ftrace');
if (!avail.ok) console.warn(`SKIPPED test/capture/ftrace-lab.test.ts: ${avail.reason ?? 'lab unavailable'}`);

const tmp = mkdtempSync(join(tmpdir(), 'migscope-ftrace-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function parse(file: string): ReturnType<typeof collector>['got'] {
  const { sink, got } = collector();
  const p = createFtraceTextParser(file, sink);
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((l, i) => p.line(l, i + 1));
  p.end();
  return got;
}

describe.skipIf(!avail.ok)('lab scenarios captured with ftrace', () => {
  for (const sc of labScenarios()) {
    it(sc.name, async () => {
      const out = join(tmp, `${sc.name}.txt`);
      const cap = await captureScenario(sc.name, out, { tracer: 'ftrace' });
      assertNoTracingLeft(cap.workloadPid);
      expect(cap.result.stoppedBy).toBe('target-exited');
      const lines = readFileSync(out, 'utf8').split('\n');
      expect(lines[0]).toBe('# tracer: nop');
      // host=: this host's name, as capture/host-field.ts writes it (absent for a name that is not one word)
      const host = hostField().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      expect(lines[1]).toMatch(new RegExp(`^# migscope-ftrace-capture v1 version=\\S+ tracer=ftrace clock=mono${host} target=pid:\\d+ instance=migscope-\\d+-[0-9a-f]{6}(?:-o\\d+s\\d+)? uprobe=migscope_\\d+_[0-9a-f]{6}(?:_o\\d+s\\d+)? `));
      const got = parse(out);
      // the header comment names the clock (ftrace text does not say it otherwise)
      expect(got.clocks).toEqual(['mono']);
      assertScenario(sc, cap, got);
      // the TGID column: every syscall record is the workload's (its threads, no one else)
      const sys = got.records.filter((r) => r.kind === 'access' || r.kind === 'ioctl' || r.kind === 'fd-close');
      expect(sys.length).toBeGreaterThan(0);
      expect(new Set(sys.map((r) => r.pid))).toEqual(new Set([cap.workloadPid]));
      // the migration runs in a thread started after set-up (event-fork followed it)
      const tids = new Set(sys.filter((r) => r.kind === 'access' && r.offset === REGION).map((r) => r.tid));
      expect(tids.has(cap.workloadPid)).toBe(false);
    });
  }

  it('QEMU-style 8-byte data-section syscalls: every write value known, every read value unknown', async () => {
    const out = join(tmp, 'qemu-io.txt');
    const cap = await captureScenario('resume', out, { tracer: 'ftrace', qemuIo: true });
    assertNoTracingLeft(cap.workloadPid);
    const got = parse(out);
    const dataWrites = got.records.filter((r) => r.kind === 'access' && r.op === 'pwrite' && r.offset !== undefined && r.offset >= REGION + 0x1000n);
    expect(dataWrites).toHaveLength((0x2000 + 0x1800) / 8);
    // "VFIOMIGR" little-endian, as workload.py writes it
    const want = BigInt('0x' + Buffer.from('VFIOMIGR').reverse().toString('hex'));
    expect(dataWrites.every((r) => r.kind === 'access' && r.value === want)).toBe(true);
  });
});
