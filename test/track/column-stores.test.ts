// The column stores of intervals and state writes (track/interval-store.ts, write-store.ts,
// source-columns.ts, array-view.ts) and the recorder's write patches (timeline-recorder.ts):
// what is read back equals what was pushed, keys and their order included, and the view
// behaves as the plain array it stands for.

import { describe, expect, it } from 'vitest';
import { arrayView } from '../../src/track/array-view.js';
import { INITIAL_CAPACITY } from '../../src/track/columns.js';
import { createIntervalStore } from '../../src/track/interval-store.js';
import { createTimelineRecorder, type WriteEntry } from '../../src/track/timeline-recorder.js';
import type { StateInterval, StateWrite } from '../../src/track/types.js';
import { createWriteStore } from '../../src/track/write-store.js';
import type { Source } from '../../src/record/types.js';

/** JSON as the CLI writes it: bigints as strings (what makes key order and presence show). */
const json = (x: unknown): string => JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));

const NEAR_2_63 = 9_223_372_036_854_775_807n;
const sources: (Source | undefined)[] = [
  { file: 'a.txt', line: 7 },
  { file: 'b.dat', byteOffset: 4096 },
  { file: 'b.dat', byteOffset: 0, chunkOffset: 12, cpu: 1 },
  { file: 'b.dat', byteOffset: 8, chunkOffset: undefined, cpu: undefined },
  { file: 'c.txt' },
  { file: 'c.txt', line: undefined },
  { line: 3, file: 'reordered.txt' },
  { file: 'a.txt', line: -0 },
  undefined,
];

function interval(i: number): StateInterval {
  const times = [undefined, 0n, -1n, 9_007_199_254_740_993n, NEAR_2_63, NEAR_2_63 + 2n, -NEAR_2_63 - 1n, 18_446_744_073_709_551_615n];
  const nums = [undefined, 0, -0, 1, 0x80000001, 2 ** 53 + 2, -7.5];
  const base: StateInterval = {
    state: i % 4 === 0 ? 'UNKNOWN' : `S${i % 3}`,
    raw: nums[i % nums.length],
    startNs: times[i % times.length],
    endNs: times[(i + 3) % times.length],
    certainty: (['known', 'inferred', 'unknown'] as const)[i % 3] ?? 'known',
    bytes: (nums[(i + 1) % nums.length] ?? 0) * 3,
    src: sources[i % sources.length],
  };
  return i % 11 === 5 ? { ...base, openAtEnd: true } : base;
}

function write(i: number, v2: boolean): StateWrite {
  const nums = [undefined, 0, -0, 3, -5, 2 ** 53 + 2];
  const base: StateWrite = {
    tsNs: [undefined, 0n, 9_007_199_254_740_993n, NEAR_2_63, NEAR_2_63 + 1n][i % 5],
    fromRaw: nums[i % nums.length],
    from: `F${i % 2}`,
    toRaw: nums[(i + 1) % nums.length],
    to: `T${i % 3}`,
    result: (['ok', 'failed', 'unknown'] as const)[i % 3] ?? 'ok',
    errno: nums[(i + 2) % nums.length],
    readBackRaw: nums[(i + 3) % nums.length],
    src: sources[i % sources.length] ?? { file: 'x' },
  };
  if (!v2) return base;
  return {
    ...base,
    ...(i % 3 !== 0 ? { path: i % 5 === 0 ? [] : ['STOP', `S${i % 4}`] } : {}),
    ...(i % 4 !== 0 ? { pathFlags: i % 2 === 0 ? ('feature' as const) : ('inferred' as const) } : {}),
    ...(i % 7 === 0 ? { dataFd: i % 2 === 0 ? -1 : 42 } : {}),
    valueSource: i % 2 === 0 ? 'ioctl' : 'qemu',
  };
}

describe('interval store', () => {
  it('reads back every interval as pushed: undefined vs 0 vs -0, bigints past 2^53 and int64, every Source shape', () => {
    const st = createIntervalStore();
    const plain: StateInterval[] = [];
    for (let i = 0; i < 5 * INITIAL_CAPACITY + 3; i++) {
      const iv = interval(i);
      st.push(iv);
      plain.push(iv);
    }
    expect(st.length).toBe(plain.length);
    for (let i = 0; i < plain.length; i++) {
      const got = st.view[i];
      expect(got).toStrictEqual(plain[i]);
      expect(Object.keys(got ?? {})).toEqual(Object.keys(plain[i] ?? {}));
      expect(Object.keys(got?.src ?? {})).toEqual(Object.keys(plain[i]?.src ?? {}));
      expect(Object.is(got?.raw, plain[i]?.raw)).toBe(true);
      expect(Object.is(got?.bytes, plain[i]?.bytes)).toBe(true);
      expect(typeof got?.startNs === 'bigint' || got?.startNs === undefined).toBe(true);
    }
    expect(json(st.view)).toBe(json(plain));
    expect(JSON.stringify(st.view.map((iv) => iv.state))).toBe(JSON.stringify(plain.map((iv) => iv.state)));
  });

  it('reads back runs of one Source shape and the near misses after them (same keys with undefined, a string, an extra key, another order)', () => {
    // A row of the same shape as the last is recognised without building its key: these
    // rows follow one of the same keys and must still come back as they were.
    const a: Source = { file: 'b.dat', byteOffset: 4096, chunkOffset: 12, cpu: 1 };
    const run: Source[] = [
      a,
      { ...a, byteOffset: 8192 },
      { file: 'b.dat', byteOffset: 8, chunkOffset: undefined, cpu: 1 },
      { file: 'b.dat', byteOffset: 16, chunkOffset: undefined, cpu: 1 },
      { file: 'b.dat', byteOffset: 24, chunkOffset: 3, cpu: undefined },
      a,
      { file: 'b.dat', byteOffset: '32', chunkOffset: 12, cpu: 1 } as unknown as Source,
      a,
      { file: 'b.dat', byteOffset: 40, chunkOffset: 12, cpu: 1, extra: 1 } as unknown as Source,
      a,
      { file: 'b.dat', byteOffset: 48, chunkOffset: 12 },
      { byteOffset: 56, file: 'b.dat', chunkOffset: 12, cpu: 1 },
      { byteOffset: 64, file: 'b.dat', chunkOffset: 12, cpu: 1 },
      a,
    ];
    const st = createIntervalStore();
    const plain: StateInterval[] = [];
    for (let i = 0; i < 4 * INITIAL_CAPACITY; i++) {
      // The interval in the columns' own key order, so that only its Source can be odd.
      const iv: StateInterval = { state: 'S', raw: 3, startNs: BigInt(i), endNs: BigInt(i + 1), certainty: 'known', bytes: i, src: run[i % run.length] };
      st.push(iv);
      plain.push(iv);
    }
    for (let i = 0; i < plain.length; i++) {
      expect(st.view[i]?.src).toStrictEqual(plain[i]?.src);
      expect(Object.keys(st.view[i]?.src ?? {})).toEqual(Object.keys(plain[i]?.src ?? {}));
    }
    expect(json(st.view)).toBe(json(plain));
  });

  it('keeps exactly an interval of another make (keys in another order, extra keys, openAtEnd false)', () => {
    const st = createIntervalStore();
    const odd = [
      { raw: 1, state: 'RUNNING', startNs: 1n, endNs: 2n, certainty: 'known', bytes: 0, src: undefined },
      { ...interval(1), openAtEnd: false },
      { ...interval(2), extra: 'x' },
    ] as unknown as StateInterval[];
    for (const iv of odd) st.push(iv);
    expect(json(st.view)).toBe(json(odd));
    expect([...st.view]).toStrictEqual(odd);
  });

  it('replaces an item by index, and a view that kept it shows the new one', () => {
    const st = createIntervalStore();
    for (let i = 0; i < 3; i++) st.push(interval(i));
    expect(st.view[1]).toStrictEqual(interval(1));
    st.set(1, interval(8));
    expect(st.view[1]).toStrictEqual(interval(8));
    expect(() => st.set(3, interval(0))).toThrow(RangeError);
  });
});

describe('write store', () => {
  it('reads back v1 and v2 writes as pushed, with v2 fields present or absent as they were', () => {
    for (const v2 of [false, true]) {
      const st = createWriteStore();
      const plain: StateWrite[] = [];
      for (let i = 0; i < 3 * INITIAL_CAPACITY + 5; i++) {
        const w = write(i, v2);
        st.push(w);
        plain.push(w);
      }
      for (let i = 0; i < plain.length; i++) {
        expect(st.view[i]).toStrictEqual(plain[i]);
        expect(Object.keys(st.view[i] ?? {})).toEqual(Object.keys(plain[i] ?? {}));
        for (const k of ['fromRaw', 'toRaw', 'errno', 'readBackRaw'] as const) expect(Object.is(st.view[i]?.[k], plain[i]?.[k])).toBe(true);
      }
      expect(json(st.view)).toBe(json(plain));
    }
  });

  it('hands out path lists a reader cannot change the store through', () => {
    const st = createWriteStore();
    st.push(write(1, true));
    const p = st.view[0]?.path as string[];
    p.push('ERROR');
    // (view[0] again is the item the view kept: the same object; at() makes a new one.)
    expect(st.at(0).path).toEqual(['STOP', 'S1']);
    st.push(write(4, true));
    expect(st.at(1).path).toEqual(['STOP', 'S0']);
  });

  it('keeps exactly a write of another make', () => {
    const st = createWriteStore();
    const odd = [{ ...write(1, false), valueSource: undefined }, { ...write(2, true), pathFlags: 'other' }, { ...write(3, false), path: 'no' }] as unknown as StateWrite[];
    for (const w of odd) st.push(w);
    expect([...st.view]).toStrictEqual(odd);
  });
});

describe('array view', () => {
  const plain = [10, 20, 30, 40].map((n) => ({ n }));
  const v = arrayView({ count: () => plain.length, at: (i) => ({ ...(plain[i] as { n: number }) }) }).view;

  it('is an array to every reader', () => {
    expect(Array.isArray(v)).toBe(true);
    expect(v.length).toBe(4);
    expect(v[4]).toBeUndefined();
    expect(v).toEqual(plain);
    expect(JSON.stringify(v)).toBe(JSON.stringify(plain));
    expect([...v]).toEqual(plain);
    expect(Array.from(v)).toEqual(plain);
    expect(Object.keys(v)).toEqual(['0', '1', '2', '3']);
    expect(2 in v).toBe(true);
    expect(4 in v).toBe(false);
  });

  it('answers the array methods as an array does', () => {
    const f = (x: { n: number }): boolean => x.n > 15;
    expect(v.map((x, i) => x.n + i)).toEqual(plain.map((x, i) => x.n + i));
    expect(v.filter(f)).toEqual(plain.filter(f));
    expect(v.some(f)).toBe(true);
    expect(v.every(f)).toBe(false);
    expect(v.find(f)).toEqual(plain.find(f));
    expect(v.findIndex(f)).toBe(1);
    expect(v.reduce((a, x) => a + x.n, 0)).toBe(100);
    expect(v.map((x) => x.n).reduce((a, x) => a + x)).toBe(100);
    expect(v.at(-1)).toEqual({ n: 40 });
    for (const [lo, hi] of [[undefined, undefined], [1, undefined], [-2, undefined], [1, -1], [3, 1], [0, 99], [-99, 2]] as const) expect(v.slice(lo, hi)).toEqual(plain.slice(lo, hi));
    const seen: number[] = [];
    v.forEach((x, i) => seen.push(x.n * 10 + i));
    expect(seen).toEqual([100, 201, 302, 403]);
    expect(v.concat([{ n: 50 }])).toEqual([...plain, { n: 50 }]);
    expect(v.findLast((x) => x.n < 35)).toEqual({ n: 30 });
    expect(() => (v as { n: number }[]).push({ n: 1 })).toThrow(TypeError);
  });
});

describe('timeline recorder write patches', () => {
  const rec = () => createTimelineRecorder<WriteEntry>({ maxIntervals: 3, stateName: (r) => (r === undefined ? 'UNKNOWN' : `S${r}`), isNotRunning: () => false });
  const entry = (i: number): WriteEntry => ({ tsNs: BigInt(i), fromRaw: 1, toRaw: undefined, result: 'failed', errno: 5, readBackRaw: undefined, src: { file: 't', line: i } });

  it('fills in a kept write by its id', () => {
    const r = rec();
    const id = r.addWrite(entry(0));
    r.patchWrite(id, { toRaw: 2 });
    r.patchWrite(id, { readBackRaw: 0 });
    expect(r.writes()[0]).toStrictEqual({ tsNs: 0n, fromRaw: 1, from: 'S1', toRaw: 2, to: 'S2', result: 'failed', errno: 5, readBackRaw: 0, src: { file: 't', line: 0 } });
  });

  it('fills in a write past the cap that a session holds, including the one it starts with', () => {
    const r = rec();
    for (let i = 0; i < 3; i++) r.addWrite(entry(i));
    const dropped = r.addWrite(entry(3)); // past the cap, the latest write: a session starts with it
    r.patchWrite(dropped, { toRaw: 4 });
    r.holdForSession();
    const held = r.addWrite(entry(4));
    r.patchWrite(held, { readBackRaw: 7 });
    const last = r.addWrite(entry(5));
    r.patchWrite(last, { readBackRaw: 9 });
    const gone = r.addWrite(entry(6)); // past what a session holds too (the cap again)
    r.patchWrite(gone, { readBackRaw: 8 });
    const h = r.releaseHeld();
    expect(h.writes.map((w) => [w.tsNs, w.to, w.readBackRaw])).toEqual([
      [3n, 'S4', undefined],
      [4n, 'UNKNOWN', 7],
      [5n, 'UNKNOWN', 9],
    ]);
    expect(r.writes().length).toBe(3);
    expect(r.writes().every((w) => w.to === 'UNKNOWN' && w.readBackRaw === undefined)).toBe(true);
    // Nothing holds it any more: the patch changes nothing anyone can see.
    r.patchWrite(held, { readBackRaw: 1 });
    expect(r.deviceTimeline({ ref: { id: 'd', pid: 1, fd: 3, naming: 'fd' }, comm: undefined, protocol: 'v1', region: undefined, resets: 0, timeline: r.intervals(), writes: r.writes(), sessions: [] }).stateWritesDropped).toBe(4);
  });
});
