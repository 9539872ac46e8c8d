// A v2 save whose end of stream the source's trace never showed is settled by the
// destination that accepted every byte (issue 16): completed, with a reason that says
// exactly what was not seen. Without such a destination, it stays failed.

import { describe, expect, it } from 'vitest';
import { createOpsChecker } from '../../src/check/index.js';
import type { ProtocolOp } from '../../src/decode/ops.js';
import { settleByDestination } from '../../src/track/stream-pairing.js';
import { cleanResume, F, S, v2Trace } from '../check/v2-ops-builder.js';

function sessions(resumeBytes: number[] | undefined) {
  const ops: ProtocolOp[] = [];
  const t = v2Trace('src.trace', ops);
  const d = t.device('gpu0');
  d.open();
  d.flags(F.ALL);
  d.set(S.STOP_COPY, { session: 1 });
  d.read(1, 0x2000);
  d.read(1, 0x1000); // the read() = 0 that followed is not in the trace
  d.set(S.STOP);
  if (resumeBytes !== undefined) cleanResume(v2Trace('dst.trace', ops), 'gpu0', F.ALL, resumeBytes);
  const c = createOpsChecker({ onFinding: () => undefined });
  for (const o of ops) c.op(o.op !== 'gap' && o.src.file === 'dst.trace' ? { ...o, device: { ...o.device, pid: 200 } } : o);
  c.end();
  const { devices, settled } = settleByDestination(c.tracker.devices());
  return { save: devices.flatMap((x) => x.sessions).find((s) => s.kind === 'save'), settled };
}

describe('a source save settled by its destination', () => {
  it('without the destination: failed, the end of the stream never confirmed', () => {
    const { save, settled } = sessions(undefined);
    expect(save?.outcome).toBe('failed');
    expect(save?.reason).toContain('end of the stream was never confirmed');
    expect(settled).toEqual([]);
  });
  it('the destination accepted all 12,288 bytes: completed, saying read() = 0 was not seen', () => {
    const { save, settled } = sessions([0x2000, 0x1000]);
    expect(save?.outcome).toBe('completed');
    expect(save?.reason).toMatch(/accepted the whole stream \(12288 bytes\); the end of the stream \(read\(\) = 0\) was never seen on the source/);
    expect(settled).toHaveLength(1);
  });
  it('a destination that got fewer bytes does not settle it', () => {
    expect(sessions([0x2000]).save?.outcome).toBe('failed');
  });
});
