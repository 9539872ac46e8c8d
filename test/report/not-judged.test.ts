// What a rule leaves undecided at a cap (Analysis.notJudged) reaches every place the user
// looks: the analysis, `analyze --json`, the terminal summary, the HTML report's problem
// list, watch's closing summary. Driven end to end from an
// ftrace text trace: a v2 device whose FEATURE ioctls the trace shows entered and never
// exited (each from its own thread), with the device in use 12 s past them, so that
// V2-BLOCKED-ARC judges every entry it keeps as hung (limit 10 s).

import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { builtCli } from '../watch/helpers.js';
import { FORMATS } from '../../parsers/index.js';
import { analyzeInputs } from '../../src/cli/pipeline.js';
import { MAX_PENDING } from '../../src/check/rules/v2-blocked-arc.js';
import { renderJson } from '../../src/report/json.js';
import { renderTerminal } from '../../src/report/terminal.js';
import { buildReportModel } from '../../src/report/html/index.js';
import type { Analysis } from '../../src/analysis/types.js';

const line = (comm: string, tid: number, ts: number, text: string): string => ` ${`${comm}-${tid}`.padStart(22)} (  17286) [001] .....  ${ts.toFixed(6)}: ${text}`;

/** `n` FEATURE ioctls on device fd 3 that never return (each thread's entry, no exit). */
function hungTrace(n: number): string {
  const out = ['# tracer: nop'];
  out.push(line('qemu-system-x86', 17286, 1000.0001, 'sys_openat(dfd: 0xffffff9c, filename: 0x7f4908f1bde0, flags: 0x80002, mode: 0)'));
  out.push(line('qemu-system-x86', 17286, 1000.0002, 'sys_openat -> 0x8'));
  out.push(line('qemu-system-x86', 17286, 1000.0003, 'sys_ioctl(fd: 8, cmd: 0x3b6a, arg: 0x7f4908ef5450)'));
  out.push(line('qemu-system-x86', 17286, 1000.0004, 'sys_ioctl -> 0x3'));
  // One FEATURE call that returns: what makes fd 3 a v2 device to the decoder (ftrace shows no struct).
  out.push(line('live_migration', 17287, 1000.0005, 'sys_ioctl(fd: 3, cmd: 0x3b75, arg: 0x7f4908ef5450)'));
  out.push(line('live_migration', 17287, 1000.0006, 'sys_ioctl -> 0x0'));
  for (let i = 0; i < n; i++) out.push(line('worker', 20000 + i, 1000.001 + i * 1e-6, 'sys_ioctl(fd: 3, cmd: 0x3b75, arg: 0x7f4908ef5450)'));
  // 12.5 s on, the device is still in use (the rule's horizon is the last device op).
  out.push(line('live_migration', 17287, 1012.5, 'sys_ioctl(fd: 3, cmd: 0x3b75, arg: 0x7f4908ef5450)'));
  out.push(line('live_migration', 17287, 1012.5001, 'sys_ioctl -> 0x0'));
  return out.join('\n') + '\n';
}

async function analyze(text: string): Promise<Analysis> {
  async function* stdin(): AsyncIterable<Buffer> {
    yield Buffer.from(text);
  }
  return analyzeInputs([{ path: '-', format: 'ftrace' }], { formats: FORMATS, stdin: stdin() });
}

const hangs = (a: Analysis): number => a.findings.filter((f) => f.rule === 'V2-BLOCKED-ARC' && f.blame === 'driver').length;

describe('Analysis.notJudged: V2-BLOCKED-ARC past its cap', () => {
  it('over the cap: the exact count is in the analysis, the JSON and the terminal summary; the kept entries are judged', async () => {
    const a = await analyze(hungTrace(MAX_PENDING + 25));
    expect(hangs(a)).toBe(MAX_PENDING);
    expect(a.notJudged?.map((n) => [n.rule, n.count])).toEqual([['V2-BLOCKED-ARC', 25]]);
    const json = JSON.parse(renderJson(a)) as { notJudged?: { rule: string; count: number; what: string }[] };
    expect(json.notJudged).toEqual([{ rule: 'V2-BLOCKED-ARC', count: 25, what: `VFIO_DEVICE_FEATURE ioctls without an exit, past the ${MAX_PENDING} kept at once, not judged for a hang` }]);
    expect(buildReportModel(a).input.problems).toContainEqual({ where: 'V2-BLOCKED-ARC', message: `not judged: 25 VFIO_DEVICE_FEATURE ioctls without an exit, past the ${MAX_PENDING} kept at once, not judged for a hang` });
    expect(renderTerminal(a, { color: false })).toContain(`\nnot judged: 25 VFIO_DEVICE_FEATURE ioctls without an exit, past the ${MAX_PENDING} kept at once, not judged for a hang (V2-BLOCKED-ARC)\n`);
  });
  it('under the cap: every entry is judged and no output mentions it', async () => {
    const a = await analyze(hungTrace(5));
    expect(hangs(a)).toBe(5);
    expect(a.notJudged).toBeUndefined();
    expect(renderJson(a)).not.toContain('notJudged');
    expect(renderTerminal(a, { color: false })).not.toContain('not judged');
    expect(buildReportModel(a).input.problems).toEqual([]);
  });
});

describe("watch's closing summary", () => {
  const watch = (text: string): string => spawnSync(process.execPath, [builtCli(), 'watch', '-', '--no-metrics', '--fail-on', 'never'], { encoding: 'utf8', input: text }).stderr;
  it('prints the count past the cap, and nothing under it', () => {
    expect(watch(hungTrace(MAX_PENDING + 3))).toContain(`\nmigscope watch: not judged: 3 VFIO_DEVICE_FEATURE ioctls without an exit, past the ${MAX_PENDING} kept at once, not judged for a hang (V2-BLOCKED-ARC)\n`);
    const under = watch(hungTrace(4));
    expect(under).toMatch(/migscope watch: 1 device\(s\), 0 session\(s\), 4 finding\(s\)/);
    expect(under).not.toContain('not judged');
  });
});
