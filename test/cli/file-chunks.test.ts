// Reading a file into two reused buffers (cli/file-chunks.ts): every byte arrives once, in
// order, and the line splitter (parsers/lines.ts) keeps nothing of a chunk past its push, so
// lines cut by a chunk boundary, CRLF and UTF-8 sequences cut in the middle come out whole.
// If the splitter kept a view of a chunk instead of a copy, the reuse would overwrite it and
// these lines would differ.

import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileChunks } from '../../src/cli/file-chunks.js';
import { feedLines } from '../../parsers/lines.js';
import type { LineParser } from '../../src/record/types.js';

const dir = mkdtempSync(join(tmpdir(), 'migscope-chunks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function textOf(n: number): string {
  const words = ['sched_switch', 'état', 'ドライバ', '𝄞 clef', 'sys_pread64(fd: 0x14)', ''];
  const lines: string[] = [];
  // Mostly LF, every fifth line CRLF.
  for (let i = 0; i < n; i++) lines.push(`${i} ${words[i % words.length]}${'x'.repeat(i % 37)}${i % 5 === 4 ? '\r\n' : '\n'}`);
  return `${lines.join('')}last line without newline`;
}

/** fileChunks, each chunk overwritten as soon as the next is asked for: the contract at its strictest (double buffering alone would forgive a view kept one chunk long). */
async function* scribbled(path: string, chunk: number, read = chunk): AsyncGenerator<Buffer> {
  for await (const c of fileChunks(path, chunk, read)) {
    yield c;
    c.fill(0x58);
  }
}

async function linesVia(path: string, chunk: number, read = chunk): Promise<string[]> {
  const got: string[] = [];
  const parser: LineParser = { line: (l) => void got.push(l), end: () => undefined };
  await feedLines(scribbled(path, chunk, read), parser, { file: 'f', sink: { malformed: () => undefined } });
  return got;
}

describe('fileChunks', () => {
  for (const chunk of [1, 3, 7, 64, 4096]) {
    it(`${chunk}-byte chunks: the same lines as the whole file split at once`, async () => {
      const text = textOf(500);
      const path = join(dir, `t${chunk}.txt`);
      writeFileSync(path, text);
      const want = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
      expect(await linesVia(path, chunk)).toEqual(want);
    });
  }

  // Reads larger than the chunks (the analysis reads 256 KiB and parses 64 KiB at a time): a
  // read's buffer is handed on in slices, each overwritten once the next is asked for.
  for (const [chunk, read] of [
    [7, 64],
    [64, 1000],
    [4096, 16_384],
  ] as const) {
    it(`${read}-byte reads in ${chunk}-byte slices: the same lines`, async () => {
      const text = textOf(500);
      const path = join(dir, `r${chunk}-${read}.txt`);
      writeFileSync(path, text);
      const want = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
      expect(await linesVia(path, chunk, read)).toEqual(want);
    });
  }

  it('reads of several chunks are handed on a chunk at most at a time, every byte once, in order', async () => {
    const bytes = Buffer.from(Array.from({ length: 100_003 }, (_, i) => (i * 131) % 256));
    const path = join(dir, 'bin-sliced');
    writeFileSync(path, bytes);
    const parts: Buffer[] = [];
    for await (const c of fileChunks(path, 4096, 16_384)) parts.push(Buffer.from(c));
    expect(Buffer.concat(parts).equals(bytes)).toBe(true);
    expect(Math.max(...parts.map((p) => p.length))).toBe(4096);
    // 6 whole reads of 16,384 (4 slices each) and one of 1,699 bytes.
    expect(parts.length).toBe(6 * 4 + 1);
  });

  it('yields every byte once, in order, whatever the chunk size', async () => {
    const bytes = Buffer.from(Array.from({ length: 100_003 }, (_, i) => (i * 131) % 256));
    const path = join(dir, 'bin');
    writeFileSync(path, bytes);
    const parts: Buffer[] = [];
    for await (const c of fileChunks(path, 4096)) parts.push(Buffer.from(c)); // copies: the chunk is reused
    expect(Buffer.concat(parts).equals(bytes)).toBe(true);
    expect(parts.length).toBe(Math.ceil(100_003 / 4096));
  });

  it('an empty file yields nothing; a missing one rejects', async () => {
    const path = join(dir, 'empty');
    writeFileSync(path, '');
    expect(await linesVia(path, 64)).toEqual([]);
    await expect(linesVia(join(dir, 'nope'), 64)).rejects.toThrow(/ENOENT/);
  });

  for (const read of [65_536, 262_144])
  it(`reads ahead without a gap when the file grows while it is read (a short read has the reads after it dropped; ${read}-byte reads)`, async () => {
    const path = join(dir, `growing-${read}`);
    const first = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 251));
    writeFileSync(path, first);
    const parts: Buffer[] = [];
    let appended = false;
    for await (const c of fileChunks(path, 65_536, read)) {
      parts.push(Buffer.from(c));
      if (!appended) {
        // The reads of the 2nd and 3rd chunk are in flight or done: the 2nd was short (100,000 bytes then).
        await new Promise((r) => setTimeout(r, 20));
        appendFileSync(path, Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7) % 253)));
        appended = true;
      }
    }
    const whole = readFileSync(path);
    expect(whole.length).toBe(300_000);
    expect(Buffer.concat(parts).equals(whole)).toBe(true);
  });

  it('stops early without a stray read: the file is closed and nothing rejects', async () => {
    const path = join(dir, 'early');
    writeFileSync(path, Buffer.alloc(1 << 20, 0x41));
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      let n = 0;
      for await (const c of fileChunks(path, 4096)) {
        expect(c.length).toBe(4096);
        if (++n === 2) break;
      }
      await new Promise((r) => setTimeout(r, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  const hasMkfifo = spawnSync('mkfifo', ['--version']).status === 0;
  it.skipIf(!hasMkfifo)('reads a pipe (process substitution, a FIFO) at its own position, every byte in order', async () => {
    const path = join(dir, 'fifo');
    expect(spawnSync('mkfifo', [path]).status).toBe(0);
    // A writer that writes in bursts, so that reads come back short.
    const writer = spawn('sh', ['-c', `for i in 1 2 3 4 5; do head -c 30000 /dev/zero | tr '\\0' "$i"; sleep 0.05; done > '${path}'`]);
    const closed = new Promise((r) => writer.on('close', r));
    const parts: Buffer[] = [];
    for await (const c of fileChunks(path, 65_536)) parts.push(Buffer.from(c));
    await closed;
    const got = Buffer.concat(parts).toString('latin1');
    expect(got).toBe(['1', '2', '3', '4', '5'].map((d) => d.repeat(30_000)).join(''));
  });
});

