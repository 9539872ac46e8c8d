// Every lab scenario, really captured with bpftrace on this machine's kernel, parsed back:
// the trace must hold what the workload did (its own journal of syscalls and results), the
// device names, the region-info replies, the device_state writes of scenarios.json, and a
// clock-sync record that brackets the trace. Skips, with the reason, where the lab cannot run.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureScenario, labAvailable, labScenarios, type ScenarioCapture } from '../../capture/lab/run.js';
import { createBpftraceParser } from '../../parsers/bpftrace.js';
import type { AccessRecord, InputProblem, TraceRecord } from '../../src/record/types.js';

const avail = await labAvailable();
if (!avail.ok) console.warn(`SKIPPED test/lab/capture.test.ts: ${avail.reason ?? 'lab unavailable'}`);

const REGION = 9n << 40n;
const tmp = mkdtempSync(join(tmpdir(), 'migscope-lab-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function parse(file: string): { records: TraceRecord[]; malformed: InputProblem[]; skipped: number; clock: string[] } {
  const records: TraceRecord[] = [];
  const malformed: InputProblem[] = [];
  const clock: string[] = [];
  let skipped = 0;
  const p = createBpftraceParser(file, {
    record: (r) => records.push(r),
    skipped: (n) => {
      skipped += n ?? 1;
    },
    malformed: (m) => malformed.push(m),
    clock: (c) => clock.push(c),
  });
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((l, i) => p.line(l, i + 1));
  p.end();
  return { records, malformed, skipped, clock };
}

function num(v: unknown): number {
  if (typeof v !== 'number') throw new Error(`journal value ${String(v)} is not a number`);
  return v;
}

/** Each journal entry, in order, has a matching record (the trace may hold more). */
function assertJournalInTrace(cap: ScenarioCapture, records: readonly TraceRecord[]): void {
  const mine = records.filter((r) => r.pid === cap.workloadPid);
  let i = 0;
  for (const e of cap.journal) {
    const matches = (r: TraceRecord): boolean => {
      if (e['op'] === 'ioctl') return r.kind === 'ioctl' && r.fd === num(e['fd']) && r.cmd === num(e['cmd']) && r.ret === num(e['ret']);
      if (r.kind !== 'access' || r.op !== e['op'] || r.fd !== num(e['fd'])) return false;
      if (r.offset !== BigInt(num(e['off'])) || r.size !== num(e['size']) || r.ret !== num(e['ret'])) return false;
      // value: what was written, or what a successful read returned (its first 8 bytes)
      const v = e['value'];
      return typeof v === 'string' ? r.value === BigInt(v) : r.value === undefined;
    };
    while (i < mine.length && !matches(mine[i] as TraceRecord)) i++;
    expect(i, `journal entry ${JSON.stringify(e)} not found in order in the trace`).toBeLessThan(mine.length);
    i++;
  }
}

describe.skipIf(!avail.ok)('lab scenarios captured with bpftrace', () => {
  for (const sc of labScenarios()) {
    it(sc.name, async () => {
      const out = join(tmp, `${sc.name}.trace`);
      const cap = await captureScenario(sc.name, out);
      expect(cap.result.stoppedBy).toBe('target-exited');
      const { records, malformed, clock } = parse(out);
      expect(malformed).toEqual([]);
      expect(clock).toContain('mono');
      expect(records.filter((r) => r.kind === 'lost-events')).toEqual([]);

      // the header line is the versioned format marker
      expect(readFileSync(out, 'utf8').split('\n')[0]).toMatch(/^# migscope-capture v2 tracer=bpftrace format=text/);

      // clock-sync at start and end bracket every traced syscall (same clock: CLOCK_MONOTONIC)
      const syncs = records.filter((r) => r.kind === 'clock-sync');
      expect(syncs).toHaveLength(2);
      const traced = records.filter((r) => r.kind !== 'clock-sync' && r.tsNs !== undefined);
      expect(traced.length).toBeGreaterThan(0);
      for (const r of traced) {
        expect(r.tsNs! > syncs[0]!.tsNs!).toBe(true);
        expect(r.tsNs! < syncs[1]!.tsNs!).toBe(true);
      }

      assertJournalInTrace(cap, records);

      // device names → fds, from VFIO_GROUP_GET_DEVICE_FD
      const opens = records.filter((r) => r.kind === 'fd-open' && r.via === 'group-get-device-fd');
      const fdOf = new Map<string, number>();
      for (const o of opens) if (o.kind === 'fd-open') fdOf.set(o.name, o.fd);
      expect([...fdOf.keys()].sort()).toEqual(sc.devices.map((d) => d.name).sort());
      // the group itself was opened by path
      expect(records.some((r) => r.kind === 'fd-open' && r.via === 'openat' && r.name.endsWith('/group'))).toBe(true);

      for (const d of sc.devices) {
        const fd = fdOf.get(d.name)!;
        // the migration region: the reply with the TYPE cap 3/1, found by walking the chain
        const mig = records.filter((r) => r.kind === 'region-info' && r.fd === fd && r.capType === 3);
        expect(mig).toHaveLength(1);
        expect(mig[0]).toMatchObject({ index: 9, capSubtype: 1, offset: REGION, size: 0x100000n, ret: 0 });
        // the first, too-small probe of index 9 has CAPS set but no chain (cap_offset 0)
        expect(records.some((r) => r.kind === 'region-info' && r.fd === fd && r.index === 9 && r.capType === undefined && (r.flags & 8) !== 0)).toBe(true);

        // device_state writes, values and errnos as scenarios.json says
        const writes = records.filter(
          (r): r is AccessRecord => r.kind === 'access' && r.op === 'pwrite' && r.fd === fd && r.offset === REGION,
        );
        const want = sc.expect.stateWrites[d.name] ?? [];
        expect(
          writes.map((w) => ({ value: Number(w.value), width: w.size, errno: w.ret !== undefined && w.ret < 0 ? -w.ret : undefined })),
        ).toEqual(want.map((w) => ({ value: w.value, width: w.width ?? 4, errno: w.errno })));

        // every device_state value the scenario says the device went through was read or written
        const seen = new Set(
          records
            .filter((r): r is AccessRecord => r.kind === 'access' && r.fd === fd && r.offset === REGION && r.size === 4 && (r.ret ?? -1) >= 0)
            .map((r) => Number(r.value)),
        );
        for (const s of sc.expect.states[d.name] ?? []) expect(seen.has(s), `state ${s} of ${d.name} not in the trace`).toBe(true);

        const resets = records.filter((r) => r.kind === 'ioctl' && r.fd === fd && r.cmd === 0x3b6f && r.ret === 0);
        expect(resets).toHaveLength(sc.expect.resets?.[d.name] ?? 0);
      }
    });
  }

  it('json mode carries the same records as text mode', async () => {
    const out = join(tmp, 'json.trace');
    const cap = await captureScenario('error-state-reset', out, { format: 'json' });
    const first = readFileSync(out, 'utf8').split('\n')[0] ?? '';
    expect(first).toMatch(/^\{"type": "printf", "data": "# migscope-capture v2 tracer=bpftrace format=json/);
    const { records, malformed } = parse(out);
    expect(malformed).toEqual([]);
    assertJournalInTrace(cap, records);
    expect(records.some((r) => r.kind === 'region-info' && r.capType === 3 && r.capSubtype === 1)).toBe(true);
    expect(records.some((r) => r.kind === 'ioctl' && r.cmd === 0x3b6f && r.ret === 0)).toBe(true);
    expect(records.some((r) => r.kind === 'access' && r.op === 'pwrite' && r.ret === -5)).toBe(true);
  });

  it('QEMU-style 8-byte data-section syscalls are captured one by one', async () => {
    const out = join(tmp, 'qemu-io.trace');
    const cap = await captureScenario('resume', out, { qemuIo: true });
    const { records, malformed } = parse(out);
    expect(malformed).toEqual([]);
    expect(records.filter((r) => r.kind === 'lost-events')).toEqual([]);
    assertJournalInTrace(cap, records);
    const dataWrites = records.filter((r) => r.kind === 'access' && r.op === 'pwrite' && r.offset !== undefined && r.offset >= REGION + 0x1000n);
    expect(dataWrites).toHaveLength((0x2000 + 0x1800) / 8);
  });
});
