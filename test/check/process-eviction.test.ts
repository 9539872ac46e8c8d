// The cross-device rules and a gone process (host mode: the tracker's process-evicted fact,
// track/facts.ts). V2-STREAM-BYTES and V1-SEGMENTS pair a save with a resume of the same
// name in another process; when the source exits first, its finished end is kept while a
// device of that name is open in another process (the destination of a local migration
// opens its devices before the stream starts), and dropped when none is: then nothing is
// left of the gone process in the rules' indexes.

import { describe, expect, it } from 'vitest';
import type { DeviceOp, ProtocolOp, V2Op } from '../../src/decode/ops.js';
import { createChecker } from '../../src/check/checker.js';
import type { Finding } from '../../src/check/types.js';
import { createTracker } from '../../src/track/tracker.js';
import { trace } from './ops-builder.js';
import { cleanSource, resumeChunk } from './scenarios.js';
import { cleanResume, cleanSave, v2Trace } from './v2-ops-builder.js';

type Op = DeviceOp | V2Op;

function run(ops: readonly ProtocolOp[], evict: boolean): { findings: Finding[]; rules: Record<string, number>[] } {
  const findings: Finding[] = [];
  const checker = createChecker({ onFinding: (f) => findings.push(f) });
  const tracker = createTracker({ observer: checker.observer, evictGoneProcesses: evict });
  const rules: Record<string, number>[] = [];
  for (const o of ops) {
    tracker.op(o);
    if (o.op === 'process-exit') rules.push({ ...checker.liveEntries().rules });
  }
  tracker.end();
  checker.end();
  return { findings, rules };
}

const withPid = (ops: readonly ProtocolOp[], pid: number): Op[] => ops.flatMap((o) => (o.op === 'gap' || o.op === 'process-exit' ? [] : [{ ...o, device: { ...o.device, pid } }]));
const close = (last: Op): Op => ({ op: 'close', device: last.device, tsNs: last.tsNs, tid: last.tid, comm: last.comm, src: last.src });
const exit = (last: Op, pid: number): ProtocolOp => ({ op: 'process-exit', pid, why: 'exit', tsNs: last.tsNs, src: last.src });

/**
 * Source (pid 100) and destination (pid 200) of one device name. `destOpenFirst`: the
 * destination opened its device before the source exited (a live migration); else it
 * starts after the source is gone (a save to a file restored later, say).
 */
function story(src: Op[], dst: Op[], destOpenFirst: boolean): ProtocolOp[] {
  const [dstOpen, ...dstRest] = dst;
  const s = src.at(-1) as Op;
  const d = dst.at(-1) as Op;
  const source = [...src, close(s), exit(s, 100)];
  const dest = [...dstRest, close(d), exit(d, 200)];
  return destOpenFirst ? [dstOpen as Op, ...source, ...dest] : [...source, dstOpen as Op, ...dest];
}

function v2Story(resumeBytes: number[], destOpenFirst: boolean): ProtocolOp[] {
  const srcOps: ProtocolOp[] = [];
  cleanSave(v2Trace('host.trace', srcOps), 'gpu0'); // reads 0x7000 bytes
  const dstOps: ProtocolOp[] = [];
  cleanResume(v2Trace('host.trace', dstOps), 'gpu0', undefined, resumeBytes);
  return story(withPid(srcOps, 100), withPid(dstOps, 200), destOpenFirst);
}

function v1Story(destOpenFirst: boolean, destChunk: bigint): ProtocolOp[] {
  const src = trace('host.trace');
  cleanSource(src.device('0000:65:00.1', { pid: 100 }));
  const dst = trace('host.trace');
  const d = dst.device('0000:65:00.1', { pid: 200 });
  d.open();
  d.region();
  d.set(1, 4);
  resumeChunk(d, 0x2000n);
  resumeChunk(d, destChunk); // the source's second chunk is 0x1000
  resumeChunk(d, 0x1000n);
  d.set(4, 1);
  return story(withPid(src.ops, 100), withPid(dst.ops, 200), destOpenFirst);
}

describe('V2-STREAM-BYTES when the source exits first', () => {
  const rule = (r: { findings: Finding[] }): string[] => r.findings.filter((f) => f.rule === 'V2-STREAM-BYTES').map((f) => `${f.blame}/${f.severity}`);

  it('still pairs with a destination that was open when the source exited, and keeps nothing once both are gone', () => {
    const r = run(v2Story([0x2000, 0x2000], true), true);
    expect(rule(r)).toEqual(['vmm/warning']);
    expect(r.rules.map((x) => x['V2-STREAM-BYTES'])).toEqual([1, 0]);
    expect(rule(run(v2Story([0x4000, 0x3000], true), true))).toEqual([]);
  });

  it('drops the gone source’s end when no device of its name is open elsewhere (analyze, keeping everything, pairs it)', () => {
    const r = run(v2Story([0x2000, 0x2000], false), true);
    expect(rule(r)).toEqual([]);
    expect(r.rules.map((x) => x['V2-STREAM-BYTES'])).toEqual([0, 0]);
    expect(rule(run(v2Story([0x2000, 0x2000], false), false))).toEqual(['vmm/warning']);
  });
});

describe('V1-SEGMENTS when the source exits first', () => {
  const rule = (r: { findings: Finding[] }): Finding[] => r.findings.filter((f) => f.rule === 'V1-SEGMENTS');

  it('still compares with a destination that was open when the source exited, and keeps nothing once both are gone', () => {
    const r = run(v1Story(true, 0x800n), true);
    expect(rule(r)).toHaveLength(1);
    expect(r.rules.at(-1)?.['V1-SEGMENTS']).toBe(0);
    expect(rule(run(v1Story(true, 0x1000n), true))).toEqual([]);
  });

  it('drops the gone source’s sessions when no device of its name is open elsewhere', () => {
    const r = run(v1Story(false, 0x800n), true);
    expect(r.rules.map((x) => x['V1-SEGMENTS'])).toEqual([0, 0]);
    expect(rule(r)).toEqual([]);
    expect(rule(run(v1Story(false, 0x800n), false))).toHaveLength(1);
  });
});
