// The sequences the tracker follows for rules that used to keep their own (issue 16): the
// v1 resume chunk (V1-RESUME-ORDER), EAGAIN streaks (V1-EAGAIN). Each test reads the view
// the rules read (tracker.viewOf) after a few ops, so a drift between the tracker and what
// the rule expects shows here, beside the rule tests in test/check.

import { describe, expect, it } from 'vitest';
import { createTracker } from '../../src/track/tracker.js';
import type { ProtocolOp } from '../../src/decode/ops.js';
import { EAGAIN, EIO, trace } from '../check/ops-builder.js';

const ID = '0000:65:00.0';

/** A trace with the device opened (RUNNING) and its migration region known. */
function opened() {
  const t = trace();
  const d = t.device(ID);
  d.open();
  d.region();
  return { t, d };
}

function viewAfter(ops: readonly ProtocolOp[]) {
  const tracker = createTracker({});
  for (const o of ops) tracker.op(o);
  const v = tracker.viewOf(ID);
  if (v === undefined) throw new Error('no view');
  return v;
}

describe('tracker: the v1 resume sequence (ctx.resume)', () => {
  it('follows a chunk from its data_offset read to the data_size write, once the entry into resuming was seen', () => {
    const { t, d } = opened();
    d.write(4); // RUNNING → RESUMING
    let v = viewAfter(t.ops);
    expect(v.resume.entry).toBeDefined();
    expect(v.resume.chunk).toBeUndefined();
    d.dataOffset(0x1000n);
    d.data(true, 0x1000n, 0x800);
    d.data(true, 0x1800n, 0x800, { errno: EIO });
    v = viewAfter(t.ops);
    expect(v.resume.chunk).toMatchObject({ base: 0x1000n, bytes: 0x800n, writes: 2, bytesUnknown: true });
    d.dataSizeWrite(0x1000n);
    v = viewAfter(t.ops);
    expect(v.resume.chunk).toBeUndefined();
    expect(v.resume.boundary?.op.value).toBe(0x1000n);
    d.write(1); // RESUMING → RUNNING: the sequence is forgotten
    v = viewAfter(t.ops);
    expect(v.resume).toMatchObject({ offSeen: true, entry: undefined, boundary: undefined, chunk: undefined });
  });

  it('does not see an entry when the trace starts in resuming (state unknown), but follows chunks', () => {
    const t = trace();
    const d = t.device(ID);
    d.region();
    d.dataOffset(0x1000n);
    d.data(true, 0x1000n, 0x100);
    d.read(4); // now known to be resuming: no entry was shown
    const v = viewAfter(t.ops);
    expect(v.resume.entry).toBeUndefined();
    expect(v.resume.chunk).toMatchObject({ bytes: 0x100n, writes: 1 });
  });

  it('ignores data-path ops while the device is known to be outside resuming', () => {
    const { t, d } = opened();
    d.dataOffset(0x1000n);
    expect(viewAfter(t.ops).resume.chunk).toBeUndefined();
  });
});

describe('tracker: EAGAIN streaks (ctx.eagain)', () => {
  it('counts consecutive EAGAIN device_state writes; reads in between do not break it, a success does', () => {
    const { t, d } = opened();
    const first = t.ops.length;
    d.write(3, { errno: EAGAIN });
    d.read(1);
    d.write(3, { errno: EAGAIN });
    let v = viewAfter(t.ops);
    expect(v.eagain.state?.count).toBe(2);
    expect(v.eagain.state?.first).toBe(t.ops[first]);
    expect(v.eagain.data).toBeUndefined();
    d.write(3);
    v = viewAfter(t.ops);
    expect(v.eagain.state).toBeUndefined();
  });

  it('keeps the data-path streak apart from the device_state one; a hard failure ends it', () => {
    const { t, d } = opened();
    d.write(3);
    d.pending(undefined, { errno: EAGAIN });
    d.dataOffset(undefined, { errno: EAGAIN });
    let v = viewAfter(t.ops);
    expect(v.eagain.data?.count).toBe(2);
    expect(v.eagain.state).toBeUndefined();
    d.pending(undefined, { errno: EIO });
    v = viewAfter(t.ops);
    expect(v.eagain.data).toBeUndefined();
  });
});
