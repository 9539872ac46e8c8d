// Real signals to the built CLI reading a stream that never ends (issue 14: `… | migscope
// watch -` hung forever after "stopping…"). The first SIGINT/SIGTERM stops reading: the
// command reports what it read, finishes its export, prints its summary and exits on its
// own with its usual status; a second signal stops at once (exit 3 when an export is
// abandoned). Also: watch's summary counts every finding, past the 1000 it keeps.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, startHttpReceiver, type Receiver } from '../export/otlp-receiver.js';

const root = resolve(import.meta.dirname, '../..');
const cli = join(root, 'dist/src/cli/main.js');
const example = readFileSync(join(root, 'examples/failed-migration.trace'), 'utf8');

if (!existsSync(cli)) console.warn('SKIPPED test/cli/signals.test.ts: dist/ not built (run `npm run build`)');

interface Run {
  readonly p: ChildProcess;
  out(): string;
  err(): string;
  readonly exit: Promise<number | string>;
}

/** The CLI with `input` on its stdin, which then stays open (a live tracer's pipe). */
function start(args: string[], input: string, env: Record<string, string> = {}): Run {
  const p = spawn(process.execPath, [cli, ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  p.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  p.stdin?.write(input); // not ended
  const exit = new Promise<number | string>((r) => p.once('exit', (code, sig) => r(code ?? sig ?? -1)));
  return { p, out: () => out, err: () => err, exit };
}

function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const t0 = Date.now();
  return new Promise((res, rej) => {
    const tick = (): void => {
      if (cond()) res();
      else if (Date.now() - t0 > ms) rej(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 50);
    };
    tick();
  });
}

function portClosed(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      res(false);
    });
    s.once('error', () => res(true));
  });
}

const running: Run[] = [];
const receivers: Receiver[] = [];
afterAll(async () => {
  for (const r of running) if (r.p.exitCode === null && r.p.signalCode === null) r.p.kill('SIGKILL');
  for (const r of receivers) await r.close();
});

/** 1500 refused transitions after the example's set-up: 1503 warnings. */
function manyFindings(): string {
  const lines = example.split('\n').slice(0, 73);
  let ts = 1671331981914n;
  for (let i = 0; i < 1500; i++) {
    ts += 10_000n;
    lines.push(`${ts} pread64 pid=7813 tid=7831 fd=4 off=0x90000000000 count=4 ret=4 val=0x3 lat_ns=1000 comm=live_migration`);
    ts += 10_000n;
    lines.push(`${ts} pwrite64 pid=7813 tid=7831 fd=4 off=0x90000000000 count=4 ret=-5 val=0x2 lat_ns=1000 comm=live_migration`);
  }
  return lines.join('\n') + '\n';
}

describe.skipIf(!existsSync(cli))('signals (built CLI, stdin left open)', () => {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    it(`watch - ${sig}: summary, /metrics closed, exits on its own with its status`, async () => {
      const port = await freePort();
      const r = start(['watch', '-', '--metrics-address', `127.0.0.1:${port}`, '--fail-on', 'warning'], example);
      running.push(r);
      await until(() => r.out().includes('V1-GROUP-RECOVER'), 'the findings');
      expect(await portClosed(port)).toBe(false);
      r.p.kill(sig);
      const code = await r.exit;
      expect(r.err()).toContain('stopping');
      expect(r.err()).toMatch(/migscope watch: 2 device\(s\), 2 session\(s\), 2 finding\(s\)/);
      expect(code).toBe(1); // the two warnings, --fail-on warning
      expect(await portClosed(port)).toBe(true);
    }, 60_000);
  }

  it('analyze - SIGINT: reports what was read, with its status', async () => {
    // Nothing is printed before the end of the input, so readiness is seen from the pipe:
    // 300 KB of comment lines after the trace only fit once analyze is reading (a pipe
    // holds 64 KiB), and it installs its signal handler before it reads.
    const padding = Array.from({ length: 3000 }, (_, i) => `# padding ${i} ${'.'.repeat(90)}`).join('\n') + '\n';
    const r = start(['analyze', '-', '--fail-on', 'warning'], example);
    running.push(r);
    await new Promise<void>((res) => r.p.stdin?.write(padding, () => res()));
    r.p.kill('SIGINT');
    const code = await r.exit;
    expect(r.err()).toContain('reading stopped');
    expect(r.out()).toContain('device 0000:65:00.0');
    expect(r.out()).toContain('V1-REFUSE-VALID');
    expect(code).toBe(1);
  }, 60_000);

  it('watch - --export: a second signal during a hanging export stops at once, exit 3', async () => {
    const rec = await startHttpReceiver();
    receivers.push(rec);
    rec.setBehaviour(() => ({ kind: 'delay', ms: 120_000 }));
    const r = start(['watch', '-', '--no-metrics', '--export', 'otlp'], example, {
      OTEL_EXPORTER_OTLP_ENDPOINT: rec.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_TIMEOUT: '100000',
    });
    running.push(r);
    await until(() => r.out().includes('V1-GROUP-RECOVER'), 'the findings');
    r.p.kill('SIGTERM');
    await until(() => rec.requests.traces > 0, 'the export to start');
    expect(r.p.exitCode).toBe(null); // still flushing
    r.p.kill('SIGTERM');
    const code = await r.exit;
    expect(r.err()).toContain('second SIGTERM: stopping now, without finishing (exit 3)');
    expect(code).toBe(3);
  }, 60_000);

  it('watch -: the summary counts every finding, not the 1000 it keeps', async () => {
    const r = start(['watch', '-', '--no-metrics', '--json-lines'], manyFindings());
    running.push(r);
    r.p.stdin?.end();
    const code = await r.exit;
    const printed = r.out().split('\n').filter((l) => l.includes('"type":"finding"')).length;
    expect(printed).toBe(1503);
    expect(r.err()).toContain('1503 finding(s) (0 error, 1503 warning)');
    expect(code).toBe(0);
  }, 60_000);
});
