// OTLP partial success (otlp.md "Partial Success"): the collector accepts a request but says
// it rejected some spans (rejected_spans) or data points (rejected_data_points). Those are
// lost and must be counted as such, over every protocol, with the exact number, and the CLI
// exits 3. Also: retries exhausted over every protocol. The loopback receiver
// (otlp-receiver.ts) answers as told; a receiver answering plain success is the quiet case.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { exportAnalysis, formatSummary } from '../../src/export/index.js';
import { startGrpcReceiver, startHttpReceiver, type Receiver } from './otlp-receiver.js';
import { cleanSaveAnalysis } from './fixtures.js';

type Proto = 'http/protobuf' | 'http/json' | 'grpc';
const PROTOS: readonly Proto[] = ['http/protobuf', 'http/json', 'grpc'];
const SPANS = 4; // cleanSaveAnalysis: one session, its state spans

const receivers: Receiver[] = [];
async function start(proto: Proto): Promise<Receiver> {
  const r = proto === 'grpc' ? await startGrpcReceiver() : await startHttpReceiver();
  receivers.push(r);
  return r;
}

function env(proto: Proto, endpoint: string, timeoutMs: number): Record<string, string> {
  const e = {
    OTEL_EXPORTER_OTLP_PROTOCOL: proto,
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_EXPORTER_OTLP_TIMEOUT: String(timeoutMs),
    OTEL_NODE_RESOURCE_DETECTORS: 'env',
  };
  for (const [k, v] of Object.entries(e)) vi.stubEnv(k, v);
  return e;
}

afterEach(async () => {
  vi.unstubAllEnvs();
  for (const r of receivers.splice(0)) await r.close();
});

describe.each(PROTOS)('%s', (proto) => {
  it('a plain success: nothing counted as lost', async () => {
    const r = await start(proto);
    env(proto, r.endpoint, 5000);
    const s = await exportAnalysis(cleanSaveAnalysis());
    expect(s.spansExported).toBe(SPANS);
    expect(s.spansFailed).toBe(0);
    expect(s.metricPointsFailed).toBe(0);
    expect(s.ok).toBe(true);
  }, 30_000);

  it('partial success: the rejected spans and points are lost, exactly', async () => {
    const r = await start(proto);
    r.setBehaviour((signal) => ({ kind: 'partial', rejected: signal === 'traces' ? 1 : 2, message: `${signal} over quota (test)` }));
    env(proto, r.endpoint, 5000);
    const s = await exportAnalysis(cleanSaveAnalysis());
    expect(r.requests.traces).toBe(1);
    expect(s.spansFailed).toBe(1);
    expect(s.spansExported).toBe(SPANS - 1);
    // one metrics request (the final collection), 2 of its points rejected
    expect(r.requests.metrics).toBe(1);
    expect(s.metricPointsFailed).toBe(2);
    expect(s.metricPointsExported).toBe(r.points.length - 2);
    expect(s.ok).toBe(false);
    const text = formatSummary(s);
    expect(text).toContain('LOST 1 spans, 2 metric points');
    expect(text).toContain('the collector rejected 1 of 4 spans (OTLP partial success: traces over quota (test))');
  }, 30_000);

  it('retries exhausted: every span and point is lost, counted', async () => {
    const r = await start(proto);
    r.setBehaviour(() => ({ kind: 'unavailable' }));
    env(proto, r.endpoint, 1500);
    const s = await exportAnalysis(cleanSaveAnalysis());
    expect(r.requests.traces).toBeGreaterThan(1); // retried
    expect(s.spansExported).toBe(0);
    expect(s.spansFailed).toBe(SPANS);
    expect(s.metricPointsExported).toBe(0);
    expect(s.metricPointsFailed).toBeGreaterThan(0);
    expect(s.ok).toBe(false);
  }, 60_000);
});

const root = resolve(import.meta.dirname, '../..');
const cli = join(root, 'dist/src/cli/main.js');
if (!existsSync(cli)) console.warn('SKIPPED CLI cases of test/export/partial-success.test.ts: dist/ not built (run `npm run build`)');

function runCli(args: string[], extraEnv: Record<string, string>): Promise<{ status: number | null; stderr: string }> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [cli, ...args], { cwd: root, env: { ...process.env, ...extraEnv }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    p.once('exit', (status) => res({ status, stderr }));
  });
}

describe.skipIf(!existsSync(cli))('migscope analyze --export otlp (built CLI)', () => {
  for (const proto of PROTOS) {
    it(`${proto}: partial success exits 3 with the lost count; plain success exits as usual`, async () => {
      const r = await start(proto);
      const e = { OTEL_EXPORTER_OTLP_PROTOCOL: proto, OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint, OTEL_EXPORTER_OTLP_TIMEOUT: '5000', OTEL_NODE_RESOURCE_DETECTORS: 'env' };
      const args = ['analyze', 'examples/failed-migration.trace', '--export', 'otlp'];
      const clean = await runCli(args, e);
      expect(clean.stderr).toContain('nothing lost');
      expect(clean.status).toBe(0);
      r.setBehaviour((signal) => (signal === 'traces' ? { kind: 'partial', rejected: 3, message: 'invalid span (test)' } : { kind: 'ok' }));
      const partial = await runCli(args, e);
      expect(partial.stderr).toMatch(/LOST 3 spans, 0 metric points/);
      expect(partial.stderr).toContain('the collector rejected 3 of');
      expect(partial.status).toBe(3);
    }, 60_000);
  }
});
