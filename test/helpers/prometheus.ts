// A real Prometheus (Debian's package) for tests: start it on a free loopback port, ask its
// HTTP API, stop it. Shared by the backfill test (test/export/openmetrics-prometheus.test.ts)
// and the live one (test/watch/prometheus-live.test.ts).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export const PROMTOOL = '/usr/bin/promtool';
export const PROMETHEUS = '/usr/bin/prometheus';

/** True when `bin --version` runs. */
export function toolAvailable(bin: string): boolean {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  return r.status === 0;
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface RunningPrometheus {
  /** http://127.0.0.1:PORT */
  readonly base: string;
  readonly process: ChildProcess;
  /** What Prometheus printed so far (for failure messages). */
  log(): string;
  /** SIGTERM, SIGKILL after 10 s; resolves when it exited. Safe to call twice. */
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  readonly configFile: string;
  readonly dataDir: string;
  /** Extra flags, e.g. --storage.tsdb.retention.time=3650d. */
  readonly args?: readonly string[];
  /** How long to wait for /-/ready (default 60 s). */
  readonly readyTimeoutMs?: number;
}

/** Starts Prometheus listening on 127.0.0.1 only and waits until it is ready. */
export async function startPrometheus(o: PrometheusOptions): Promise<RunningPrometheus> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let out = '';
  const p = spawn(
    PROMETHEUS,
    [`--config.file=${o.configFile}`, `--storage.tsdb.path=${o.dataDir}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn', ...(o.args ?? [])],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  p.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  p.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  let stopping: Promise<void> | undefined;
  const running: RunningPrometheus = {
    base,
    process: p,
    log: () => out,
    stop: () => {
      stopping ??= (async () => {
        if (p.exitCode !== null || p.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
        p.kill('SIGTERM');
        const timer = setTimeout(() => p.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
  const deadline = Date.now() + (o.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (p.exitCode !== null) throw new Error(`prometheus exited (${p.exitCode}): ${out}`);
    const ready = await fetch(`${base}/-/ready`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) return running;
    if (Date.now() > deadline) {
      await running.stop();
      throw new Error(`prometheus not ready after ${(o.readyTimeoutMs ?? 60_000) / 1000} s: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface PromVector {
  readonly metric: Record<string, string>;
  readonly value?: readonly [number, string];
  readonly values?: readonly (readonly [number, string])[];
}

/** GET base+path?params; throws with the body unless HTTP 200. */
export async function promApi(base: string, path: string, params: Record<string, string>): Promise<unknown> {
  const res = await fetch(`${base}${path}?${new URLSearchParams(params).toString()}`);
  const body: unknown = await res.json();
  if (res.status !== 200) throw new Error(`${path} ${JSON.stringify(params)}: HTTP ${res.status}: ${JSON.stringify(body)}`);
  return body;
}

/** data.resultType and data.result of a query answer. */
export function dataOf(body: unknown): { resultType: string; result: PromVector[] } {
  const data = typeof body === 'object' && body !== null ? Reflect.get(body, 'data') : undefined;
  const resultType = typeof data === 'object' && data !== null ? Reflect.get(data, 'resultType') : undefined;
  const result = typeof data === 'object' && data !== null ? Reflect.get(data, 'result') : undefined;
  if (typeof resultType !== 'string' || !Array.isArray(result)) throw new Error(`unexpected answer ${JSON.stringify(body)}`);
  return { resultType, result: result as PromVector[] };
}

/** Milliseconds as the API's seconds with three decimals. */
export const seconds = (ms: number): string => (ms / 1000).toFixed(3);

/** Prometheus' histogram_quantile (promql/quantile.go bucketQuantile) over classic buckets, with the bucket the value falls in. */
export function bucketQuantile(q: number, buckets: readonly number[], observations: readonly number[]): { value: number; within: readonly [number, number] } {
  const bounds = [...buckets, Infinity];
  const cumulative = bounds.map((b) => observations.filter((o) => o <= b).length);
  const total = cumulative[cumulative.length - 1] ?? 0;
  const rank = q * total;
  let b = cumulative.findIndex((c) => c >= rank);
  if (b < 0) b = bounds.length - 1;
  if (b === bounds.length - 1) {
    const last = bounds[bounds.length - 2] ?? 0;
    return { value: last, within: [last, last] };
  }
  const end = bounds[b] ?? 0;
  const start = b === 0 ? 0 : (bounds[b - 1] ?? 0);
  const before = b === 0 ? 0 : (cumulative[b - 1] ?? 0);
  const count = (cumulative[b] ?? 0) - before;
  return { value: start + (end - start) * ((rank - before) / count), within: [start, end] };
}
