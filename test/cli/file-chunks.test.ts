// Reading a file into two reused buffers (cli/file-chunks.ts): every byte arrives once, in
// order, and the line splitter (parsers/lines.ts) keeps nothing of a chunk past its push, so
// lines cut by a chunk boundary, CRLF and UTF-8 sequences cut in the middle come out whole.
// If the splitter kept a view of a chunk instead of a copy, the reuse would overwrite it and
// these lines would differ.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
async function* scribbled(path: string, chunk: number): AsyncGenerator<Buffer> {
  for await (const c of fileChunks(path, chunk)) {
    yield c;
    c.fill(0x58);
  }
}

async function linesVia(path: string, chunk: number): Promise<string[]> {
  const got: string[] = [];
  const parser: LineParser = { line: (l) => void got.push(l), end: () => undefined };
  await feedLines(scribbled(path, chunk), parser, { file: 'f', sink: { malformed: () => undefined } });
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
});
