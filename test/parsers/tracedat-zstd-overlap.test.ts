// The zstd page source hands a CPU's next chunk to the decoder thread before the current
// one is parsed (parsers/tracedat/cpu-data.ts, zstd-guard.ts), and what it delivers is
// still every page in order, with a corrupt chunk reported where it sits. The frames are
// made by the real `zstd` tool (Node 20 cannot write zstd), as trace-cmd writes them: one
// frame per chunk, content size in the frame header.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { type ByteSource } from '../../parsers/tracedat/byte-source.js';
import { compressedPages } from '../../parsers/tracedat/cpu-data.js';
import { zstdStats, zstdSubmit } from '../../parsers/tracedat/zstd-guard.js';

const PAGE = 4096;
let zstdTool = true;
try {
  execFileSync('zstd', ['--version'], { stdio: 'ignore' });
} catch {
  zstdTool = false;
  console.warn('skipping tracedat-zstd-overlap: the zstd command is not installed (apt install zstd)');
}

const frameOf = (data: Buffer): Buffer => execFileSync('zstd', ['-q', '-c', '-3'], { input: data });

/** u32 chunk count, then per chunk u32 csize, u32 usize, the frame (spec §5.6). */
function cpuData(frames: readonly { frame: Buffer; usize: number }[]): Buffer {
  const parts: Buffer[] = [Buffer.alloc(4)];
  parts[0]?.writeUInt32LE(frames.length, 0);
  for (const f of frames) {
    const h = Buffer.alloc(8);
    h.writeUInt32LE(f.frame.length, 0);
    h.writeUInt32LE(f.usize, 4);
    parts.push(h, f.frame);
  }
  return Buffer.concat(parts);
}

const source = (b: Buffer): ByteSource => ({ size: b.length, readInto: (buf, off, pos, len) => b.copy(buf, off, pos, Math.min(pos + len, b.length)) });

/** Two pages of chunk i: every byte says which chunk and page it is. */
const chunkBytes = (i: number): Buffer => Buffer.concat([Buffer.alloc(PAGE, 16 * i + 1), Buffer.alloc(PAGE, 16 * i + 2)]);

describe.skipIf(!zstdTool)('zstd chunks: decoded ahead, delivered in order', () => {
  it('submits chunk 2 before chunk 1 is parsed, and delivers all pages in order', () => {
    const chunks = [0, 1, 2].map(chunkBytes);
    const file = cpuData(chunks.map((c) => ({ frame: frameOf(c), usize: c.length })));
    const problems: string[] = [];
    const ps = compressedPages(source(file), { cpu: 0, instance: '', offset: 0, size: file.length, compressed: true }, PAGE, 'zstd', (at, m) => problems.push(`${at}: ${m}`));
    const before = zstdStats();
    expect(ps.next()).toBe(true);
    const afterFirst = zstdStats();
    // The first chunk was taken; the second is already with the decoder.
    expect(afterFirst.taken - before.taken).toBe(1);
    expect(afterFirst.submitted - before.submitted).toBe(2);
    const seen: number[] = [ps.buf[ps.start] ?? -1];
    while (ps.next()) seen.push(ps.buf[ps.start] ?? -1);
    expect(seen).toEqual([1, 2, 17, 18, 33, 34]);
    expect(zstdStats().submitted - before.submitted).toBe(3);
    expect(problems).toEqual([]);
  });

  it('reports a corrupt chunk after the pages before it, at its own offset, and goes on', () => {
    const chunks = [0, 1, 2].map(chunkBytes);
    const frames = chunks.map((c) => ({ frame: frameOf(c), usize: c.length }));
    const bad = Buffer.from(frames[1]?.frame ?? Buffer.alloc(0));
    bad.fill(0xff, 6); // keep the magic and frame header byte, wreck the rest
    frames[1] = { frame: bad, usize: chunks[1]?.length ?? 0 };
    const file = cpuData(frames);
    const chunk1At = 4 + 8 + (frames[0]?.frame.length ?? 0);
    const events: string[] = [];
    const ps = compressedPages(source(file), { cpu: 3, instance: '', offset: 0, size: file.length, compressed: true }, PAGE, 'zstd', (at, m) => events.push(`problem@${at}: ${m}`));
    while (ps.next()) events.push(`page ${ps.buf[ps.start] ?? -1}@${ps.fileOffset}`);
    expect(events.slice(0, 2)).toEqual(['page 1@4', 'page 2@4']); // chunk 0 follows the u32 count
    expect(events[2]).toMatch(new RegExp(`^problem@${chunk1At}: CPU 3: chunk skipped: corrupt zstd data`));
    expect(events.slice(3)).toEqual([`page 33@${chunk1At + 8 + bad.length}`, `page 34@${chunk1At + 8 + bad.length}`]);
  });

  it('reuses its job buffers: frames of varying size, two in flight at once, each decodes to its own bytes', () => {
    // Sizes in two powers of two' range, and a corrupt frame among them whose buffers are reused after it failed.
    const datas = Array.from({ length: 40 }, (_, i) => Buffer.alloc(3000 + ((i * 977) % 4000), (i * 37) % 251));
    const frames = datas.map(frameOf);
    const bad = Buffer.from(frames[7] as Buffer);
    bad.fill(0xff, 6);
    frames[7] = bad;
    const before = zstdStats();
    let pending = zstdSubmit(frames[0] as Buffer, (datas[0] as Buffer).length);
    for (let i = 1; i <= datas.length; i++) {
      // The next frame is submitted before the current one is taken, as a CPU's page source does.
      const next = i < datas.length ? zstdSubmit(frames[i] as Buffer, (datas[i] as Buffer).length) : undefined;
      if (i - 1 === 7) expect(() => pending.take()).toThrow();
      else expect(pending.take().equals(datas[i - 1] as Buffer)).toBe(true);
      if (next !== undefined) pending = next;
    }
    const made = zstdStats().buffersMade - before.buffersMade;
    expect(made).toBeGreaterThan(0);
    expect(made).toBeLessThanOrEqual(4);
  });
});
