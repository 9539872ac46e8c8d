// withDowntimeShares (track/downtime-shares.ts) against a plain scan: for each save with a
// stop-copy window, the longest window of another device that overlaps it on a clock both
// can be compared on (wall, or one input's own trace clock), ties to the first in
// device/session order; the session's device dominates unless that other one is longer.
// The window tables keep start, end and device a row and tell ties by row, so this pins
// the answers on many random layouts: several devices, devices sharing an id, two inputs
// on two clocks, equal durations, sessions without a window, and a few whose reported
// duration is not end − start (the table keeps those aside).

import { describe, expect, it } from 'vitest';
import { withDowntimeShares, type ClockContext } from '../../src/track/downtime-shares.js';
import type { DeviceTimeline, MigrationSession } from '../../src/track/types.js';
import { createSessionList } from '../../src/track/session-list.js';
import { headsOf } from '../../src/track/spilled-list.js';
import { encodeValue } from '../../src/track/spill-codec.js';
import { spillFiles } from '../helpers/spill-files.js';

const spill = spillFiles();

function lcg(seed: number): () => number {
  let x = seed;
  return () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

interface Win {
  readonly device: string;
  readonly order: number;
  readonly file: string;
  readonly start: bigint;
  readonly end: bigint;
  readonly dur: bigint;
}

function layout(seed: number): { devices: DeviceTimeline[]; wins: (Win | undefined)[][] } {
  const rnd = lcg(seed);
  const ids = ['a', 'b', 'c', 'a']; // two timelines named 'a': they are one device to each other
  const devices: DeviceTimeline[] = [];
  const wins: (Win | undefined)[][] = [];
  let order = 0;
  ids.slice(0, 2 + Math.floor(rnd() * 3)).forEach((id) => {
    const sessions: MigrationSession[] = [];
    const mine: (Win | undefined)[] = [];
    const n = 1 + Math.floor(rnd() * 12);
    for (let k = 0; k < n; k++) {
      const file = rnd() < 0.5 ? 'wall.txt' : 'mono.txt';
      const start = BigInt(Math.floor(rnd() * 40)) * 1000n;
      // Durations from a few values, so that equal ones compete.
      const dur = BigInt(1 + Math.floor(rnd() * 4)) * 2000n;
      const hasWindow = rnd() < 0.8;
      // Not a session convergence.ts makes, but one the table must still get right.
      const reported = rnd() < 0.1 ? dur + 3000n : dur;
      const conv = {
        stopCopyStartNs: start,
        stopCopyEndNs: start + dur,
        actualStopCopyNs: hasWindow ? reported : undefined,
        downtime: { deviceStopCopyNs: reported },
      };
      sessions.push({ kind: 'save', src: { file, line: k + 1 }, convergence: conv } as unknown as MigrationSession);
      mine.push(hasWindow ? { device: id, order, file, start, end: start + dur, dur: reported } : undefined);
      order++;
    }
    devices.push({ id, sessions } as unknown as DeviceTimeline);
    wins.push(mine);
  });
  return { devices, wins };
}

/** wall.txt is on wall-clock time; mono.txt on its own trace clock (no offset): its windows meet only each other. */
const ctx: ClockContext = { clockOf: (f) => (f === 'wall.txt' ? 'realtime' : 'mono'), traceOffsetNs: undefined };

function expected(all: readonly (Win | undefined)[], w: Win): Win | undefined {
  let best: Win | undefined;
  for (const o of all) {
    if (o === undefined || o.device === w.device || o.file !== w.file) continue;
    if (o.start > w.end || o.end < w.start) continue;
    if (best === undefined || o.dur > best.dur || (o.dur === best.dur && o.order < best.order)) best = o;
  }
  return best;
}

describe('downtime shares against a plain scan', () => {
  it('gives every window the longest overlapping window of another device, ties to the first', () => {
    let compared = 0;
    let withOther = 0;
    let dominatedByOther = 0;
    let oddAnswers = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const { devices, wins } = layout(seed);
      const all = wins.flat();
      const shared = withDowntimeShares(devices, [], ctx);
      shared.forEach((d, di) => {
        d.sessions.forEach((s, k) => {
          const w = wins[di]?.[k];
          const dt = s.convergence?.downtime;
          if (w === undefined) {
            expect(dt?.dominantDevice).toBeUndefined();
            return;
          }
          const want = expected(all, w);
          compared++;
          expect(dt?.otherDevicesNs).toBe(want?.dur);
          const dominant = want !== undefined && want.dur > w.dur ? want.device : w.device;
          expect(dt?.dominantDevice).toBe(dominant);
          if (want !== undefined) withOther++;
          if (want !== undefined && want.dur !== want.end - want.start) oddAnswers++;
          if (dominant !== w.device) dominatedByOther++;
        });
      });
    }
    // the layouts exercised every branch
    expect(compared).toBeGreaterThan(1000);
    expect(withOther).toBeGreaterThan(300);
    expect(dominatedByOther).toBeGreaterThan(100);
    expect(compared - withOther).toBeGreaterThan(100);
    expect(oddAnswers).toBeGreaterThan(20);
  });

  it('names the dominating device right past 65,535 devices (the device column widens from 2 bytes to 4)', () => {
    // 70,000 devices of one save each, side by side; the last two overlap, the later one longer.
    const n = 70_000;
    const devices: DeviceTimeline[] = [];
    for (let i = 0; i < n; i++) {
      const start = i < n - 2 ? BigInt(i) * 10_000n : BigInt(n - 2) * 10_000n;
      const dur = i === n - 1 ? 5000n : 1000n;
      const conv = { stopCopyStartNs: start, stopCopyEndNs: start + dur, actualStopCopyNs: dur, downtime: { deviceStopCopyNs: dur } };
      devices.push({ id: `dev-${i}`, sessions: [{ kind: 'save', src: { file: 'wall.txt', line: i + 1 }, convergence: conv } as unknown as MigrationSession] } as unknown as DeviceTimeline);
    }
    const shared = withDowntimeShares(devices, [], ctx);
    const dt = (i: number) => shared[i]?.sessions[0]?.convergence?.downtime;
    expect(dt(n - 2)?.dominantDevice).toBe(`dev-${n - 1}`);
    expect(dt(n - 2)?.otherDevicesNs).toBe(5000n);
    expect(dt(n - 1)?.dominantDevice).toBe(`dev-${n - 1}`);
    expect(dt(n - 1)?.otherDevicesNs).toBe(1000n);
    // Device 65,536 onwards were stored after the column widened; one alone keeps its own name.
    expect(dt(65_540)?.dominantDevice).toBe('dev-65540');
    expect(dt(65_540)?.otherDevicesNs).toBeUndefined();
  });

  it('gives the same shares when the sessions are spilled and their windows come from the heads before them', () => {
    let spilled = 0;
    for (let seed = 1; seed <= 120; seed++) {
      // The fields the session list's totals read, which the layouts leave out.
      const devices = layout(seed).devices.map((d) => ({ ...d, sessions: d.sessions.map((s) => ({ ...s, outcome: 'completed', bytes: 0, pending: [], pendingDropped: 0, notRunningNs: 0n }) as MigrationSession) }));
      const file = spill();
      const onFile = devices.map((d) => {
        const list = createSessionList(undefined, { file, after: 1 });
        for (const s of d.sessions) list.push(s);
        return { ...d, sessions: list.items };
      });
      for (const d of onFile) if (headsOf(d.sessions) !== undefined && d.sessions.length > 1) spilled++;
      const plain = withDowntimeShares(devices, [], ctx).map((d) => d.sessions.map((s) => encodeValue(s.convergence)));
      const fromHeads = withDowntimeShares(onFile, [], ctx).map((d) => d.sessions.map((s) => encodeValue(s.convergence)));
      expect(fromHeads).toEqual(plain);
    }
    expect(spilled).toBeGreaterThan(200);
  });
});
