// A generated soak-test analysis: `sessions` v1 save sessions spread over `devices` devices,
// each RUNNING → PRE_COPY → SAVING → STOP → RUNNING, with every 97th switch to
// stop-and-copy failing (EINVAL) and raising a finding, and a lost-events gap every 5,000
// sessions. Durations, byte counts and line steps carry deterministic pseudo-random jitter
// (ns resolution, like a real trace clock) so that the file size a bench reports is not
// flattered by perfectly periodic data. Used by the 100,000-session browser test and by
// bench/report-html.ts.

import type { Analysis } from '../../src/analysis/types.js';
import type { Finding } from '../../src/check/types.js';
import type { DeviceTimeline, MigrationSession, StateInterval, StateWrite } from '../../src/track/types.js';

const US = 1_000n;

/** Deterministic jitter: a 32-bit LCG (Numerical Recipes constants). */
function lcg(seed: number): (n: number) => number {
  let x = seed >>> 0;
  return (n: number): number => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x % n;
  };
}

export function largeAnalysis(sessions = 100_000, devices = 4): Analysis {
  const T0 = 5_000_000_000_000n;
  const file = 'soak.bt.txt';
  const findings: Finding[] = [];
  const gaps: { tsNs: bigint; count: number; file: string; line: number; byteOffset: undefined }[] = [];
  const devs: DeviceTimeline[] = [];
  let line = 1;
  const rnd = lcg(0x6d696773);
  const j = (maxUs: number): bigint => BigInt(rnd(maxUs * 1000)); // ns jitter up to maxUs µs
  for (let dv = 0; dv < devices; dv++) {
    const id = `0000:${(0x10 + dv).toString(16)}:00.0`;
    const timeline: StateInterval[] = [];
    const writes: StateWrite[] = [];
    const ss: MigrationSession[] = [];
    const n = Math.floor(sessions / devices) + (dv < sessions % devices ? 1 : 0);
    // Each device's cycle is 10 ms, offset per device so lanes differ.
    let t = T0 + BigInt(dv) * 1_700n * US;
    for (let k = 0; k < n; k++) {
      const fail = k % 97 === 96;
      const l = line;
      line += 12 + rnd(6);
      const a = t;
      const pre = a + 2_000n * US + j(500);
      const sav = pre + 4_000n * US + j(2000);
      const stop = sav + 1_000n * US + j(300);
      const end = stop + 1_000n * US + j(200);
      const preBytes = 4096 * (8 + rnd(24));
      const savBytes = 4096 * (1 + rnd(4));
      timeline.push({ state: 'RUNNING', raw: 1, startNs: a, endNs: pre, certainty: k === 0 ? 'inferred' : 'known', bytes: 0, src: { file, line: l } });
      writes.push({ tsNs: pre, fromRaw: 1, from: 'RUNNING', toRaw: 3, to: 'PRE_COPY', result: 'ok', errno: undefined, readBackRaw: undefined, src: { file, line: l + 1 } });
      if (fail) {
        timeline.push({ state: 'PRE_COPY', raw: 3, startNs: pre, endNs: stop, certainty: 'known', bytes: preBytes, src: { file, line: l + 1 } });
        writes.push({ tsNs: sav, fromRaw: 3, from: 'PRE_COPY', toRaw: 2, to: 'SAVING', result: 'failed', errno: 22, readBackRaw: 3, src: { file, line: l + 5 } });
        writes.push({ tsNs: stop, fromRaw: 3, from: 'PRE_COPY', toRaw: 1, to: 'RUNNING', result: 'ok', errno: undefined, readBackRaw: undefined, src: { file, line: l + 7 } });
        timeline.push({ state: 'RUNNING', raw: 1, startNs: stop, endNs: end, certainty: 'known', bytes: 0, src: { file, line: l + 7 } });
        ss.push({ kind: 'save', startNs: pre, endNs: stop, outcome: 'failed', states: ['PRE_COPY', 'RUNNING'], iterations: 2, bytes: preBytes, pending: [{ tsNs: pre + 100n * US, bytes: BigInt(preBytes) }, { tsNs: sav - 100n * US, bytes: BigInt(savBytes) }], pendingDropped: 0, notRunningNs: 0n, src: { file, line: l + 1 } });
        findings.push({
          rule: 'V1-REFUSE-VALID',
          severity: 'warning',
          blame: 'driver',
          device: id,
          tsNs: sav,
          message: 'device_state write 011b → 010b failed with EINVAL',
          evidence: [{ src: { file, line: l + 5 }, what: 'pwrite64 device_state = 2 returned -22' }],
          certainty: 'certain',
          specRef: 'spec §6.1 V1-REFUSE-VALID',
        });
      } else {
        timeline.push({ state: 'PRE_COPY', raw: 3, startNs: pre, endNs: sav, certainty: 'known', bytes: preBytes, src: { file, line: l + 1 } });
        timeline.push({ state: 'SAVING', raw: 2, startNs: sav, endNs: stop, certainty: 'known', bytes: savBytes, src: { file, line: l + 5 } });
        timeline.push({ state: 'STOP', raw: 0, startNs: stop, endNs: end, certainty: 'known', bytes: 0, src: { file, line: l + 8 } });
        writes.push({ tsNs: sav, fromRaw: 3, from: 'PRE_COPY', toRaw: 2, to: 'SAVING', result: 'ok', errno: undefined, readBackRaw: undefined, src: { file, line: l + 5 } });
        writes.push({ tsNs: stop, fromRaw: 2, from: 'SAVING', toRaw: 0, to: 'STOP', result: 'ok', errno: undefined, readBackRaw: undefined, src: { file, line: l + 8 } });
        writes.push({ tsNs: end, fromRaw: 0, from: 'STOP', toRaw: 1, to: 'RUNNING', result: 'ok', errno: undefined, readBackRaw: undefined, src: { file, line: l + 10 } });
        ss.push({
          kind: 'save',
          startNs: pre,
          endNs: stop,
          outcome: 'completed',
          states: ['PRE_COPY', 'SAVING', 'STOP'],
          iterations: 3,
          bytes: preBytes + savBytes,
          pending: [
            { tsNs: pre + 100n * US, bytes: BigInt(preBytes) },
            { tsNs: sav - 100n * US, bytes: BigInt(savBytes) },
            { tsNs: stop - 100n * US, bytes: 0n },
          ],
          pendingDropped: 0,
          notRunningNs: stop - sav + (end - stop),
          src: { file, line: l + 1 },
        });
      }
      if (dv === 0 && k % 5000 === 4999) gaps.push({ tsNs: sav + 10n * US, count: 40 + (k % 7), file, line: l + 4, byteOffset: undefined });
      t = end + 4_000n * US + j(1000);
    }
    devs.push({
      id,
      pid: 7000 + dv,
      comm: 'qemu-system-x86',
      fd: 20 + dv,
      naming: 'GET_DEVICE_FD',
      protocol: 'v1',
      region: { index: 9, offset: 0x90000000000n, size: 0x100000n, source: 'region-info', evidence: `${file}:3` },
      timeline,
      stateWrites: writes,
      sessions: ss,
      resets: 0,
      intervalsDropped: 0,
    });
  }
  findings.sort((x, y) => (x.tsNs === y.tsNs ? 0 : (x.tsNs ?? 0n) < (y.tsNs ?? 0n) ? -1 : 1));
  return {
    tool: { name: 'migscope', version: '0.1.0' },
    host: 'soak-host',
    input: {
      files: [{ path: file, format: 'bpftrace-text', clock: 'mono' }],
      records: line,
      malformed: 0,
      duplicates: 0,
      timeBackwards: 0,
      lostEvents: gaps.reduce((n, g) => n + g.count, 0),
      gaps,
      problems: [],
      problemsDropped: 0,
      firstTsNs: T0,
      lastTsNs: undefined,
    },
    clock: { source: 'relative', clock: 'mono', offsetNs: undefined },
    devices: devs,
    findings,
  };
}
