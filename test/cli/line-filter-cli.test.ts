// ftrace text on two threads (src/cli/filtered-file.ts, line-filter-worker.ts): the worker
// reads and filters, this thread analyses. What a user gets must not depend on it: the
// built CLI's output with the worker (forced, and chosen by itself on a big busy trace) is
// byte-for-byte what it is without. Also the choice itself, a stop request while blocks are
// in flight, a read error from the worker, and an unknown MIGSCOPE_LINE_FILTER.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createFtraceTextParser } from '../../parsers/ftrace-text.js';
import { FILTER_BLOCK_BYTES, skippableShare } from '../../parsers/line-filter.js';
import { HEAD_BYTES } from '../../src/cli/detect.js';
import { feedFilteredFile, FILTER_MIN_BYTES, FILTER_MIN_SHARE, lineFilterChoice, lineFilterMode } from '../../src/cli/filtered-file.js';
import { sinkLog } from '../helpers/sink-log.js';
import { P } from '../helpers/ftrace-crafted.js';

const root = resolve(import.meta.dirname, '../..');
const cli = join(root, 'dist/src/cli/main.js');
const workerFile = join(root, 'dist/src/cli/line-filter-worker.js');
const built = existsSync(cli) && existsSync(workerFile);
const tmp = mkdtempSync(join(tmpdir(), 'migscope-filter-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
if (!built) console.warn('SKIPPED parts of test/cli/line-filter-cli.test.ts: dist/ not built (run `npm run build`)');

const lab = (name: string): string => join(root, 'test/fixtures/lab/ftrace', name);
const SKIP = `${P}sched_switch: prev_comm=kworker/0:1 prev_pid=1 prev_prio=120 prev_state=S ==> next_comm=swapper/0 next_pid=0 next_prio=120`;
const FUTEX = `${P}sys_futex(uaddr: 0x7f0000001000, op: 0x80, val: 2, utime: 0, uaddr2: 0, val3: 0)`;

/** A lab capture with `per` lines of other activity after each of its lines: a busy host's trace. */
function busyTrace(name: string, fixture: string, per: number): string {
  const out: string[] = [];
  for (const l of readFileSync(lab(fixture), 'utf8').split('\n')) {
    if (l === '') continue;
    out.push(l);
    if (!l.startsWith('#')) for (let i = 0; i < per; i++) out.push(i % 2 === 0 ? SKIP : FUTEX);
  }
  const path = join(tmp, name);
  writeFileSync(path, out.join('\n') + '\n');
  return path;
}

function run(args: string[], filter: string | undefined): { status: number | null; stdout: string; stderr: string } {
  const env = { ...process.env };
  if (filter === undefined) delete env['MIGSCOPE_LINE_FILTER'];
  else env['MIGSCOPE_LINE_FILTER'] = filter;
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: root, env, maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function feed(path: string, worker: URL | undefined, opts: { stop?: Promise<unknown>; onBytes?: () => void; fallBack?: boolean } = {}): Promise<{ log: string[]; bytes: number; ended: boolean }> {
  const { sink, log } = sinkLog();
  const parser = createFtraceTextParser(path, sink);
  let ended = false;
  const end = parser.end.bind(parser);
  parser.end = () => {
    ended = true;
    end();
  };
  let bytes = 0;
  const onBytes = (n: number): void => {
    bytes += n;
    opts.onBytes?.();
  };
  await feedFilteredFile(path, parser, { file: path, sink, onBytes, worker, stop: opts.stop, fallBack: opts.fallBack });
  return { log, bytes, ended };
}

describe('line filter: the choice', () => {
  it('auto filters on the worker only for a big file whose first lines are mostly skippable', () => {
    const big = FILTER_MIN_BYTES;
    expect(lineFilterChoice('auto', big, () => 0.9, true)).toBe('thread');
    expect(lineFilterChoice('auto', big - 1, () => 0.9, true)).toBe('off');
    expect(lineFilterChoice('auto', big, () => 0.1, true)).toBe('off');
    expect(lineFilterChoice('auto', big, () => 0.9, false)).toBe('off');
    expect(lineFilterChoice('off', big, () => 0.9, true)).toBe('off');
    expect(lineFilterChoice('inline', 10, () => 0, false)).toBe('inline');
    expect(lineFilterChoice('thread', 10, () => 0, true)).toBe('thread');
    expect(() => lineFilterChoice('thread', 10, () => 0, false)).toThrow(/compiled file is missing/);
  });

  it('MIGSCOPE_LINE_FILTER takes off, thread, inline, auto; anything else is an error', () => {
    expect(lineFilterMode({})).toBe('auto');
    expect(lineFilterMode({ MIGSCOPE_LINE_FILTER: 'thread' })).toBe('thread');
    expect(() => lineFilterMode({ MIGSCOPE_LINE_FILTER: 'yes' })).toThrow(/expected off, thread, inline or auto/);
  });
});

describe.skipIf(!built)('line filter: the worker thread', () => {
  const url = pathToFileURL(workerFile);

  it('gives the parser what the same filter on this thread gives it, and counts every byte', async () => {
    const path = busyTrace('busy-feed.txt', 'two-devices-one-fails.txt', 300); // ≈ 4 blocks
    const inline = await feed(path, undefined);
    const thread = await feed(path, url);
    expect(inline.log.some((l) => l.startsWith('record'))).toBe(true);
    expect(thread.log).toEqual(inline.log);
    expect(thread.bytes).toBe(statSync(path).size);
    expect(statSync(path).size).toBeGreaterThan(2 * FILTER_BLOCK_BYTES);
  });

  it('a stop request while blocks are in flight ends the reading: what was read is parsed, then end()', async () => {
    const path = busyTrace('busy-stop.txt', 'clean-live-migration.txt', 2000);
    let stop: () => void = () => {};
    const stopped = new Promise<void>((r) => (stop = r));
    const { log, bytes, ended } = await feed(path, url, { stop: stopped, onBytes: () => stop() }); // stop after the first block
    expect(ended).toBe(true);
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThan(statSync(path).size);
    expect(log.length).toBeGreaterThan(0);
  });

  it('a thread that fails to start is an error that says how to read without it', async () => {
    const broken = join(tmp, 'broken-worker.mjs');
    writeFileSync(broken, "throw new Error('boom');\n");
    const path = busyTrace('busy-broken.txt', 'clean-live-migration.txt', 10);
    await expect(feed(path, pathToFileURL(broken))).rejects.toThrow(/line filter thread failed: boom \(MIGSCOPE_LINE_FILTER=off reads the file without it\)/);
    // The automatic choice reads on this thread instead: the same calls as the filter there.
    const fell = await feed(path, pathToFileURL(broken), { fallBack: true });
    expect(fell.ended).toBe(true);
    expect(fell.log).toEqual((await feed(path, undefined)).log);
    expect(fell.bytes).toBe(statSync(path).size);
  });

  it('a read error in the worker is this thread\'s error, with its code', async () => {
    for (const worker of [url, undefined]) await expect(feed(tmp, worker)).rejects.toMatchObject({ code: 'EISDIR' });
  });
});

describe.skipIf(!built)('line filter: the built CLI', () => {
  it('analyze gives the same output with the worker as without, on lab captures and a busy trace', () => {
    const files = [lab('clean-live-migration.txt'), lab('two-devices-one-fails.txt'), lab('v2-precopy-converges.txt'), busyTrace('busy-cli.txt', 'two-devices-one-fails.txt', 200)];
    for (const f of files) {
      for (const args of [['analyze', f, '--json'], ['analyze', f]]) {
        const off = run(args, 'off');
        const thread = run(args, 'thread');
        expect(off.stdout.length).toBeGreaterThan(0);
        expect({ ...thread, file: f }).toEqual({ ...off, file: f });
      }
    }
  });

  it('by default, on a big busy trace (where auto picks the worker), gives the same output', () => {
    const path = busyTrace('busy-big.txt', 'two-devices-one-fails.txt', 700);
    expect(statSync(path).size).toBeGreaterThanOrEqual(FILTER_MIN_BYTES);
    // What pipeline.ts asks lineFilterChoice (tested above) with: its first 64 KiB.
    expect(skippableShare(readFileSync(path).subarray(0, HEAD_BYTES))).toBeGreaterThanOrEqual(FILTER_MIN_SHARE);
    const off = run(['analyze', path, '--json'], 'off');
    const auto = run(['analyze', path, '--json'], undefined);
    expect(JSON.parse(off.stdout).summary.sessions).toBeGreaterThan(0);
    expect(auto).toEqual(off);
  });

  it('an unknown MIGSCOPE_LINE_FILTER is a usage error (exit 2) that says what it takes', () => {
    const r = run(['analyze', lab('clean-live-migration.txt')], 'fast');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('MIGSCOPE_LINE_FILTER=fast: expected off, thread, inline or auto');
  });
});
