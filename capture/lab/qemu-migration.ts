// A real QEMU migration on this machine (TCG, no KVM needed): two QEMUs, the source and a
// destination started with `-incoming unix:…`, each with the log trace backend writing
// migration events to a `-D` file and a QMP socket; a QMP client here turns on the
// `events` migration capability, sets the downtime limit, migrates, polls query-migrate
// until a final status and keeps every line it sent and received (the transcript).
//
// The guest is `-machine none -m 16`: no CPU, no devices, but a 16 MiB RAM block plus
// the timer and globalstate sections that QEMU migrates like any VM's. A VFIO device
// cannot be attached here (no IOMMU group), so the lab shows the migration level; the
// VFIO event forms are covered by fixtures built from QEMU's format strings.
//
// Used by test/lab/qemu-migration.test.ts and to record test/fixtures/qemu-lab
// (`node dist/capture/lab/qemu-migration.js OUTDIR [--no-timestamps]`).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createConnection, type Socket } from 'node:net';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const QEMU_BINARY = 'qemu-system-x86_64';

export function qemuAvailable(): boolean {
  return spawnSync(QEMU_BINARY, ['--version'], { stdio: 'ignore' }).status === 0;
}

export function qemuVersion(): string | undefined {
  const r = spawnSync(QEMU_BINARY, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0] : undefined;
}

export interface LabResult {
  readonly dir: string;
  readonly sourceLog: string;
  readonly sourceQmp: string;
  readonly destinationLog: string;
  readonly destinationQmp: string;
  /** The final query-migrate status on the source. */
  readonly finalStatus: string;
}

export interface LabOptions {
  /** `-msg timestamp=on` (default true): the TID@SEC.USEC: prefix of QEMU ≤ 10.0; off gives bare lines. */
  readonly timestamps?: boolean;
  readonly timeoutMs?: number;
}

interface Qmp {
  command(execute: string, args?: Record<string, unknown>): Promise<Record<string, unknown>>;
  close(): void;
  readonly transcript: string[];
}

async function connectQmp(path: string, deadline: number): Promise<Qmp> {
  let sock: Socket | undefined;
  while (sock === undefined) {
    try {
      sock = await new Promise<Socket>((res, rej) => {
        const s = createConnection(path, () => res(s));
        s.once('error', rej);
      });
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`QMP socket ${path}: ${(e as Error).message}`);
      await sleep(50);
    }
  }
  const s = sock;
  const transcript: string[] = [];
  const waiting = new Map<string, (o: Record<string, unknown>) => void>();
  let greeted: (() => void) | undefined;
  const greeting = new Promise<void>((res) => (greeted = res));
  let buf = '';
  s.setEncoding('utf8');
  s.on('data', (chunk: string) => {
    buf += chunk;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl).replace(/\r$/, '');
      buf = buf.slice(nl + 1);
      if (line === '') continue;
      transcript.push(line);
      const o = JSON.parse(line) as Record<string, unknown>;
      if ('QMP' in o) greeted?.();
      const id = o['id'];
      if (typeof id === 'string') {
        waiting.get(id)?.(o);
        waiting.delete(id);
      }
    }
  });
  await greeting;
  let n = 0;
  return {
    transcript,
    command(execute, args) {
      const id = `lab-${++n}`;
      const msg = JSON.stringify(args === undefined ? { execute, id } : { execute, arguments: args, id });
      transcript.push(msg);
      return new Promise((res) => {
        waiting.set(id, res);
        s.write(msg + '\n');
      });
    },
    close: () => s.destroy(),
  };
}

function startQemu(dir: string, name: string, timestamps: boolean, extra: readonly string[]): ChildProcess {
  const args = [
    '-nodefaults',
    '-machine',
    'none',
    '-m',
    '16',
    '-display',
    'none',
    ...(timestamps ? ['-msg', 'timestamp=on'] : []),
    '-trace',
    'migration_*',
    '-trace',
    'migrate_*',
    '-trace',
    'savevm_*',
    '-trace',
    'loadvm_*',
    '-trace',
    'qemu_loadvm_*',
    '-trace',
    'vfio_*',
    '-D',
    join(dir, `${name}.log`),
    '-qmp',
    `unix:${join(dir, `${name}.qmp`)},server=on,wait=off`,
    ...extra,
  ];
  return spawn(QEMU_BINARY, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

async function stop(p: ChildProcess, q: Qmp | undefined): Promise<void> {
  if (p.exitCode !== null) return;
  const exited = new Promise<void>((res) => p.once('exit', () => res()));
  try {
    await Promise.race([q?.command('quit'), sleep(2000)]);
  } catch {
    // the socket closes as QEMU quits
  }
  await Promise.race([exited, sleep(3000)]);
  if (p.exitCode === null && p.pid !== undefined) p.kill('SIGKILL');
}

export async function runQemuMigrationLab(dirIn: string, opts: LabOptions = {}): Promise<LabResult> {
  const dir = resolve(dirIn);
  mkdirSync(dir, { recursive: true });
  const timestamps = opts.timestamps ?? true;
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  const migSock = join(dir, 'migration.sock');
  const dst = startQemu(dir, 'destination', timestamps, ['-incoming', `unix:${migSock}`]);
  const src = startQemu(dir, 'source', timestamps, []);
  let dq: Qmp | undefined;
  let sq: Qmp | undefined;
  try {
    dq = await connectQmp(join(dir, 'destination.qmp'), deadline);
    sq = await connectQmp(join(dir, 'source.qmp'), deadline);
    for (const q of [dq, sq]) {
      await q.command('qmp_capabilities');
      await q.command('migrate-set-capabilities', { capabilities: [{ capability: 'events', state: true }] });
    }
    await sq.command('migrate-set-parameters', { 'downtime-limit': 300 });
    while (!existsSync(migSock)) {
      if (Date.now() > deadline) throw new Error('destination did not listen');
      await sleep(20);
    }
    await sq.command('migrate', { uri: `unix:${migSock}` });
    let finalStatus = '';
    for (;;) {
      const r = await sq.command('query-migrate');
      const ret = r['return'];
      const st = typeof ret === 'object' && ret !== null ? (ret as Record<string, unknown>)['status'] : undefined;
      if (st === 'completed' || st === 'failed' || st === 'cancelled') {
        finalStatus = st;
        break;
      }
      if (Date.now() > deadline) throw new Error(`migration did not finish (last status ${String(st)})`);
      await sleep(50);
    }
    // The destination finishes its load just after the source's completion.
    for (;;) {
      const r = await dq.command('query-migrate');
      const ret = r['return'];
      const st = typeof ret === 'object' && ret !== null ? (ret as Record<string, unknown>)['status'] : undefined;
      if (st === 'completed' || st === 'failed' || Date.now() > deadline) break;
      await sleep(50);
    }
    await dq.command('query-status');
    const sourceQmp = join(dir, 'source-qmp.jsonl');
    const destinationQmp = join(dir, 'destination-qmp.jsonl');
    writeFileSync(sourceQmp, sq.transcript.join('\n') + '\n');
    writeFileSync(destinationQmp, dq.transcript.join('\n') + '\n');
    return { dir, sourceLog: join(dir, 'source.log'), sourceQmp, destinationLog: join(dir, 'destination.log'), destinationQmp, finalStatus };
  } finally {
    await stop(src, sq);
    await stop(dst, dq);
    sq?.close();
    dq?.close();
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename.replace(/\.ts$/, '.js'))) {
  const out = process.argv[2];
  if (out === undefined) {
    console.error('usage: node dist/capture/lab/qemu-migration.js OUTDIR [--no-timestamps]');
    process.exit(2);
  }
  const r = await runQemuMigrationLab(out, { timestamps: !process.argv.includes('--no-timestamps') });
  console.log(`${qemuVersion() ?? QEMU_BINARY}: migration ${r.finalStatus}; files in ${r.dir}`);
}
