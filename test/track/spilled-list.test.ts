// The session spill (track/spill-codec.ts, spill-file.ts, spilled-list.ts): what is read
// back is exactly what was written, the view behaves as the array it stands for, a file
// that refuses writes loses nothing, and the file never shows in the temp directory.

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeValue, encodeValue } from '../../src/track/spill-codec.js';
import { openSpillFile, SpillRefused, type SpillFile } from '../../src/track/spill-file.js';
import { createSpilledList, foldOf, headsOf, isSpilled, mapList, mapListLazy, type SpillFold } from '../../src/track/spilled-list.js';
import { createSessionList, sessionTotals } from '../../src/track/session-list.js';
import { ChunkedColumn, CHUNK_ROWS } from '../../src/track/chunked-column.js';
import type { MigrationSession } from '../../src/track/types.js';
import { spillFiles } from '../helpers/spill-files.js';

const spill = spillFiles();

/** A save with every kind of field a session has: bigints, optional and undefined fields, nested evidence. */
function save(i: number): MigrationSession {
  return {
    kind: 'save',
    startNs: 1_873_600_000_000n + BigInt(i) * 1_000_000_007n,
    endNs: i % 3 === 0 ? undefined : 1_873_600_000_000n + BigInt(i) * 1_000_000_007n + 9_007_199_254_740_993n,
    outcome: i % 5 === 0 ? 'failed' : 'completed',
    states: ['RUNNING', 'PRE_COPY', 'SAVING', 'STOP'],
    iterations: i,
    bytes: i * 8192,
    pending: [{ tsNs: undefined, bytes: 0n }, { tsNs: 5n, bytes: 18_446_744_073_709_551_615n }],
    pendingDropped: 0,
    notRunningNs: BigInt(i),
    src: { file: 'trace.txt', line: 100 + i },
    reason: `\u0001 a reason that begins with the tag, session ${i}`,
    reasonSrc: undefined,
    convergence: {
      curveFrom: 'pending-bytes',
      iterations: [{ tsNs: 1n, remainingBytes: 10n }],
      iterationsDropped: 0,
      shrinkRateBytesPerS: i % 2 === 0 ? Number.POSITIVE_INFINITY : -0,
      dirtyRateBytesPerS: Number.NaN,
      verdict: 'converging',
      verdictReason: 'shrank',
      verdictEvidence: [{ src: { file: 'trace.txt', byteOffset: 4096, cpu: 1 }, what: 'first sample →' }],
      stopCopySizeUnknown: [],
      stopCopyEvidence: [],
      downtime: { notRunningNs: 0n, deviceStopCopyNs: undefined },
      fits: 'unknown',
      uncertain: false,
    },
  };
}

describe('spill codec', () => {
  it('reads back exactly what it wrote: bigints, undefined fields and slots, -0, NaN, infinities, tag-like strings', () => {
    const v = { a: 1n, b: -(2n ** 70n), c: undefined, d: [undefined, -0, Number.NaN, Number.NEGATIVE_INFINITY, '\u0001n12', '\u0001', ''], e: { f: { g: [[], {}] } }, h: 'plain', i: 0, j: null, k: true };
    const back = decodeValue(encodeValue(v));
    expect(back).toStrictEqual(v);
    expect(Object.keys(back as object)).toEqual(Object.keys(v));
    expect(Object.is((back as typeof v).d[1], -0)).toBe(true);
    expect((back as typeof v).d[4]).toBe('\u0001n12');
  });

  it('writes every tag longer than 10 characters, so that JSON.parse does not internalize it (an old-generation string per session read)', () => {
    const v = { a: 0n, b: -5n, c: undefined, d: [undefined, -0, Number.NaN, Number.POSITIVE_INFINITY, 8192n, 2n ** 70n] };
    const tags: string[] = [];
    JSON.parse(encodeValue(v), (_k, x: unknown) => {
      if (typeof x === 'string' && x.startsWith('\u0001')) tags.push(x);
      return x;
    });
    expect(tags.length).toBe(9);
    for (const t of tags) expect(t.length).toBeGreaterThan(10);
    expect(decodeValue(encodeValue(v))).toStrictEqual(v);
  });

  it('round-trips whole sessions', () => {
    for (let i = 0; i < 6; i++) expect(decodeValue(encodeValue(save(i)))).toStrictEqual(save(i));
  });
});

describe('spill file', () => {
  it('is never visible in its directory, and cannot be made in one that does not exist', () => {
    const dir = mkdtempSync(join(tmpdir(), 'migscope-spill-test-'));
    try {
      const f = openSpillFile(dir);
      expect(f).toBeDefined();
      const at = f?.append('hello, spill');
      expect(readdirSync(dir)).toEqual([]);
      expect(at !== undefined ? f?.read(at.pos, at.len) : undefined).toBe('hello, spill');
      f?.close();
      expect(openSpillFile(join(dir, 'missing'))).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads what is still in its write batch, and multi-byte text at byte positions', () => {
    const f = spill();
    const a = f.append('état → STOP');
    const b = f.append('second');
    expect(f.read(b.pos, b.len)).toBe('second');
    expect(f.read(a.pos, a.len)).toBe('état → STOP');
    expect(f.size()).toBe(a.len + b.len);
  });

  it('reads small items through its read-ahead window in every order: ascending, interleaved, descending, at random', () => {
    // 3,000 items of 1 B to 40 KB (the window is 128 KiB; items up to 32 KiB go through it),
    // so items straddle the window's end and the file's end, and some bypass it.
    const f = spill();
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    const texts = Array.from({ length: 3000 }, (_, i) => `${i}:${['é', '𝄞', 'a', 'b', 'c'][i % 5]}`.padEnd(1 + (i % 7 === 0 ? rnd(40_000) : rnd(3_000)), String.fromCharCode(97 + (i % 26))));
    const at = texts.map((t) => f.append(t));
    f.append('x'.repeat(1 << 20)); // the reads below come from the file
    const check = (i: number): void => {
      // Not toBe: a diff of two 40 KB strings, thousands of times, is minutes of output.
      const got = f.read(at[i]!.pos, at[i]!.len);
      if (got !== texts[i]) expect.fail(`item ${i} read back wrong: ${JSON.stringify(got.slice(0, 40))}…, ${got.length} chars for ${texts[i]!.length}`);
    };
    for (let i = 0; i < texts.length; i++) check(i);
    for (let d = 0; d < 8; d++) for (let i = d; i < texts.length; i += 8) check(i);
    for (let i = texts.length - 1; i >= 0; i--) check(i);
    for (let k = 0; k < 3000; k++) check(rnd(texts.length));
    // Appended after the window was filled: read from the file, not from a stale window.
    const later = f.append('later é');
    f.append('y'.repeat(1 << 20));
    expect(f.read(later.pos, later.len)).toBe('later é');
    check(texts.length - 1);
  });
});

describe('spilled list', () => {

  it('reads items of any size back through its reused read buffer, in any order', () => {
    // Sizes around the buffer's start (16 KiB), its growth and its cap (1 MiB), and past it.
    const f = spill();
    const sizes = [5, 16_383, 16_385, 40_000, 3, 1_048_576, 1_048_577, 2_500_000, 700, 33_000];
    const texts = sizes.map((n, i) => `${['é', '𝄞'][i % 2]}${String.fromCharCode(97 + i).repeat(n)}`);
    const at = texts.map((t) => f.append(t));
    f.append('x'.repeat(1 << 20)); // pushes the batch out: the reads below come from the file
    const order = [7, 0, 5, 2, 9, 1, 6, 3, 8, 4, 5, 0];
    for (const i of order) expect(f.read(at[i]!.pos, at[i]!.len)).toBe(texts[i]);
  });

  it('keeps raw bytes among the texts: from the batch, from the file, and larger than a batch', () => {
    const f = spill();
    const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);
    const items = [bytes(10, 1), bytes(32_768, 2), bytes((1 << 20) + 5, 3), bytes(1, 4)];
    const at = items.map((b, i) => ({ b: f.appendBytes(b), t: f.append(`after ${i} é`) }));
    // The last two are still in the batch; the others are in the file.
    for (const i of [3, 0, 2, 1]) {
      const into = new Uint8Array(items[i]!.length + 3);
      f.readBytes(at[i]!.b.pos, at[i]!.b.len, into);
      expect(at[i]!.b.len).toBe(items[i]!.length);
      expect(into.subarray(0, items[i]!.length)).toEqual(items[i]);
      expect(f.read(at[i]!.t.pos, at[i]!.t.len)).toBe(`after ${i} é`);
    }
  });
  it('is the array it stands for: indexing, length, iteration, array methods, JSON', () => {
    const file = spill();
    const list = createSpilledList<MigrationSession>(file, 2);
    const plain: MigrationSession[] = [];
    for (let i = 0; i < 11; i++) {
      list.push(save(i));
      plain.push(save(i));
    }
    const v = list.view;
    // Most of it is in the file, the latest in memory.
    expect(list.spilled).toBeGreaterThanOrEqual(9);
    expect(list.spilled).toBeLessThan(11);
    expect(file.size()).toBeGreaterThan(0);
    expect(isSpilled(v)).toBe(true);
    expect(isSpilled(plain)).toBe(false);
    expect(Array.isArray(v)).toBe(true);
    expect(v.length).toBe(11);
    expect(v[0]).toStrictEqual(plain[0]);
    expect(v[10]).toStrictEqual(plain[10]);
    expect(v[11]).toBeUndefined();
    expect([...v]).toStrictEqual(plain);
    expect(v.map((s) => s.iterations)).toEqual(plain.map((s) => s.iterations));
    expect(v.filter((s) => s.outcome === 'failed').length).toBe(3);
    expect(v.reduce((n, s) => n + s.bytes, 0)).toBe(plain.reduce((n, s) => n + s.bytes, 0));
    expect(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x), 2)).toBe(JSON.stringify(plain, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x), 2));
    expect(Object.keys(v)).toEqual(Object.keys(plain));
    expect(5 in v).toBe(true);
    expect(11 in v).toBe(false);
  });

  it('is read-only', () => {
    const list = createSpilledList<MigrationSession>(spill(), 0);
    list.push(save(1));
    const v = list.view as MigrationSession[];
    expect(() => {
      v[0] = save(2);
    }).toThrow(TypeError);
    expect(() => v.push(save(3))).toThrow(TypeError);
    expect(v.length).toBe(1);
  });

  it('keeps items in memory when the file refuses them: nothing is lost', () => {
    const real = spill();
    let accepted = 0;
    const refusing: SpillFile = {
      ...real,
      append(text) {
        if (accepted >= 4) throw new SpillRefused('disk full');
        accepted++;
        return real.append(text);
      },
    };
    const list = createSpilledList<MigrationSession>(refusing, 1);
    for (let i = 0; i < 10; i++) list.push(save(i));
    expect(list.spilled).toBe(4);
    expect([...list.view]).toStrictEqual(Array.from({ length: 10 }, (_, i) => save(i)));
  });

  it('mapList calls fn once per item in order and gives what map gives, on plain and spilled lists', () => {
    const list = createSpilledList<MigrationSession>(spill(), 3);
    const plain: MigrationSession[] = [];
    for (let i = 0; i < 12; i++) {
      list.push(save(i));
      plain.push(save(i));
    }
    // Every third item changes; the others come back as they were read (they keep their place in the file).
    const fn = (s: MigrationSession, i: number): MigrationSession => (i % 3 === 0 ? { ...s, outcome: 'completed', reason: `settled ${i}` } : s);
    const seen: number[] = [];
    const mapped = mapList(list.view, (s, i) => {
      seen.push(i);
      return fn(s, i);
    });
    expect(seen).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(isSpilled(mapped)).toBe(true);
    expect([...mapped]).toStrictEqual(plain.map(fn));
    // The original list is unchanged.
    expect([...list.view]).toStrictEqual(plain);
    const plainMapped = mapList(plain, fn);
    expect(isSpilled(plainMapped)).toBe(false);
    expect(plainMapped).toStrictEqual(plain.map(fn));
  });

  it('mapListLazy reads every item as mapped without reading or rewriting the file now, and composes', () => {
    const file = spill();
    const list = createSpilledList<MigrationSession>(file, 3);
    const plain: MigrationSession[] = [];
    for (let i = 0; i < 12; i++) {
      list.push(save(i));
      plain.push(save(i));
    }
    expect(list.spilled).toBeGreaterThan(0);
    const written = file.size();
    let reads = 0;
    const realRead = file.read.bind(file);
    file.read = (pos, len) => {
      reads++;
      return realRead(pos, len);
    };
    const share = (s: MigrationSession, i: number): MigrationSession => ({ ...s, reason: `share ${i}` });
    const mapped = mapListLazy(list.view, share);
    expect(reads).toBe(0);
    expect(file.size()).toBe(written);
    expect(isSpilled(mapped)).toBe(true);
    expect(mapped).toHaveLength(12);
    expect([...mapped]).toStrictEqual(plain.map(share));
    expect(reads).toBe(list.spilled);
    // A second lazy map applies after the first; the original list is unchanged.
    const twice = mapListLazy(mapped, (s) => ({ ...s, iterations: s.iterations + 100 }));
    expect([...twice]).toStrictEqual(plain.map(share).map((s) => ({ ...s, iterations: s.iterations + 100 })));
    expect([...list.view]).toStrictEqual(plain);
    expect(file.size()).toBe(written);
    // An eager mapList after a lazy one that returns items unchanged keeps the mapping: the
    // file's copy of a spilled item is the unmapped one, so its place cannot be reused.
    expect([...mapList(mapped, (s) => s)]).toStrictEqual(plain.map(share));
    expect(mapListLazy(plain, share)).toStrictEqual(plain.map(share));
  });

  it('keeps a fold over every item pushed; mapList folds its results anew, mapListLazy carries the totals over', () => {
    const count: SpillFold<MigrationSession, { failed: number; bytes: number }> = {
      init: () => ({ failed: 0, bytes: 0 }),
      add(a, s) {
        if (s.outcome === 'failed') a.failed++;
        a.bytes += s.bytes;
      },
    };
    const list = createSpilledList(spill(), 3, count);
    const plain: MigrationSession[] = [];
    for (let i = 0; i < 12; i++) {
      list.push(save(i));
      plain.push(save(i));
    }
    const want = { failed: plain.filter((s) => s.outcome === 'failed').length, bytes: plain.reduce((n, s) => n + s.bytes, 0) };
    expect(want.failed).toBe(3);
    expect(foldOf(list.view)).toStrictEqual(want);
    expect(foldOf(plain)).toBeUndefined();
    const settled = mapList(list.view, (s) => (s.outcome === 'failed' ? { ...s, outcome: 'completed' as const } : s));
    expect(foldOf(settled)).toStrictEqual({ failed: 0, bytes: want.bytes });
    expect(foldOf(list.view)).toStrictEqual(want);
    expect(foldOf(mapListLazy(list.view, (s) => ({ ...s, reason: 'share' })))).toStrictEqual(want);
  });

  it('sessionTotals of a spilled session list come from the fold, without reading the file, and equal a count of the items', () => {
    const file = spill();
    const list = createSessionList(undefined, { file, after: 2 });
    const plain = createSessionList(undefined);
    for (let i = 0; i < 20; i++) {
      list.push(save(i));
      plain.push(save(i));
    }
    expect(isSpilled(list.items)).toBe(true);
    let reads = 0;
    const realRead = file.read.bind(file);
    file.read = (pos, len) => {
      reads++;
      return realRead(pos, len);
    };
    const t = sessionTotals(list.items);
    expect(reads).toBe(0);
    expect(t).toStrictEqual(sessionTotals(plain.items));
    expect(t.count).toBe(20);
    expect(t.outcomes.failed).toBe(4);
    expect(t.notRunningNs).toBe(190n);
    expect(t.maxNotRunningNs).toBe(19n);
    // save(i): starts at 1,873,600,000,000 + i·1,000,000,007; pending samples at 5 ns; session 19 ends the latest.
    expect(t.minNs).toBe(5n);
    expect(t.maxNs).toBe(1_873_600_000_000n + 19n * 1_000_000_007n + 9_007_199_254_740_993n);
    expect(sessionTotals([]).minNs).toBeUndefined();
  });

  it('keeps each item\'s head before it and reads it without decoding the item; mapList keeps heads, mapListLazy has none', () => {
    const file = spill();
    // '' for some, multi-byte text, and one head too long for its u16 length (worked out from the item instead).
    const head = (s: MigrationSession): string => (s.iterations % 4 === 0 ? '' : s.iterations === 7 ? 'x'.repeat(70_000) : `h${s.iterations} ✓ ${s.bytes}`);
    const list = createSpilledList<MigrationSession>(file, 2, undefined, head);
    const items = Array.from({ length: 12 }, (_, i) => save(i));
    for (const s of items) list.push(s);
    expect(list.spilled).toBeGreaterThan(0);
    const reads: number[] = [];
    const realRead = file.read.bind(file);
    file.read = (pos, len) => {
      reads.push(len);
      return realRead(pos, len);
    };
    const heads = headsOf(list.view);
    expect(heads?.length).toBe(12);
    expect(items.map((_, i) => heads?.at(i))).toEqual(items.map(head));
    // Every read was a head's few bytes, except item 7's, whose head came from the item.
    const itemBytes = Buffer.byteLength(encodeValue(items[7]));
    expect(reads.filter((n) => n > 40)).toEqual([itemBytes]);
    // The items read back as written, the heads skipped.
    expect([...list.view].map((s) => encodeValue(s))).toEqual(items.map((s) => encodeValue(s)));
    // mapList: an unchanged item keeps its place (and head), a changed one is written with its own.
    const mapped = mapList(list.view, (s) => (s.iterations % 3 === 0 ? { ...s, bytes: s.bytes + 1 } : s));
    expect(items.map((_, i) => headsOf(mapped)?.at(i))).toEqual([...mapped].map(head));
    expect(headsOf(mapped)?.at(3)).toBe(`h3 ✓ ${3 * 8192 + 1}`);
    // mapListLazy reads its items through fn: heads written before fn would not describe them.
    expect(headsOf(mapListLazy(list.view, (s) => s))).toBeUndefined();
    expect(headsOf(createSpilledList<MigrationSession>(file, 2).view)).toBeUndefined();
    expect(headsOf(items)).toBeUndefined();
  });

  it('finds every item across the chunks of its position columns, in lists derived from it too', () => {
    const file = spill();
    const list = createSpilledList<{ i: number; pad: string }>(file, 3, undefined, (x) => (x.i % 2 === 0 ? `even ${x.i}` : ''));
    const n = 3 * CHUNK_ROWS + 17;
    for (let i = 0; i < n; i++) list.push({ i, pad: 'é'.repeat(i % 5) });
    expect(list.length).toBe(n);
    expect(list.spilled).toBeGreaterThan(n - 4);
    expect(list.spilled).toBeLessThan(n);
    const view = list.view;
    for (const i of [0, 1, CHUNK_ROWS - 1, CHUNK_ROWS, 2 * CHUNK_ROWS + 1, n - 4, n - 3, n - 1]) {
      expect(view[i]).toEqual({ i, pad: 'é'.repeat(i % 5) });
      expect(headsOf(view)?.at(i)).toBe(i % 2 === 0 ? `even ${i}` : '');
    }
    const lazy = mapListLazy(view, (x) => ({ ...x, pad: '' }));
    const eager = mapList(view, (x) => (x.i % 1000 === 0 ? { ...x, pad: 'changed' } : x));
    let k = 0;
    for (const x of lazy) expect(x.i).toBe(k++);
    expect(k).toBe(n);
    expect(eager[CHUNK_ROWS + 1]).toEqual({ i: CHUNK_ROWS + 1, pad: 'é'.repeat((CHUNK_ROWS + 1) % 5) });
    expect(eager[2000]).toEqual({ i: 2000, pad: 'changed' });
    expect(headsOf(eager)?.at(2 * CHUNK_ROWS)).toBe(`even ${2 * CHUNK_ROWS}`);
  });
});

describe('chunked column', () => {
  it('reads back every row set, across chunks; unset rows are 0; a shared column reads the same rows', () => {
    const c = ChunkedColumn.of((n) => new Float64Array(n));
    const rows = [0, 1, CHUNK_ROWS - 1, CHUNK_ROWS, 5 * CHUNK_ROWS + 3];
    rows.forEach((r, k) => c.set(r, 2 ** 40 + k));
    rows.forEach((r, k) => expect(c.at(r)).toBe(2 ** 40 + k));
    expect(c.at(2)).toBe(0);
    expect(c.at(9 * CHUNK_ROWS)).toBe(0);
    const s = c.shared();
    rows.forEach((r, k) => expect(s.at(r)).toBe(2 ** 40 + k));
    const u16 = ChunkedColumn.of((n) => new Uint16Array(n));
    u16.set(CHUNK_ROWS + 1, 0xffff);
    expect(u16.at(CHUNK_ROWS + 1)).toBe(0xffff);
  });
});
