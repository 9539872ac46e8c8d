// The output phase of `analyze --json` into a file, on a trace of thousands of sessions.
//
// Its progress: on a terminal, once the input's bar is full, a second bar counts the
// sessions written (2 GB of trace.dat: 35 s of output that showed nothing). And the
// input's bar never shows an ETA of "INF" or "NULL" ("ETA NFs").
//
// Signals while it writes (issue 14, "never hang"):
// stdout into a file is written synchronously, and the writer used to keep the event loop
// from turning until the last byte, so neither signal was even seen (a 2 GB trace.dat:
// 35 s of output, two Ctrl-Cs, exit 0 with the whole file). Now the first signal says the
// input is read and the output goes on to its end with the usual status; a second one
// stops at once (exit 2), the file left short. The input is the bench's dense ftrace text
// (8 devices migrating over and over), big enough that the output takes a while.

import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateFtraceText } from '../../bench/generate/ftrace-text.js';

const root = resolve(import.meta.dirname, '../..');
const cli = join(root, 'dist/src/cli/main.js');
if (!existsSync(cli)) console.warn('SKIPPED test/cli/analyze-output-phase.test.ts: dist/ not built (run `npm run build`)');
// util-linux script(1) gives the CLI a terminal for stderr while stdout goes to a file.
const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
if (!hasScript) console.warn('SKIPPED the progress tests of test/cli/analyze-output-phase.test.ts: no script(1) (util-linux) to give the CLI a terminal');

let dir = '';
let trace = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'migscope-signals-output-'));
  trace = join(dir, 'dense.txt');
  // ≈ 40 MB of JSON: dozens of the writer's turns (one per 4 MiB).
  generateFtraceText(trace, 48 * 1024 * 1024, { seed: 11, vms: 4, devicesPerVm: 2, noiseShare: 0, cpus: 2 });
});

afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

interface OutputRun {
  readonly err: () => string;
  readonly exit: Promise<number | string>;
  readonly outBytes: () => number;
  readonly outPath: string;
  kill(sig: NodeJS.Signals): void;
}

/** `analyze trace --json` with stdout into a file (not a pipe: written synchronously). */
function analyzeIntoFile(name: string): OutputRun {
  const outPath = join(dir, name);
  const fd = openSync(outPath, 'w');
  const p = spawn(process.execPath, [cli, 'analyze', trace, '--json', '--quiet', '--fail-on', 'never'], { cwd: root, stdio: ['ignore', fd, 'pipe'] });
  closeSync(fd);
  let err = '';
  p.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const exit = new Promise<number | string>((r) => p.once('exit', (code, sig) => r(code ?? sig ?? -1)));
  return { err: () => err, exit, outBytes: () => statSync(outPath).size, outPath, kill: (sig) => p.kill(sig) };
}

/** Polls often: the output phase lasts a second or so. */
function until(cond: () => boolean, what: string, exited: Promise<unknown>, ms = 120_000): Promise<void> {
  const t0 = Date.now();
  let gone = false;
  void exited.then(() => (gone = true));
  return new Promise((res, rej) => {
    const tick = (): void => {
      if (cond()) res();
      else if (gone) rej(new Error(`the process exited before ${what}`));
      else if (Date.now() - t0 > ms) rej(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 5);
    };
    tick();
  });
}

describe.skipIf(!existsSync(cli))('signals during the output of analyze --json into a file (built CLI)', () => {
  it('a second SIGINT while the output is written stops at once: exit 2, the file short', async () => {
    const r = analyzeIntoFile('second.json');
    await until(() => r.outBytes() > 0, 'the output began', r.exit);
    r.kill('SIGINT');
    await until(() => r.err().includes('finishing the output'), 'the first signal was seen', r.exit);
    r.kill('SIGINT');
    expect(await r.exit).toBe(2);
    expect(r.err()).toContain('SIGINT: the input is read; finishing the output (a second SIGINT stops at once)');
    expect(r.err()).toContain('second SIGINT: stopping now, without finishing (exit 2)');
    // Cut off mid-way: not the whole document.
    expect(readFileSync(r.outPath, 'utf8').endsWith('}\n')).toBe(false);
  }, 180_000);

  it('one SIGINT while the output is written: the output is finished, the status is the usual one', async () => {
    const r = analyzeIntoFile('first.json');
    await until(() => r.outBytes() > 0, 'the output began', r.exit);
    r.kill('SIGINT');
    expect(await r.exit).toBe(0);
    // Seen while the output went on (before, the handler never ran at all).
    expect(r.err()).toContain('SIGINT: the input is read; finishing the output');
    const doc = JSON.parse(readFileSync(r.outPath, 'utf8')) as { summary: { devices: number; sessions: number } };
    expect(doc.summary.devices).toBe(8);
    expect(doc.summary.sessions).toBeGreaterThan(1000);
  }, 180_000);

  /** Runs analyze with stderr on a terminal (script's log holds what it showed) and stdout into a file. */
  function onTerminal(name: string, extra: string[] = []): { shown: string; doc: { summary: { sessions: number } } } {
    const out = join(dir, `${name}.json`);
    const log = join(dir, `${name}.log`);
    const cmd = [process.execPath, cli, 'analyze', trace, '--json', '--fail-on', 'never', ...extra].map((a) => `'${a}'`).join(' ');
    const r = spawnSync('script', ['-qec', `${cmd} > '${out}'`, log], { cwd: root, stdio: 'ignore' });
    expect(r.status).toBe(0);
    // The terminal's text without its control sequences, one line per redraw.
    const shown = readFileSync(log, 'utf8').replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '').replace(/\r/g, '\n');
    return { shown, doc: JSON.parse(readFileSync(out, 'utf8')) as { summary: { sessions: number } } };
  }

  it.skipIf(!hasScript)('on a terminal: the input\'s bar, then one counting the sessions written, to all of them; no ETA of INF or NULL', () => {
    const { shown, doc } = onTerminal('progress');
    const n = doc.summary.sessions;
    expect(n).toBeGreaterThan(5_000);
    expect(shown).toMatch(/analyzing \[.*\] 100% \| \d+\/\d+ MB/);
    expect(shown).toContain(`writing JSON [`);
    expect(shown).toContain(`| ${n}/${n} sessions`);
    // It came after the input was read: no "analyzing" redraw after the first "writing JSON".
    expect(shown.slice(shown.indexOf('writing JSON')).includes('analyzing')).toBe(false);
    expect(shown).not.toMatch(/ETA (INF|NULL|NF|LL)/);
  }, 180_000);

  it.skipIf(!hasScript)('--quiet: neither bar', () => {
    const { shown } = onTerminal('quiet', ['--quiet']);
    expect(shown).not.toContain('analyzing [');
    expect(shown).not.toContain('writing JSON');
  }, 180_000);
});
