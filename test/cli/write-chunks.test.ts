// Long output written in batches through two reused buffers (src/cli/write-chunks.ts): the
// stream receives exactly the text, multi-byte characters across batch boundaries included;
// a buffer is never refilled while the stream still has it; a stream that fails or is
// destroyed mid-way does not leave the writer waiting; and into a stream that takes every
// write at once (stdout into a file), the event loop still turns while the text is written.

import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BATCHES_PER_TURN, writeChunks } from '../../src/cli/write-chunks.js';

/** A slow stream: each write is taken on a later turn; records what it got and checks it was not changed meanwhile. */
function slowSink(highWaterMark = 1024) {
  const got: Buffer[] = [];
  const backing = new Set<ArrayBufferLike>();
  let changedUnderUs = 0;
  const w = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, cb) {
      const copy = Buffer.from(chunk);
      backing.add(chunk.buffer);
      setImmediate(() => {
        if (!copy.equals(chunk)) changedUnderUs++;
        got.push(copy);
        cb();
      });
    },
  });
  return { w, text: () => Buffer.concat(got).toString('utf8'), backing, changed: () => changedUnderUs };
}

function pieces(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(i % 5 === 0 ? `é${i}𝄞` : i % 7 === 0 ? '' : `piece ${i} ${'x'.repeat(i % 300)}\n`);
  return out;
}

describe('writeChunks', () => {
  it('writes exactly the text, in two reused buffers, none refilled while the stream has it', async () => {
    const s = slowSink();
    const ps = pieces(20_000);
    await writeChunks(s.w, ps);
    expect(s.text()).toBe(ps.join(''));
    expect(s.changed()).toBe(0);
    // Every batch came from one of the two buffers (Buffer.allocUnsafe of 128 KiB is not pooled).
    expect(s.backing.size).toBe(2);
  });

  it('writes a piece larger than a batch as it is, in its place', async () => {
    const s = slowSink();
    const big = `${'é'.repeat(100_000)}end`;
    const ps = ['a', big, 'b', ...pieces(50)];
    await writeChunks(s.w, ps);
    expect(s.text()).toBe(ps.join(''));
  });

  it('stops, and does not hang, when the stream is destroyed mid-way', async () => {
    const s = slowSink();
    let n = 0;
    function* forever(): Generator<string> {
      for (;;) {
        if (++n === 5_000) s.w.destroy();
        yield `line ${n}\n`;
        if (n > 200_000) return;
      }
    }
    s.w.on('error', () => {});
    await writeChunks(s.w, forever());
    expect(n).toBeGreaterThan(5_000);
    // It stopped at the first batch after: the generator was not read to its end.
    expect(n).toBeLessThan(30_000);
  });

  it('lets the event loop turn every BATCHES_PER_TURN batches into a stream that takes each write at once', async () => {
    // As process.stdout into a file: write() is synchronous and its callback comes in the
    // same turn, so without a turn of its own the writer kept timers and signal handlers
    // (a second Ctrl-C) waiting until the whole text was out.
    let bytes = 0;
    const w = new Writable({
      write(chunk: Buffer, _enc, cb) {
        bytes += chunk.length;
        cb();
      },
    });
    const piece = 'x'.repeat(1000);
    const total = 100 * 1024 * 1024;
    let produced = 0;
    function* text(): Generator<string> {
      while (produced < total) {
        produced += piece.length;
        yield piece;
      }
    }
    let turnedAt: number | undefined;
    setImmediate(() => (turnedAt = produced));
    await writeChunks(w, text());
    expect(bytes).toBe(produced);
    // The first turn came once BATCHES_PER_TURN batches of 128 KiB were handed over, not at the end.
    expect(turnedAt).toBeDefined();
    expect(turnedAt as number).toBeLessThanOrEqual((BATCHES_PER_TURN + 1) * 128 * 1024);
    expect(turnedAt as number).toBeGreaterThan(0);
  });
});
