// Rule fixes pinned from trace records through the real decoder and tracker (issue 16):
// each case failed before; each also shows the rule quiet on the clean variant.

import { describe, expect, it } from 'vitest';
import { createOpsChecker } from '../../src/check/index.js';
import type { Finding } from '../../src/check/types.js';
import { createDecoder } from '../../src/decode/decoder.js';
import type { TraceRecord } from '../../src/record/types.js';
import { recordBuilder, REGION } from '../helpers/records.js';

function analyse(records: readonly TraceRecord[], regionOffsets?: ReadonlyMap<string, bigint>): Finding[] {
  const findings: Finding[] = [];
  const c = createOpsChecker({ onFinding: (f) => findings.push(f) });
  const d = createDecoder({ onOp: (o) => c.op(o), regionOffsets });
  for (const r of records) d.record(r);
  d.end();
  c.end();
  return findings;
}
const rules = (fs: readonly Finding[], id: string) => fs.filter((f) => f.rule === id);

describe('V1-REGION-ID: a region used for migration whose reply has another TYPE cap', () => {
  const flag = new Map([['100:5', REGION]]);
  it('fires when the region named by --region answered TYPE 1/3 (wrong cap), citing the reply', () => {
    const b = recordBuilder();
    const recs = [b.open(5, '0000:65:00.0'), b.regionInfo(5, REGION, 0x100000n, { type: 1, subtype: 3 }), ...b.rmw(5, 1, 3)];
    const f = rules(analyse(recs, flag), 'V1-REGION-ID');
    expect(f.map((x) => x.blame)).toEqual(['driver']);
    expect(f[0]?.message).toContain('type 1 / subtype 3');
    expect(f[0]?.evidence.map((e) => e.src.line)).toContain(2);
  });
  it('is quiet when the reply carries the migration cap, or no TYPE cap (a BAR)', () => {
    const b = recordBuilder();
    expect(rules(analyse([b.open(5, '0000:65:00.0'), b.regionInfo(5, REGION, 0x100000n, 'none'), ...b.rmw(5, 1, 3)], flag), 'V1-REGION-ID')).toEqual([]);
    const c = recordBuilder();
    expect(rules(analyse([c.open(5, '0000:65:00.0'), c.regionInfo(5), ...c.rmw(5, 1, 3)]), 'V1-REGION-ID')).toEqual([]);
  });
});

describe('V1-FAIL-READBACK', () => {
  const failed = (mid: (b: ReturnType<typeof recordBuilder>) => TraceRecord[], readBack: number, writeRet = -5): TraceRecord[] => {
    const b = recordBuilder();
    return [b.open(5, '0000:65:00.0'), b.regionInfo(5), ...b.rmw(5, 1, 3), b.pread(5, REGION, 4, 3n), b.pwrite(5, REGION, 4, 2n, writeRet), ...mid(b), b.pread(5, REGION, 4, BigInt(readBack))];
  };
  it('a failed read between the failed write and the read-back does not cancel the check', () => {
    const f = rules(analyse(failed((b) => [b.pread(5, REGION, 4, undefined, -5)], 0)), 'V1-FAIL-READBACK');
    expect(f.map((x) => x.blame)).toEqual(['driver']);
  });
  it('a short write (no errno: the driver took 2 of 4 bytes) is a failed transition too', () => {
    const f = rules(analyse(failed(() => [], 0, 2)), 'V1-FAIL-READBACK');
    expect(f).toHaveLength(1);
  });
  it('quiet when the read-back shows the previous state', () => {
    expect(rules(analyse(failed((b) => [b.pread(5, REGION, 4, undefined, -5)], 3)), 'V1-FAIL-READBACK')).toEqual([]);
  });
});

describe('V1-ERROR-ORIGIN', () => {
  it('an EAGAIN failure does not explain the error state (EAGAIN is not a failed transition)', () => {
    const b = recordBuilder();
    const recs = [b.open(5, '0000:65:00.0'), b.regionInfo(5), ...b.rmw(5, 1, 3), b.pread(5, REGION, 4, 3n), b.pwrite(5, REGION, 4, 2n, -11), b.pread(5, REGION, 4, 6n)];
    expect(rules(analyse(recs), 'V1-ERROR-ORIGIN').map((x) => x.blame)).toEqual(['driver']);
  });
  it('quiet when a write failed hard before the error state', () => {
    const b = recordBuilder();
    const recs = [b.open(5, '0000:65:00.0'), b.regionInfo(5), ...b.rmw(5, 1, 3), b.pread(5, REGION, 4, 3n), b.pwrite(5, REGION, 4, 2n, -5), b.pread(5, REGION, 4, 6n)];
    expect(rules(analyse(recs), 'V1-ERROR-ORIGIN')).toEqual([]);
  });
});
