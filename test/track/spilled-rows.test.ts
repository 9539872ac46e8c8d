// Intervals and state writes with all but their latest blocks in the spill file
// (track/spilled-rows.ts): read back equal to the items pushed, replaced rows read as
// replaced wherever their block is, the two latest blocks read without the file, and a
// file that refuses writes loses nothing.

import { describe, expect, it } from 'vitest';
import { createIntervalStore } from '../../src/track/interval-store.js';
import { createWriteStore } from '../../src/track/write-store.js';
import { rowsInFile, spilledRows } from '../../src/track/spilled-rows.js';
import { SpillRefused, type SpillFile } from '../../src/track/spill-file.js';
import type { StateInterval, StateWrite } from '../../src/track/types.js';
import { spillFiles } from '../helpers/spill-files.js';

const openFile = spillFiles();

function interval(i: number): StateInterval {
  const iv: StateInterval = {
    state: i % 3 === 0 ? 'RUNNING' : 'SAVING',
    raw: i % 7 === 0 ? undefined : i % 3 === 0 ? 1 : 2,
    startNs: BigInt(i) * 1_000n,
    endNs: i % 11 === 0 ? undefined : BigInt(i) * 1_000n + 999n,
    certainty: i % 5 === 0 ? 'inferred' : 'known',
    bytes: i * 4096,
    src: { file: 'trace.txt', line: i + 1 },
  };
  return i % 13 === 0 ? { ...iv, openAtEnd: true } : iv;
}

function write(i: number): StateWrite {
  return {
    tsNs: 5n + BigInt(i),
    fromRaw: 1,
    from: 'RUNNING',
    toRaw: i % 4 === 0 ? undefined : 3,
    to: i % 4 === 0 ? 'UNKNOWN' : 'SAVING|RUNNING',
    result: i % 9 === 0 ? 'failed' : 'ok',
    errno: i % 9 === 0 ? 22 : undefined,
    readBackRaw: undefined,
    src: { file: 'trace.txt', line: 10 * i },
  };
}

/** A spill file that counts reads, and refuses appends once `refuseAfter` were taken. */
function counting(file: SpillFile, refuseAfter = Infinity): SpillFile & { reads: number } {
  let appends = 0;
  const f = {
    reads: 0,
    append(text: string) {
      if (appends++ >= refuseAfter) throw new SpillRefused('disk full (test)');
      return file.append(text);
    },
    read(pos: number, len: number) {
      f.reads++;
      return file.read(pos, len);
    },
    size: () => file.size(),
    close: () => file.close(),
  };
  return f;
}

describe('spilled rows', () => {
  it('read back equal to the items pushed, most of them from the file', () => {
    const file = counting(openFile());
    const store = spilledRows(createIntervalStore, file, 'interval', 64);
    const plain: StateInterval[] = [];
    for (let i = 0; i < 1_000; i++) {
      const iv = interval(i);
      store.push(iv);
      plain.push(iv);
    }
    // 15 full blocks: 14 in the file, the latest in memory, 40 rows being filled.
    expect(rowsInFile(store.view)).toBe(14 * 64);
    expect(store.length).toBe(1_000);
    expect(store.view).toEqual(plain);
    expect(JSON.stringify(store.view, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))).toBe(
      JSON.stringify(plain, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)),
    );
    // Keys in the order pushed (JSON output is key order), openAtEnd included.
    expect(Object.keys(store.at(13))).toEqual(Object.keys(plain[13] as StateInterval));
    // In order, one read of the file per block in it: 14, less block 0, decoded last (row 13 above).
    file.reads = 0;
    for (let i = 0; i < store.length; i++) expect(store.at(i).bytes).toBe(i * 4096);
    expect(file.reads).toBe(13);
  });

  it('read the latest full block and the one being filled without the file', () => {
    const file = counting(openFile());
    const store = spilledRows(createIntervalStore, file, 'interval', 64);
    for (let i = 0; i < 300; i++) store.push(interval(i));
    // Blocks 0-2 are in the file, block 3 (rows 192-255) is the latest, 256-299 being filled.
    expect(rowsInFile(store.view)).toBe(3 * 64);
    for (let i = 192; i < 300; i++) expect(store.at(i)).toEqual(interval(i));
    expect(file.reads).toBe(0);
    expect(store.at(5)).toEqual(interval(5));
    expect(file.reads).toBe(1);
  });

  it('read a replaced row as replaced, in the file, in the latest block and being filled', () => {
    const file = openFile();
    const store = spilledRows(createWriteStore, file, 'state write', 32);
    const plain: StateWrite[] = [];
    for (let i = 0; i < 200; i++) {
      store.push(write(i));
      plain.push(write(i));
    }
    expect(rowsInFile(store.view)).toBe(5 * 32);
    for (const i of [3, 40, 150, 170, 199]) {
      const w = { ...write(i), toRaw: 2, to: 'STOP', readBackRaw: 2 };
      store.set(i, w);
      plain[i] = w;
    }
    expect(store.view).toEqual(plain);
    expect(store.at(40).to).toBe('STOP');
    expect(store.at(41).to).toBe(plain[41]?.to);
    expect(() => store.at(200)).toThrow(RangeError);
    expect(() => store.set(200, write(0))).toThrow(RangeError);
  });

  it('reuse the store of a block in the file for the next block, carrying nothing over', () => {
    const file = openFile();
    let made = 0;
    const store = spilledRows(
      () => {
        made++;
        return createWriteStore();
      },
      file,
      'state write',
      16,
    );
    // Rows whose parts live beside the columns (a bigint past int64, a Source kept as an
    // object, a write of another make, a v2 data fd) in the even blocks, plain rows in the odd
    // ones: a reused store must read each back in its own row only, at its length.
    const row = (i: number): StateWrite => {
      const base = write(i);
      if (Math.floor(i / 16) % 2 === 1) return base;
      switch (i % 4) {
        case 0:
          return { ...base, tsNs: 2n ** 70n + BigInt(i) };
        case 1:
          return { ...base, src: { file: 'odd.txt', extra: i } as unknown as StateWrite['src'] };
        case 2:
          return { odd: true, i } as unknown as StateWrite;
        default:
          return { ...base, path: ['A', 'B'], dataFd: 40 + i, valueSource: 'ioctl' };
      }
    };
    const plain: StateWrite[] = [];
    for (let i = 0; i < 320; i++) {
      store.push(row(i));
      plain.push(row(i));
    }
    expect(rowsInFile(store.view)).toBe(19 * 16);
    expect(store.view).toEqual(plain);
    // 20 blocks from 2 stores: the latest and the one being filled; each block written to the file hands its store on.
    expect(made).toBe(2);
    for (let i = 16; i < 32; i++) expect(Object.keys(store.at(i))).toEqual(Object.keys(plain[i] as StateWrite));
  });

  it('keep every row in memory once the file refuses a write (disk full)', () => {
    const file = counting(openFile(), 2);
    const store = spilledRows(createIntervalStore, file, 'interval', 16);
    const plain: StateInterval[] = [];
    for (let i = 0; i < 200; i++) {
      store.push(interval(i));
      plain.push(interval(i));
    }
    // Two blocks reached the file; the others stayed in memory.
    expect(rowsInFile(store.view)).toBe(2 * 16);
    expect(store.view).toEqual(plain);
    store.set(100, interval(7));
    plain[100] = interval(7);
    expect(store.view).toEqual(plain);
  });
});
