// The resume path and the two ends together: V1-RESUME-ORDER, V1-SEGMENTS.

import { describe, expect, it } from 'vitest';
import { check, EINVAL, lines, only, trace, type Dev } from './ops-builder.js';
import { cleanDest, cleanSource, OFF, resumeChunk } from './scenarios.js';

function resuming(d: Dev): void {
  d.open();
  d.region();
  d.set(1, 4);
}

describe('V1-RESUME-ORDER', () => {
  it('fires a VMM error for a data write before any data_offset read, once per chunk', () => {
    const t = trace();
    const d = t.device('dev');
    resuming(d);
    const w = d.data(true, OFF, 8);
    d.data(true, OFF + 8n, 8);
    const f = only(check(t.ops), 'V1-RESUME-ORDER');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ blame: 'vmm', severity: 'error', certainty: 'certain' });
    expect(lines(f[0])).toEqual([w]);
  });

  it('fires a VMM error for a data write below data_offset or past the region', () => {
    const t = trace();
    const d = t.device('dev');
    resuming(d);
    const o = d.dataOffset(OFF);
    const w = d.data(true, OFF - 8n, 8);
    d.dataSizeWrite(8n);
    d.dataOffset(OFF);
    d.data(true, 0xffff8n, 16); // region is 0x100000
    const f = only(check(t.ops), 'V1-RESUME-ORDER');
    expect(f).toHaveLength(2);
    expect(lines(f[0])).toEqual([o, w]);
  });

  it('fires a VMM warning when data_size differs from the bytes written', () => {
    const t = trace();
    const d = t.device('dev');
    resuming(d);
    const o = d.dataOffset(OFF);
    d.data(true, OFF, 0x800);
    const s = d.dataSizeWrite(0x1000n);
    const f = only(check(t.ops), 'V1-RESUME-ORDER');
    expect(f.map((x) => [x.blame, x.severity])).toEqual([['vmm', 'warning']]);
    expect(lines(f[0])).toEqual([o, s]);
    expect(f[0]?.message).toContain('0x800');
  });

  it('fires a VMM error for a data_size write with no data_offset read for the chunk', () => {
    const t = trace();
    const d = t.device('dev');
    resuming(d);
    resumeChunk(d, 0x1000n);
    d.data(true, OFF, 8); // data without a new data_offset read
    d.dataSizeWrite(8n);
    const f = only(check(t.ops), 'V1-RESUME-ORDER');
    expect(f.map((x) => x.severity)).toEqual(['error', 'error']);
  });

  it('is quiet on the QEMU order', () => {
    const t = trace();
    const d = t.device('dev');
    resuming(d);
    resumeChunk(d, 0x2000n);
    resumeChunk(d, 0x1000n);
    d.set(4, 1);
    expect(only(check(t.ops), 'V1-RESUME-ORDER')).toEqual([]);
  });

  it('does not compare sizes when no data write was seen (mmapped data section)', () => {
    const t = trace();
    const d = t.device('dev');
    resuming(d);
    d.dataOffset(OFF);
    d.dataSizeWrite(0x1000n);
    expect(only(check(t.ops), 'V1-RESUME-ORDER')).toEqual([]);
  });

  it('checks the order without values, once a chunk boundary was seen', () => {
    const t = trace();
    const d = t.device('dev');
    d.dataOffset(undefined);
    d.data(true, OFF, 8);
    d.dataSizeWrite(undefined);
    d.data(true, OFF, 8); // no data_offset read for this chunk
    const f = only(check(t.ops), 'V1-RESUME-ORDER');
    expect(f.map((x) => x.severity)).toEqual(['error']);
    const u = trace();
    u.device('dev').data(true, OFF, 8); // capture started mid-chunk
    expect(only(check(u.ops), 'V1-RESUME-ORDER')).toEqual([]);
  });

  it('is uncertain when events were lost inside the chunk', () => {
    const t = trace();
    const d = t.device('dev');
    resuming(d);
    d.dataOffset(OFF);
    d.data(true, OFF, 0x800);
    t.gap();
    d.dataSizeWrite(0x1000n);
    expect(only(check(t.ops), 'V1-RESUME-ORDER')[0]?.certainty).toBe('uncertain');
  });
});

describe('V1-SEGMENTS', () => {
  const NAME = '0000:65:00.1';

  /** Lines of the clean source's data_size reads (chunks 0x2000, 0x1000, 0x1000). */
  const sourceSizeLines: number[] = [];

  function pair(dest: (d: Dev) => void): ReturnType<typeof check> {
    const src = trace('src.trace');
    cleanSource(src.device(NAME, { pid: 100 }));
    sourceSizeLines.length = 0;
    for (const o of src.ops) if (o.op === 'v1-field' && o.field === 'data_size' && !o.write) sourceSizeLines.push(o.src.line ?? 0);
    const dst = trace('dst.trace');
    dest(dst.device(NAME, { pid: 200 }));
    return only(check([...src.ops, ...dst.ops]), 'V1-SEGMENTS');
  }

  it('fires a VMM warning when a chunk size differs', () => {
    let at = 0;
    const f = pair((d) => {
      resuming(d);
      resumeChunk(d, 0x2000n);
      d.dataOffset(OFF);
      d.data(true, OFF, 0x800);
      at = d.dataSizeWrite(0x800n);
      d.set(4, 1);
    });
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ blame: 'vmm', severity: 'warning', certainty: 'certain', device: NAME });
    expect(f[0]?.evidence.map((e) => [e.src.file, e.src.line])).toEqual([
      ['src.trace', sourceSizeLines[1]],
      ['dst.trace', at],
    ]);
    expect(f[0]?.message).toContain('chunk 2');
  });

  it('fires when the destination split a source chunk', () => {
    const f = pair((d) => {
      resuming(d);
      resumeChunk(d, 0x1000n);
      resumeChunk(d, 0x1000n); // the source's 0x2000 in two
      resumeChunk(d, 0x1000n);
      resumeChunk(d, 0x1000n);
      d.set(4, 1);
    });
    expect(f).toHaveLength(1);
    expect(f[0]?.message).toMatch(/split the source's chunk 1 \(0x2000 bytes\) into 2/);
  });

  it('fires when the destination wrote fewer chunks', () => {
    const f = pair((d) => {
      resuming(d);
      resumeChunk(d, 0x2000n);
      resumeChunk(d, 0x1000n);
      d.set(4, 1);
    });
    expect(f).toHaveLength(1);
    expect(f[0]?.message).toContain('3 chunks');
  });

  it('is quiet when the sequences match, in either order of the files', () => {
    expect(pair(cleanDest)).toEqual([]);
    const src = trace('src.trace');
    cleanSource(src.device(NAME, { pid: 100 }));
    const dst = trace('dst.trace');
    cleanDest(dst.device(NAME, { pid: 200 }));
    expect(only(check([...dst.ops, ...src.ops]), 'V1-SEGMENTS')).toEqual([]);
  });

  it('compares beyond the kept prefix by count and total', () => {
    const src = trace('src.trace');
    cleanSource(src.device(NAME, { pid: 100 }));
    const dst = trace('dst.trace');
    const d = dst.device(NAME, { pid: 200 });
    resuming(d);
    resumeChunk(d, 0x2000n);
    resumeChunk(d, 0x1000n);
    resumeChunk(d, 0x800n);
    d.set(4, 1);
    expect(only(check([...src.ops, ...dst.ops], { segmentsKept: 1 }), 'V1-SEGMENTS')).toHaveLength(1);
  });

  it('is quiet when a size was not seen, when the resume failed, or for pid:fd devices', () => {
    expect(
      pair((d) => {
        resuming(d);
        resumeChunk(d, 0x2000n);
        d.dataOffset(OFF);
        d.dataSizeWrite(undefined);
        d.set(4, 1);
      }),
    ).toEqual([]);
    expect(
      pair((d) => {
        resuming(d);
        d.dataOffset(OFF);
        d.dataSizeWrite(0x800n, { errno: EINVAL });
      }),
    ).toEqual([]);
    const src = trace('src.trace');
    cleanSource(src.device('100:5', { pid: 100, naming: 'pid-fd' }));
    const dst = trace('dst.trace');
    const d = dst.device('100:5', { pid: 200, naming: 'pid-fd' });
    resuming(d);
    resumeChunk(d, 0x800n);
    d.set(4, 1);
    expect(only(check([...src.ops, ...dst.ops]), 'V1-SEGMENTS')).toEqual([]);
  });

  it('is uncertain when events were lost during a session', () => {
    const src = trace('src.trace');
    cleanSource(src.device(NAME, { pid: 100 }));
    const dst = trace('dst.trace');
    const d = dst.device(NAME, { pid: 200 });
    resuming(d);
    resumeChunk(d, 0x2000n);
    dst.gap();
    resumeChunk(d, 0x1000n);
    d.set(4, 1);
    const f = only(check([...src.ops, ...dst.ops]), 'V1-SEGMENTS');
    expect(f).toHaveLength(1);
    expect(f[0]?.certainty).toBe('uncertain');
  });
});
