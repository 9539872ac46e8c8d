// Format detection of a QEMU log whose first trace line comes after QEMU's own messages
// (src/cli/detect.ts). Detection used to try the first 39 lines only: a log that opens with
// more unstamped QEMU messages than that (a CPUID warning per vCPU, "char device redirected"
// lines) was "unrecognised trace format", and the merge plan's probe saw no stamps in it.
// Now the QEMU formats are looked for further on (bounded by LATE_DETECT_BYTES), the input
// says at which line its first trace line was, and past the bound the message says so.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FORMATS } from '../../parsers/index.js';
import { analyzeInputs, InputError } from '../../src/cli/pipeline.js';
import { LATE_DETECT_BYTES } from '../../src/cli/detect.js';
import { renderTerminal } from '../../src/report/terminal.js';

const root = resolve(import.meta.dirname, '../..');
const lab = readFileSync(join(root, 'test/fixtures/qemu-lab/timestamped/source.log'), 'utf8');
const tmp = mkdtempSync(join(tmpdir(), 'migscope-latedetect-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// QEMU's own messages as QEMU 7.2 writes them to the -D log without -msg timestamp=on
// (target/i386/kvm/kvm.c warn_report, chardev/char-pty.c): no stamp, nothing that says "QEMU log".
const MESSAGES = [
  "qemu-system-x86_64: warning: host doesn't support requested feature: CPUID.80000001H:ECX.svm [bit 2]",
  'char device redirected to /dev/pts/3 (label charserial0)',
];

/** `bytes` (at least) of QEMU's own messages, then `tail`. */
function lateLog(name: string, bytes: number, tail: string): { path: string; lines: number } {
  const lines: string[] = [];
  let n = 0;
  for (let i = 0; n < bytes; i++) {
    const l = MESSAGES[i % MESSAGES.length] ?? '';
    lines.push(l);
    n += l.length + 1;
  }
  const path = join(tmp, name);
  writeFileSync(path, `${lines.join('\n')}\n${tail}`);
  return { path, lines: lines.length };
}

describe('a QEMU log whose trace lines come after QEMU\'s own messages', () => {
  it('the lab run after 70 KiB of messages: detected, said where, same migration as without them', async () => {
    const { path, lines } = lateLog('late.log', 70 * 1024, lab);
    const a = await analyzeInputs([{ path }], { formats: FORMATS });
    const f = a.input.files[0];
    expect(f?.format).toBe('qemu-log');
    expect(f?.detection).toMatch(new RegExp(`^qemu-log detected at line ${lines + 1} \\(byte \\d+\\)`));
    const plain = join(tmp, 'plain.log');
    writeFileSync(plain, lab);
    const b = await analyzeInputs([{ path: plain }], { formats: FORMATS });
    expect(b.input.files[0]?.detection).toBeUndefined();
    const statuses = (x: typeof a): string[] | undefined => x.migrations?.map((m) => `${m.id} ${m.outcome} ${m.statuses.map((s) => `${s.status}@${s.tsNs}`).join(',')}`);
    expect(statuses(a)).toEqual(statuses(b));
    expect(a.migrations?.[0]?.outcome).toBe('completed');
    expect(renderTerminal(a, { color: false })).toContain(`  ${path}: qemu-log detected at line ${lines + 1}`);
  });

  it('also when the file is smaller than the first read (60-odd message lines, then events)', async () => {
    const { path, lines } = lateLog('short.log', 60 * 80, lab);
    expect(lines).toBeGreaterThan(39);
    const a = await analyzeInputs([{ path }], { formats: FORMATS });
    expect(a.input.files[0]?.format).toBe('qemu-log');
    expect(a.migrations?.[0]?.outcome).toBe('completed');
  });

  it('from standard input too', async () => {
    const { path, lines } = lateLog('stdin.log', 100 * 1024, lab);
    const bytes = readFileSync(path);
    async function* chunks(): AsyncIterable<Buffer> {
      for (let i = 0; i < bytes.length; i += 16 * 1024) yield bytes.subarray(i, i + 16 * 1024);
    }
    const a = await analyzeInputs([{ path: '-' }], { formats: FORMATS, stdin: chunks() });
    expect(a.input.files[0]?.format).toBe('qemu-log');
    expect(a.input.files[0]?.detection).toContain(`at line ${lines + 1}`);
    expect(a.migrations?.[0]?.outcome).toBe('completed');
  });

  it("merging: the late log's stamps are probed, so it goes onto its host's capture", async () => {
    const qemu = readFileSync(join(root, 'test/fixtures/merge/hosts/hv-a/qemu.log'), 'utf8');
    const { path } = lateLog('hv-a-qemu.log', 70 * 1024, qemu);
    const cap = join(root, 'test/fixtures/merge/hosts/hv-a/capture.txt');
    const a = await analyzeInputs([{ path: cap }, { path }], { formats: FORMATS });
    const f = a.input.files.find((x) => x.path === path);
    expect(f?.placement).toMatchObject({ merged: true, timeline: cap });
    expect(f?.detection).toMatch(/^qemu-log detected at line/);
    expect(a.devices.map((d) => d.id)).toEqual(['0000:65:00.0']);
  });

  it('only QEMU messages: a clear message that says what was scanned', async () => {
    const { path } = lateLog('messages.log', 70 * 1024, '');
    const err = await analyzeInputs([{ path }], { formats: FORMATS }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/unrecognised trace format .* no qemu-stap or qemu-log trace line was found in all of its 70 KiB .*Pass --format NAME/);
  });

  it('trace lines only past the bound: not detected, and the message names the bound', async () => {
    const { path } = lateLog('far.log', LATE_DETECT_BYTES + 1024, lab);
    const err = await analyzeInputs([{ path }], { formats: FORMATS }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/in its first 4 MiB/);
    // --format still reads it whole: the events past the bound are found.
    const a = await analyzeInputs([{ path, format: 'qemu-log' }], { formats: FORMATS });
    expect(a.migrations?.[0]?.outcome).toBe('completed');
  });
});
