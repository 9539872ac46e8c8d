// Bench: finding latency of `migscope watch` (issue 5: "each finding is printed within a
// second of the event that caused it"; measured here, never in a test).
//
// One lab VMM process (test/watch/lab-runner.py) runs the scenario reserved-state-101-rejected
// N times, one after another, each on its own FUSE-emulated device: every run writes the
// reserved state 101b to device_state once, and that pwrite64 is what V1-RESERVED-STATE
// flags. Right after each syscall returns the runner prints its CLOCK_MONOTONIC time
// (--stamp). Three readers follow the same process at the same time:
//   watch     the built CLI, `migscope watch --pid PID`: finding latency = when the finding
//             line is read from watch's stdout − when the offending pwrite64 returned;
//   bpftrace  the same bpftrace program run directly (capture/migscope.bt): when its line
//             for that pwrite64 is read − the same stamp. The floor: what the kernel, BPF
//             and bpftrace's perf-buffer polling cost before anyone can know;
//   capture   the capture runner in this process (capture/bpftrace.ts), its onLine: the
//             floor plus the runner's reorder hold (capture/reorder.ts, 250 ms), which every
//             watch line waits too.
// Times are CLOCK_MONOTONIC in both processes (python time.monotonic_ns, node hrtime).
//
// Usage: node dist/bench/watch-latency.js [runs [load]]   (or MIGSCOPE_BENCH_WATCH_RUNS, _LOAD;
// default 20 runs, no load). load: device_state reads a second by another thread of the VMM
// (lab-runner.py --load), for issue 13's "p99 < 1 s under 10,000 migration-region syscalls/s".
// Needs root, FUSE, python3-fusepy and bpftrace (the lab); says why and returns otherwise.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { labAvailable } from '../capture/lab/run.js';
import { bpftraceProgramPath, bpftraceTracer } from '../capture/bpftrace.js';
import type { CaptureHandle } from '../capture/tracer.js';
import { builtCli, kill, startLabs, startProc, waitFor, type MultiLab, type Proc } from '../test/watch/helpers.js';

export interface WatchLatencyResult {
  readonly runs: number;
  /** --load: device_state reads a second the VMM asked for, and what it issued (reads / seconds). */
  readonly load?: { readonly rate: number; readonly reads: number; readonly seconds: number };
  /** watch's closing summary: records read, lost events. */
  readonly watchInput?: { readonly records: number; readonly lost: number };
  /** Per reader, latencies in ms, in run order. */
  readonly watchMs: readonly number[];
  readonly bpftraceMs: readonly number[];
  readonly captureMs: readonly number[];
  readonly text: string;
  readonly skipped?: string;
}

const SCENARIO = 'reserved-state-101-rejected';
/** The offending syscall: a 4-byte device_state write (region 9 at 9 << 40) of 101b, refused. */
const OFFENDING_LINE = /\bpwrite64 .*\boff=0x90000000000 count=4 ret=-22 val=0x5\b/;
/** The finding watch prints for it (src/cli/watch.ts printFinding). */
const FINDING_LINE = /\bV1-RESERVED-STATE blame vmm\b/;

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  // nearest rank
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

function stats(xs: readonly number[]): { median: number; p95: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { median: quantile(s, 0.5), p95: quantile(s, 0.95), max: s[s.length - 1] ?? NaN };
}

/** Lines of a stream as they arrive, each with the CLOCK_MONOTONIC ns it was read at. */
function lineReader(onLine: (line: string, atNs: bigint) => void): (chunk: Buffer) => void {
  let rest = '';
  return (chunk) => {
    const at = process.hrtime.bigint();
    const parts = (rest + chunk.toString()).split('\n');
    rest = parts.pop() ?? '';
    for (const p of parts) onLine(p, at);
  };
}

const msSince = (fromNs: bigint, toNs: bigint): number => Number(toNs - fromNs) / 1e6;

/** Load mode (issue 13): another thread of the same VMM reads a device's state `loadRate` times a second meanwhile. */
export async function runWatchLatencyBench(runs = 20, opts: { readonly loadRate?: number } = {}): Promise<WatchLatencyResult> {
  const lab = await labAvailable('bpftrace');
  if (!lab.ok) {
    const why = lab.reason ?? 'the lab cannot run here';
    return { runs: 0, watchMs: [], bpftraceMs: [], captureMs: [], text: `watch latency: skipped: ${why}`, skipped: why };
  }
  const cli = builtCli();
  const tmp = mkdtempSync(join(tmpdir(), 'migscope-bench-watch-'));
  let labs: MultiLab | undefined;
  let runner: Proc | undefined;
  let watch: Proc | undefined;
  let raw: Proc | undefined;
  let capture: CaptureHandle | undefined;

  let load: WatchLatencyResult['load'];
  let loadError: string | undefined;
  let watchInput: WatchLatencyResult['watchInput'];
  const stamps: bigint[] = [];
  const watchAt: bigint[] = [];
  const rawAt: bigint[] = [];
  const captureAt: bigint[] = [];
  try {
    const loadRate = opts.loadRate ?? 0;
    // The load device gets a lab of its own (the last one), not a --run.
    labs = await startLabs([...Array.from({ length: runs }, () => SCENARIO), ...(loadRate > 0 ? ['clean-live-migration'] : [])]);
    const argv = loadRate > 0 ? [...labs.runnerArgv.slice(0, -2), '--load', `${labs.labs[runs]?.mount ?? ''}:${loadRate}`] : labs.runnerArgv;
    // --hold 0.5: half a second between runs, so each finding stands on its own.
    runner = startProc([...argv, '--wait-go', '--stamp', '--hold', '0.5'], { stdin: 'pipe' });
    const r = runner;
    let ready = false;
    r.child.stdout?.on(
      'data',
      lineReader((line) => {
        if (/^ready pid=\d+/.test(line)) ready = true;
        if (!line.startsWith('{')) return;
        const e: unknown = JSON.parse(line);
        if (typeof e !== 'object' || e === null) return;
        const l: unknown = Reflect.get(e, 'load');
        if (typeof l === 'object' && l !== null) {
          const error: unknown = Reflect.get(l, 'error');
          if (typeof error === 'string' && error !== '') loadError = error;
          load = { rate: opts.loadRate ?? 0, reads: Number(Reflect.get(l, 'reads')), seconds: Number(Reflect.get(l, 'seconds')) };
          return;
        }
        const op = Reflect.get(e, 'op');
        const value = Reflect.get(e, 'value');
        const size = Reflect.get(e, 'size');
        const mono = Reflect.get(e, 'mono');
        if (op === 'pwrite' && value === '0x5' && size === 4 && typeof mono === 'number') stamps.push(BigInt(mono));
      }),
    );
    await waitFor(() => ready || r.child.exitCode !== null, 30_000, 'the lab runner');
    const pid = Number(/ready pid=(\d+)/.exec(r.stdout())?.[1]);
    if (!(pid > 0)) throw new Error(`lab runner did not start: ${r.stderr()}`);

    watch = startProc([process.execPath, cli, 'watch', '--pid', String(pid), '--no-metrics', '--no-color'], { detached: true });
    const w = watch;
    w.child.stdout?.on(
      'data',
      lineReader((line, at) => {
        if (FINDING_LINE.test(line)) watchAt.push(at);
      }),
    );

    // The same bpftrace program, run directly (as capture/bpftrace.ts runs it, without the runner around it).
    raw = startProc(['bpftrace', '-f', 'text', bpftraceProgramPath(), String(pid), '1'], { detached: true });
    const b = raw;
    let rawBegun = false;
    b.child.stdout?.on(
      'data',
      lineReader((line, at) => {
        if (line.startsWith('# migscope-capture')) rawBegun = true;
        if (OFFENDING_LINE.test(line)) rawAt.push(at);
      }),
    );

    capture = await bpftraceTracer.start({
      target: { kind: 'pid', pid },
      output: join(tmp, 'capture.trace'),
      format: 'text',
      readWrite: true,
      onLine: (line) => {
        if (OFFENDING_LINE.test(line)) captureAt.push(process.hrtime.bigint());
      },
    });
    await capture.attached;
    await waitFor(() => /tracing pid \d+/.test(w.stderr()) || w.child.exitCode !== null, 60_000, 'watch to attach');
    await waitFor(() => rawBegun || b.child.exitCode !== null, 60_000, 'bpftrace to attach');
    if (w.child.exitCode !== null || b.child.exitCode !== null) throw new Error(`a reader exited early: ${w.stderr()}${b.stderr()}`);

    r.child.stdin?.end('go\n');
    await r.exit;
    await capture.done;
    await waitFor(() => watchAt.length >= runs && rawAt.length >= runs, 15_000, 'every reader to report every event').catch(() => undefined);
  } finally {
    capture?.stop();
    await kill(watch, true);
    const m = /input (\d+) records, \d+ malformed, (\d+) lost events/.exec(watch?.stderr() ?? '');
    if (m !== null) watchInput = { records: Number(m[1]), lost: Number(m[2]) };
    await kill(raw, true);
    await kill(runner);
    await labs?.stop();
    rmSync(tmp, { recursive: true, force: true });
  }

  if (loadError !== undefined) throw new Error(`the load thread failed: ${loadError}`);
  if ((opts.loadRate ?? 0) > 0 && load === undefined) throw new Error('the lab runner reported no load');
  const n = Math.min(stamps.length, watchAt.length, rawAt.length, captureAt.length);
  if (n < runs) throw new Error(`events seen: ${stamps.length} stamped, ${watchAt.length} findings, ${rawAt.length} bpftrace lines, ${captureAt.length} capture lines; expected ${runs} each`);
  const watchMs = stamps.map((s, i) => msSince(s, watchAt[i] ?? s));
  const bpftraceMs = stamps.map((s, i) => msSince(s, rawAt[i] ?? s));
  const captureMs = stamps.map((s, i) => msSince(s, captureAt[i] ?? s));
  const ws = stats(watchMs);
  const bs = stats(bpftraceMs);
  const cs = stats(captureMs);
  const f = (x: number): string => x.toFixed(1).padStart(8);
  const p99 = (xs: readonly number[]): number => quantile([...xs].sort((a, b) => a - b), 0.99);
  const lines = [
    `watch finding latency (${SCENARIO} x ${runs} in one VMM process; ms from the offending pwrite64's return):`,
    ...(load !== undefined
      ? [
          `  under load: other threads of the VMM read a device's state (4-byte pread64s of its migration region) ${load.rate.toLocaleString('en')}/s asked, ` +
            `${Math.round(load.reads / Math.max(load.seconds, 1e-9)).toLocaleString('en')}/s issued (${load.reads.toLocaleString('en')} reads in ${load.seconds.toFixed(1)} s)` +
            (watchInput !== undefined ? `; watch read ${watchInput.records.toLocaleString('en')} records, ${watchInput.lost.toLocaleString('en')} lost events` : ''),
        ]
      : []),
    `                                     median      p95      p99      max   median vs bpftrace`,
    `  bpftrace line (the floor)        ${f(bs.median)} ${f(bs.p95)} ${f(p99(bpftraceMs))} ${f(bs.max)}      1.00x`,
    `  capture onLine (+ reorder hold)  ${f(cs.median)} ${f(cs.p95)} ${f(p99(captureMs))} ${f(cs.max)} ${(cs.median / bs.median).toFixed(2).padStart(10)}x`,
    `  watch finding printed            ${f(ws.median)} ${f(ws.p95)} ${f(p99(watchMs))} ${f(ws.max)} ${(ws.median / bs.median).toFixed(2).padStart(10)}x`,
    // Both wait for the reorder hold, released by a 50 ms ticker whose phase differs per
    // process: their difference is within that jitter unless the analysis itself is slow.
    `  watch minus capture (analysis, printing, a second process; ±50 ms reorder-tick jitter): median ${(ws.median - cs.median).toFixed(1)} ms`,
    `  within 1 s: ${watchMs.filter((x) => x <= 1000).length}/${runs} findings`,
  ];
  return { runs, watchMs, bpftraceMs, captureMs, text: lines.join('\n'), ...(load !== undefined ? { load } : {}), ...(watchInput !== undefined ? { watchInput } : {}) };
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const arg = process.argv[2] ?? process.env['MIGSCOPE_BENCH_WATCH_RUNS'];
  const n = arg !== undefined && /^\d+$/.test(arg) && Number(arg) > 0 ? Number(arg) : 20;
  const load = process.argv[3] ?? process.env['MIGSCOPE_BENCH_WATCH_LOAD'];
  runWatchLatencyBench(n, load !== undefined && /^\d+$/.test(load) ? { loadRate: Number(load) } : {}).then(
    (r) => {
      process.stdout.write(r.text + '\n');
      process.exit(0);
    },
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
