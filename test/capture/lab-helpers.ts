// Shared by the ftrace and trace-cmd capture tests: what a captured lab scenario must hold
// whatever the tracer, and what must be gone from tracefs after a capture.

import { expect } from 'vitest';
import type { ScenarioCapture, LabScenario } from '../../capture/lab/run.js';
import { findTracefs, instancesWithPrefix, uprobeGroupsWithPrefix } from '../../capture/tracefs.js';
import { clockSyncOrMarker } from '../../parsers/text/clock-sync-marker.js';
import type { AccessRecord, InputProblem, ParserSink, TraceRecord } from '../../src/record/types.js';

export const REGION = 9n << 40n;

export interface Collected {
  readonly records: TraceRecord[];
  readonly malformed: InputProblem[];
  readonly clocks: string[];
  skipped: number;
}

/**
 * A sink that collects; marker records pass through clockSyncOrMarker, which is the
 * one-line change the parsers need (parsers/text/clock-sync-marker.ts) — a no-op once a
 * parser emits clock-sync records itself.
 */
export function collector(): { sink: ParserSink; got: Collected } {
  const got: Collected = { records: [], malformed: [], clocks: [], skipped: 0 };
  const sink: ParserSink = {
    record: (r) => got.records.push(r.kind === 'marker' ? clockSyncOrMarker(r) : r),
    skipped: (n) => {
      got.skipped += n ?? 1;
    },
    malformed: (m) => got.malformed.push(m),
    clock: (c) => got.clocks.push(c),
  };
  return { sink, got };
}

function num(v: unknown): number {
  if (typeof v !== 'number') throw new Error(`journal value ${String(v)} is not a number`);
  return v;
}

/**
 * Every journal entry (what the workload did, in order) has a matching record, in order:
 * fd, offset, size, return value / errno; pwrite values as written (from the uprobe);
 * pread values UNKNOWN — syscall tracepoints and uprobes cannot see what a read returned,
 * and a wrong value would be worse than none.
 */
export function assertJournalInTrace(cap: ScenarioCapture, records: readonly TraceRecord[]): void {
  const mine = records.filter((r) => r.kind === 'access' || r.kind === 'ioctl');
  let i = 0;
  for (const e of cap.journal) {
    const matches = (r: TraceRecord): boolean => {
      if (e['op'] === 'ioctl') return r.kind === 'ioctl' && r.fd === num(e['fd']) && r.cmd === num(e['cmd']) && r.ret === num(e['ret']);
      if (r.kind !== 'access' || r.op !== e['op'] || r.fd !== num(e['fd'])) return false;
      if (r.offset !== BigInt(num(e['off'])) || r.size !== num(e['size']) || r.ret !== num(e['ret'])) return false;
      if (r.op === 'pread') return r.value === undefined;
      const v = e['value'];
      return typeof v === 'string' && r.value === BigInt(v);
    };
    while (i < mine.length && !matches(mine[i] as TraceRecord)) i++;
    expect(i, `journal entry ${JSON.stringify(e)} not found in order in the trace`).toBeLessThan(mine.length);
    i++;
  }
}

/** The checks common to both tracers for one scenario. */
export function assertScenario(sc: LabScenario, cap: ScenarioCapture, got: Collected): void {
  expect(got.malformed).toEqual([]);
  expect(got.records.filter((r) => r.kind === 'lost-events')).toEqual([]);
  assertJournalInTrace(cap, got.records);

  // reads: never a value
  const reads = got.records.filter((r): r is AccessRecord => r.kind === 'access' && r.op === 'pread');
  expect(reads.length).toBeGreaterThan(0);
  expect(reads.every((r) => r.value === undefined)).toBe(true);

  // clock-sync at start and end, on the trace's own axis (mono), around every syscall
  const syncs = got.records.filter((r) => r.kind === 'clock-sync');
  expect(syncs.map((s) => (s.kind === 'clock-sync' ? s.clock : ''))).toEqual(['mono', 'mono']);
  const [first, last] = syncs;
  const traced = got.records.filter((r) => r.kind === 'access' || r.kind === 'ioctl');
  for (const r of traced) {
    expect(r.tsNs! > (first?.kind === 'clock-sync' ? first.traceNs : 0n)).toBe(true);
    expect(r.tsNs! < (last?.kind === 'clock-sync' ? last.traceNs : 0n)).toBe(true);
  }

  // the device fds: VFIO_GROUP_GET_DEVICE_FD on the group fd returns them (no names: the
  // argument string needs bpftrace), and the group fd is closed at the end
  const getFd = cap.journal.filter((e) => e['op'] === 'ioctl' && e['cmd'] === 0x3b6a);
  expect(getFd).toHaveLength(sc.devices.length);
  const groupFd = num(getFd[0]?.['fd']);
  const devFds = new Map<string, number>();
  for (const e of getFd) devFds.set(String(e['name']), num(e['ret']));
  for (const fd of devFds.values()) {
    expect(got.records.some((r) => r.kind === 'ioctl' && r.cmd === 0x3b6a && r.fd === groupFd && r.ret === fd)).toBe(true);
  }
  expect(got.records.some((r) => r.kind === 'fd-close' && r.fd === groupFd && r.ret === 0)).toBe(true);

  for (const d of sc.devices) {
    const fd = devFds.get(d.name)!;
    // device_state writes: values (uprobe), widths and errnos as scenarios.json says
    const writes = got.records.filter((r): r is AccessRecord => r.kind === 'access' && r.op === 'pwrite' && r.fd === fd && r.offset === REGION);
    const want = sc.expect.stateWrites[d.name] ?? [];
    expect(
      writes.map((w) => ({ value: w.value === undefined ? undefined : Number(w.value), width: w.size, errno: w.ret !== undefined && w.ret < 0 ? -w.ret : undefined })),
    ).toEqual(want.map((w) => ({ value: w.value, width: w.width ?? 4, errno: w.errno })));
    const resets = got.records.filter((r) => r.kind === 'ioctl' && r.fd === fd && r.cmd === 0x3b6f && r.ret === 0);
    expect(resets).toHaveLength(sc.expect.resets?.[d.name] ?? 0);
  }
}

/** Nothing of a capture for `pid` is left: no instance, no uprobe group. */
export function assertNoTracingLeft(pid: number): void {
  const root = findTracefs();
  expect(root).toBeDefined();
  expect(instancesWithPrefix(root!, `migscope-${pid}-`)).toEqual([]);
  expect(instancesWithPrefix(root!, `migscope-tc-${pid}-`)).toEqual([]);
  expect(uprobeGroupsWithPrefix(root!, `migscope_${pid}_`)).toEqual([]);
}
