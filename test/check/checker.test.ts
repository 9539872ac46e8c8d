import { describe, expect, it } from 'vitest';
import { ruleCatalogue, V1_RULES, createOpsChecker } from '../../src/check/index.js';
import type { Finding } from '../../src/check/types.js';
import { check, EINVAL, trace } from './ops-builder.js';
import { cleanDest, cleanSource } from './scenarios.js';

const SPEC_IDS = [
  'V1-REGION-ID', 'V1-WIDTH', 'V1-RO-FIELD', 'V1-RESERVED-FIELD', 'V1-RESERVED-STATE', 'V1-ERROR-ENTER',
  'V1-ERROR-EXIT', 'V1-ERROR-ORIGIN', 'V1-FAIL-READBACK', 'V1-USER-READBACK', 'V1-RMW', 'V1-ASYNC',
  'V1-REFUSE-VALID', 'V1-EAGAIN', 'V1-FAIL-RECOVER', 'V1-SAVING-TO-RESUMING', 'V1-SAVE-ORDER',
  'V1-SAVE-STABLE', 'V1-DATA-OFFSET', 'V1-SAVE-DRAIN', 'V1-EMPTY-ITER', 'V1-RESUME-ORDER',
  'V1-STATE-SCOPE', 'V1-SEGMENTS',
];

describe('rule registry', () => {
  it('has every §6.1 id exactly once, plus V1-GROUP-RECOVER', () => {
    const ids = V1_RULES.map((r) => r.id);
    expect(ids).toEqual([...SPEC_IDS, 'V1-GROUP-RECOVER']);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('describes every rule for docs and reports', () => {
    for (const r of ruleCatalogue()) {
      expect(r.title.length).toBeGreaterThan(5);
      expect(r.description.length).toBeGreaterThan(40);
      expect(r.uncertainWhen.length).toBeGreaterThan(5);
      expect(r.specRef).toMatch(/§/);
      expect(r.severities.length).toBeGreaterThan(0);
      expect(r.blames.length).toBeGreaterThan(0);
    }
  });
});

describe('clean QEMU-like migration', () => {
  it('reports no finding for a live migration (source) and a resume (destination)', () => {
    const src = trace('src.trace');
    cleanSource(src.device('0000:65:00.1', { pid: 100, fd: 5 }));
    const dst = trace('dst.trace');
    cleanDest(dst.device('0000:65:00.1', { pid: 200, fd: 7 }));
    expect(check([...src.ops, ...dst.ops])).toEqual([]);
  });

  it('reports no finding when the two ends are interleaved in time', () => {
    const src = trace('src.trace');
    cleanSource(src.device('0000:65:00.1', { pid: 100, fd: 5 }));
    const dst = trace('dst.trace');
    cleanDest(dst.device('0000:65:00.1', { pid: 200, fd: 7 }));
    const merged = [...src.ops, ...dst.ops].sort((a, b) => Number((a.tsNs ?? 0n) - (b.tsNs ?? 0n)));
    expect(check(merged)).toEqual([]);
  });

  it('reports no finding for the same trace without any values (syscall-only tracer)', () => {
    const src = trace('src.trace');
    cleanSource(src.device('0000:65:00.1', { pid: 100, fd: 5 }), { notifier: false });
    const blind = src.ops.map((o) =>
      o.op === 'v1-state-read' || o.op === 'v1-state-write' || o.op === 'v1-field' ? { ...o, value: undefined } : o,
    ).filter((o) => o.op !== 'qemu');
    expect(check(blind)).toEqual([]);
  });
});

describe('checker', () => {
  it('delivers findings as they happen (push), not only at the end', () => {
    const t = trace();
    const d = t.device('dev');
    d.open();
    d.write(5, { errno: EINVAL });
    const seen: Finding[] = [];
    const c = createOpsChecker({ onFinding: (f) => seen.push(f) });
    for (const o of t.ops) c.op(o);
    expect(seen.map((f) => f.rule)).toContain('V1-RESERVED-STATE');
    c.end();
  });

  it('keeps devices with the same name in different processes apart', () => {
    const t = trace();
    const a = t.device('0000:65:00.1', { pid: 1 });
    const b = t.device('0000:65:00.1', { pid: 2 });
    a.open();
    b.open();
    a.set(1, 3);
    b.read(1); // b is still RUNNING: not a self transition of a
    a.read(3);
    expect(check(t.ops)).toEqual([]);
  });

  it('ignores ops after end()', () => {
    const t = trace();
    const d = t.device('dev');
    d.write(5);
    const seen: Finding[] = [];
    const c = createOpsChecker({ onFinding: (f) => seen.push(f) });
    c.end();
    for (const o of t.ops) c.op(o);
    expect(seen).toEqual([]);
  });
});

describe('lost events', () => {
  it('marks findings of a device first seen after a gap uncertain, but not of one opened after it', () => {
    const t = trace();
    t.gap();
    const a = t.device('a');
    a.read(1); // a's earlier events may be lost...
    a.write(0, { errno: EINVAL }); // ... but this read re-established its state
    const b = t.device('b');
    b.open();
    b.write(0, { errno: EINVAL });
    const c = t.device('c');
    c.write(0, { errno: EINVAL }); // state unknown: quiet
    const f = check(t.ops).filter((x) => x.rule === 'V1-REFUSE-VALID');
    expect(f.map((x) => [x.device, x.certainty])).toEqual([
      ['a', 'certain'],
      ['b', 'certain'],
    ]);
  });

  it('keeps findings after a gap until the state is re-established by a seen read', () => {
    const t = trace();
    const d = t.device('dev');
    d.open();
    t.gap();
    d.write(0, { errno: EINVAL }); // uncertain: the device may not be RUNNING any more
    d.read(1);
    d.write(0, { errno: EINVAL }); // certain again
    const f = check(t.ops).filter((x) => x.rule === 'V1-REFUSE-VALID');
    expect(f.map((x) => x.certainty)).toEqual(['uncertain', 'certain']);
  });
});

describe('single-record rules after a gap', () => {
  it('stay certain: lost events cannot explain what one record shows', () => {
    const t = trace();
    t.gap();
    const d = t.device('dev');
    d.field('pending_bytes', true, 1n);
    d.field('reserved', false, 1n);
    d.write(5);
    d.write(6);
    const f = check(t.ops).filter((x) => ['V1-RO-FIELD', 'V1-RESERVED-FIELD', 'V1-RESERVED-STATE', 'V1-ERROR-ENTER'].includes(x.rule));
    expect(new Set(f.map((x) => x.rule)).size).toBe(4);
    expect(f.every((x) => x.certainty === 'certain')).toBe(true);
  });
});
