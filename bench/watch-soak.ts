// Bench: does `migscope watch` keep its memory flat over a long life? (issue 13: "a soak of
// 1,000,000 sessions through `watch` keeps RSS flat (report the curve)").
//
// One QEMU-like process with 8 v1 devices migrating over and over, as migscope.bt prints it
// (bench/generate/bpftrace.ts), is generated as it is fed, chunk by chunk, into the stdin of
// the built CLI's `migscope watch - --json-lines --no-metrics`: nothing holds the whole
// stream, and watch reads it as it would read a live capture. Every SAMPLE_EVERY sessions the
// bench reads watch's VmRSS from /proc; the curve is those samples. "Flat" is judged on the
// part after warm-up (the first 10 %): the least-squares slope of RSS over sessions fed from
// there to the end, per 100,000 sessions. Not the end minus the warm-up sample: RSS saws up
// and down by 30 MB with the collector, and two samples gave −6.4 and +6.4 MB per 100,000 on
// two runs of the same build (2026-12-03). The two samples are still printed.
// watch's closing summary (stderr) and the number of JSON lines it printed are reported too,
// so a soak that silently processed nothing cannot pass for flat.
//
// Usage: node dist/bench/watch-soak.js [sessions]   (default 1,000,000; MIGSCOPE_BENCH_SOAK_SESSIONS)

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { bpftraceChunks } from './generate/bpftrace.js';
import { builtCli } from '../test/watch/helpers.js';

export interface SoakSample {
  readonly sessions: number;
  readonly rssMb: number;
  readonly elapsedS: number;
}

export interface SoakResult {
  readonly sessions: number;
  readonly samples: readonly SoakSample[];
  /** RSS growth after warm-up, MB per 100,000 sessions. */
  readonly growthMbPer100k: number;
  readonly peakMb: number;
  readonly text: string;
}

function rssMb(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] === undefined ? undefined : Number(m[1]) / 1024;
  } catch {
    return undefined;
  }
}

export async function runWatchSoak(sessions = 1_000_000, log: (s: string) => void = () => {}): Promise<SoakResult> {
  const sampleEvery = Math.max(1000, Math.round(sessions / 40));
  const child = spawn(process.execPath, [builtCli(), 'watch', '-', '--json-lines', '--no-metrics', '--fail-on', 'never', '--no-color'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start migscope watch');
  let jsonLines = 0;
  let sessionLines = 0;
  let partial = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (s: string) => {
    const text = partial + s;
    const lines = text.split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      if (l.startsWith('{')) {
        jsonLines++;
        if (l.includes('"type":"session"')) sessionLines++;
      }
    }
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => (stderr += s));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  // watch dying (out of memory, a crash) closes its stdin: stop feeding and report it.
  let stdinError: Error | undefined;
  child.stdin.on('error', (e) => (stdinError ??= e));

  const started = process.hrtime.bigint();
  const elapsed = (): number => Number(process.hrtime.bigint() - started) / 1e9;
  const samples: SoakSample[] = [];
  let fed = 0;
  let nextSample = sampleEvery;
  const gen = bpftraceChunks(sessions, 7, 8, (n) => (fed = n));
  for (;;) {
    const r = gen.next();
    if (r.done === true || stdinError !== undefined || child.exitCode !== null) break;
    // Yield to I/O after every chunk: the bench reads watch's stdout in this same process,
    // and a reader that never gets to run would make watch queue its output (measured: 1 GB
    // at 50,000 sessions, all of it JSON lines waiting for the pipe).
    await new Promise<void>((res) => setImmediate(res));
    if (!child.stdin.write(r.value))
      await new Promise<void>((res) => {
        const done = (): void => {
          child.stdin.off('drain', done);
          child.off('exit', done);
          res();
        };
        child.stdin.once('drain', done);
        child.once('exit', done);
      });
    if (fed >= nextSample) {
      const mb = rssMb(pid);
      if (mb !== undefined) {
        samples.push({ sessions: fed, rssMb: mb, elapsedS: elapsed() });
        log(`  soak: ${fed.toLocaleString('en')} sessions fed, watch RSS ${mb.toFixed(1)} MB, ${elapsed().toFixed(0)} s`);
      }
      nextSample += sampleEvery;
    }
  }
  // The last sample once watch has read everything: its stdin ends, it prints its summary.
  const last = rssMb(pid);
  if (last !== undefined) samples.push({ sessions: fed, rssMb: last, elapsedS: elapsed() });
  child.stdin.end();
  const code = await exited;

  const warm = samples.find((s) => s.sessions >= sessions * 0.1) ?? samples[0];
  const end = samples[samples.length - 1];
  const growth = warm === undefined ? NaN : slopePer100k(samples.filter((x) => x.sessions >= warm.sessions));
  const peak = Math.max(...samples.map((s) => s.rssMb));
  const summary = stderr.trim().split('\n').slice(-6).join('\n');
  if (code !== 0) throw new Error(`migscope watch exited ${code} after ${fed.toLocaleString('en')} sessions fed${stdinError !== undefined ? ` (${stdinError.message})` : ''}:\n${summary}`);
  const rows = samples.map((s) => `| ${s.sessions.toLocaleString('en')} | ${s.rssMb.toFixed(1)} | ${s.elapsedS.toFixed(0)} |`);
  const text = [
    `${sessions.toLocaleString('en')} device migrations of one process with 8 v1 devices (migscope.bt text, generated as fed) through \`migscope watch - --json-lines --no-metrics\` (exit ${code}); ${jsonLines.toLocaleString('en')} JSON lines out, ${sessionLines.toLocaleString('en')} of them sessions.`,
    '',
    `RSS after warm-up (${warm?.sessions.toLocaleString('en')} sessions): ${warm?.rssMb.toFixed(1)} MB; at the end: ${end?.rssMb.toFixed(1)} MB; peak ${peak.toFixed(1)} MB; growth ${growth.toFixed(2)} MB per 100,000 sessions (least-squares slope over the samples from warm-up on).`,
    '',
    '| sessions fed | watch RSS MB | s |',
    '| ---: | ---: | ---: |',
    ...rows,
    '',
    'watch\'s closing summary:',
    '',
    '```',
    summary,
    '```',
  ].join('\n');
  return { sessions, samples, growthMbPer100k: growth, peakMb: peak, text };
}

/** Least-squares slope of RSS against sessions fed, in MB per 100,000 sessions; NaN for fewer than two distinct points. */
export function slopePer100k(points: readonly { readonly sessions: number; readonly rssMb: number }[]): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((a, p) => a + p.sessions, 0) / n;
  const my = points.reduce((a, p) => a + p.rssMb, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of points) {
    sxy += (p.sessions - mx) * (p.rssMb - my);
    sxx += (p.sessions - mx) ** 2;
  }
  return sxx === 0 ? NaN : (sxy / sxx) * 100_000;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const n = Number(process.argv[2] ?? process.env['MIGSCOPE_BENCH_SOAK_SESSIONS'] ?? 1_000_000);
  runWatchSoak(n, (s) => process.stderr.write(s + '\n')).then(
    (r) => process.stdout.write(r.text + '\n'),
    (e: unknown) => {
      process.stderr.write(`watch soak failed: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
