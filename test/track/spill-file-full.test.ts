// The spill file on a disk that fills up (track/spill-file.ts): a real write failure, made
// with a file-size limit (ulimit -f, EFBIG) in a child process. Every text appended before
// the failure reads back as written, from the file or from the batch kept in memory; the
// append that meets the failure and every later one are refused (SpillRefused), so the
// caller keeps those items itself: nothing is lost.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { builtCli } from '../watch/helpers.js';

const CHILD = `
const { openSpillFile, SpillRefused } = await import(process.argv[1]);
const f = openSpillFile();
const texts = [], at = [];
let refusedAt = -1, refusedAfter = 0;
for (let i = 0; i < 4000; i++) {
  const t = (i % 3 === 0 ? 'état ' : 'row ') + String(i).padStart(6, '0') + ' ' + 'x'.repeat(300 + (i * 37) % 900) + (i % 500 === 7 ? 'y'.repeat(1_200_000) : '');
  try {
    at.push(f.append(t));
    texts.push(t);
    if (refusedAt >= 0) { console.log('ACCEPTED AFTER REFUSAL', i); process.exit(1); }
  } catch (e) {
    if (!(e instanceof SpillRefused)) throw e;
    if (refusedAt < 0) refusedAt = i;
    refusedAfter++;
  }
}
let bad = 0;
for (let i = texts.length - 1; i >= 0; i--) if (f.read(at[i].pos, at[i].len) !== texts[i]) bad++;
console.log(JSON.stringify({ kept: texts.length, refusedAt, refusedAfter, bad, size: f.size() }));
`;

describe('spill file on a full disk', () => {
  it('reads back every text it accepted and refuses the rest', () => {
    const spillFile = pathToFileURL(join(builtCli(), '..', '..', 'track', 'spill-file.js')).href;
    // 2 MB (4,096 blocks of 512 bytes): the limit is met a few batches in.
    const r = spawnSync('bash', ['-c', 'ulimit -f 4096 && exec "$0" --input-type=module -e "$1" "$2"', process.execPath, CHILD, spillFile], { encoding: 'utf8' });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const out = JSON.parse(r.stdout.trim()) as { kept: number; refusedAt: number; refusedAfter: number; bad: number; size: number };
    expect(out.refusedAt).toBeGreaterThan(0);
    expect(out.kept + out.refusedAfter).toBe(4000);
    expect(out.kept).toBe(out.refusedAt);
    expect(out.bad).toBe(0);
    expect(out.size).toBeGreaterThan(2 * 1024 * 1024);
  });
});
