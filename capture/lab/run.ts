// Test helper (and a user's own lab): capture one lab scenario with the real tracer.
//
//   const a = await labAvailable();              // { ok: false, reason } when it cannot run here
//   const r = await captureScenario('clean-live-migration', '/tmp/x.trace');
//   const lab = await startLab('clean-live-migration');  // mounted, left running
//   spawn(...lab.workloadArgv) under your own tracer or `migscope watch --`; await lab.stop();
//
// Each call mounts its own FUSE device (capture/lab/vfio_fuse.py) in a fresh temp dir,
// starts the workload (capture/lab/workload.py) waiting on stdin, attaches the capture to
// its pid, lets it go, waits for it to exit (which ends the capture), then unmounts and
// removes the temp dir. See capture/lab/README.md.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TRACERS, DEFAULT_TRACER } from '../tracers.js';
import { shippedFile } from '../package-root.js';
import type { CaptureResult } from '../tracer.js';

/** Debian's python: python3-fusepy imports only there (LAB-NOTES). */
export const LAB_PYTHON = '/usr/bin/python3';

export interface LabScenarioFinding {
  readonly rule: string;
  readonly blame: 'U' | 'D';
  readonly severity: 'error' | 'warning';
  readonly device: string;
}

export interface LabStateWrite {
  readonly value: number;
  readonly errno?: number;
  readonly width?: number;
}

/** A data session a v2 scenario expects (track/types.ts MigrationSession). */
export interface LabSession {
  readonly kind: 'save' | 'resume';
  readonly outcome: string;
  readonly bytes?: number;
}

export interface LabScenario {
  readonly name: string;
  /** 'v2': the scenario has protocol-v2 devices (it may mix in v1 ones); listed by labScenarios('v2'). */
  readonly protocol: 'v1' | 'v2';
  readonly description: string;
  readonly devices: readonly { readonly name: string }[];
  readonly expect: {
    readonly findings: readonly LabScenarioFinding[];
    readonly states: Readonly<Record<string, readonly number[]>>;
    readonly stateWrites: Readonly<Record<string, readonly LabStateWrite[]>>;
    readonly resets?: Readonly<Record<string, number>>;
    /** v2 scenarios: the protocol of each device. */
    readonly protocols?: Readonly<Record<string, 'v1' | 'v2'>>;
    /** v2 scenarios: the data sessions of each v2 device, in order. */
    readonly sessions?: Readonly<Record<string, readonly LabSession[]>>;
    /** Issue 12: the convergence verdict and fit of each device's save (what a correct analyzer says). */
    readonly convergence?: Readonly<Record<string, { readonly verdict?: string; readonly fits?: string }>>;
  };
  /** Flags the scenario is analysed with (e.g. `--downtime-limit`). */
  readonly analyze?: { readonly downtimeLimit?: string };
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The scenarios of capture/lab/scenarios.json of one protocol (default v1: the v1 tests
 * expect v1 devices only), checked for the shape the tests rely on.
 */
export function labScenarios(protocol: 'v1' | 'v2' = 'v1'): readonly LabScenario[] {
  return allLabScenarios().filter((s) => s.protocol === protocol);
}

function allLabScenarios(): readonly LabScenario[] {
  const doc: unknown = JSON.parse(readFileSync(shippedFile('capture', 'lab', 'scenarios.json'), 'utf8'));
  if (!isObj(doc) || !Array.isArray(doc['scenarios'])) throw new Error('scenarios.json: no "scenarios" array');
  return doc['scenarios'].map((s: unknown, i: number): LabScenario => {
    if (!isObj(s) || typeof s['name'] !== 'string' || typeof s['description'] !== 'string') {
      throw new Error(`scenarios.json: scenario ${i} lacks name/description`);
    }
    const devices = s['devices'];
    const expect = s['expect'];
    if (!Array.isArray(devices) || !isObj(expect)) throw new Error(`scenarios.json: ${s['name']}: devices/expect`);
    const names = devices.map((d: unknown) => {
      if (!isObj(d) || typeof d['name'] !== 'string') throw new Error(`scenarios.json: ${String(s['name'])}: device without name`);
      return { name: d['name'] };
    });
    const findings = expect['findings'];
    const states = expect['states'];
    const stateWrites = expect['stateWrites'];
    if (!Array.isArray(findings) || !isObj(states) || !isObj(stateWrites)) throw new Error(`scenarios.json: ${s['name']}: expect`);
    const f = findings.map((x: unknown): LabScenarioFinding => {
      if (
        !isObj(x) ||
        typeof x['rule'] !== 'string' ||
        (x['blame'] !== 'U' && x['blame'] !== 'D') ||
        (x['severity'] !== 'error' && x['severity'] !== 'warning') ||
        typeof x['device'] !== 'string'
      ) {
        throw new Error(`scenarios.json: ${String(s['name'])}: bad finding`);
      }
      return { rule: x['rule'], blame: x['blame'], severity: x['severity'], device: x['device'] };
    });
    const numList = (v: unknown): number[] => {
      if (!Array.isArray(v) || !v.every((n): n is number => typeof n === 'number')) throw new Error(`scenarios.json: ${String(s['name'])}: not a number list`);
      return v;
    };
    const st: Record<string, readonly number[]> = {};
    for (const [k, v] of Object.entries(states)) st[k] = numList(v);
    const sw: Record<string, readonly LabStateWrite[]> = {};
    for (const [k, v] of Object.entries(stateWrites)) {
      if (!Array.isArray(v)) throw new Error(`scenarios.json: ${String(s['name'])}: stateWrites.${k}`);
      sw[k] = v.map((w: unknown): LabStateWrite => {
        if (!isObj(w) || typeof w['value'] !== 'number') throw new Error(`scenarios.json: ${String(s['name'])}: bad state write`);
        return {
          value: w['value'],
          ...(typeof w['errno'] === 'number' ? { errno: w['errno'] } : {}),
          ...(typeof w['width'] === 'number' ? { width: w['width'] } : {}),
        };
      });
    }
    const resets: Record<string, number> = {};
    if (isObj(expect['resets'])) for (const [k, v] of Object.entries(expect['resets'])) if (typeof v === 'number') resets[k] = v;
    const protocol = s['protocol'] === undefined ? 'v1' : s['protocol'];
    if (protocol !== 'v1' && protocol !== 'v2') throw new Error(`scenarios.json: ${String(s['name'])}: bad protocol`);
    const protocols: Record<string, 'v1' | 'v2'> = {};
    if (isObj(expect['protocols'])) {
      for (const [k, v] of Object.entries(expect['protocols'])) {
        if (v !== 'v1' && v !== 'v2') throw new Error(`scenarios.json: ${String(s['name'])}: protocols.${k}`);
        protocols[k] = v;
      }
    }
    const sessions: Record<string, readonly LabSession[]> = {};
    if (isObj(expect['sessions'])) {
      for (const [k, v] of Object.entries(expect['sessions'])) {
        if (!Array.isArray(v)) throw new Error(`scenarios.json: ${String(s['name'])}: sessions.${k}`);
        sessions[k] = v.map((x: unknown): LabSession => {
          if (!isObj(x) || (x['kind'] !== 'save' && x['kind'] !== 'resume') || typeof x['outcome'] !== 'string') {
            throw new Error(`scenarios.json: ${String(s['name'])}: bad session`);
          }
          return { kind: x['kind'], outcome: x['outcome'], ...(typeof x['bytes'] === 'number' ? { bytes: x['bytes'] } : {}) };
        });
      }
    }
    const convergence: Record<string, { verdict?: string; fits?: string }> = {};
    if (isObj(expect['convergence'])) {
      for (const [k, v] of Object.entries(expect['convergence'])) {
        if (!isObj(v)) throw new Error(`scenarios.json: ${String(s['name'])}: convergence.${k}`);
        convergence[k] = { ...(typeof v['verdict'] === 'string' ? { verdict: v['verdict'] } : {}), ...(typeof v['fits'] === 'string' ? { fits: v['fits'] } : {}) };
      }
    }
    const an = s['analyze'];
    const analyze = isObj(an) && typeof an['downtimeLimit'] === 'string' ? { downtimeLimit: an['downtimeLimit'] } : undefined;
    return {
      name: s['name'],
      protocol,
      description: s['description'],
      devices: names,
      expect: { findings: f, states: st, stateWrites: sw, resets, protocols, sessions, convergence },
      ...(analyze !== undefined ? { analyze } : {}),
    };
  });
}

/** Can the lab run here? Needs root, FUSE, Debian's python3-fusepy and the tracer. */
export async function labAvailable(tracer: string = DEFAULT_TRACER): Promise<{ ok: boolean; reason?: string }> {
  if (typeof process.geteuid === 'function' && process.geteuid() !== 0) return { ok: false, reason: 'the lab needs root (FUSE mount, bpftrace)' };
  if (!existsSync('/dev/fuse')) return { ok: false, reason: '/dev/fuse is missing (FUSE not available)' };
  const fm = spawnSync('fusermount', ['-V'], { encoding: 'utf8' });
  if (fm.error !== undefined) return { ok: false, reason: 'fusermount is missing (apt-get install fuse3)' };
  const py = spawnSync(LAB_PYTHON, ['-c', 'import fusepy'], { encoding: 'utf8' });
  if (py.error !== undefined || py.status !== 0) {
    return { ok: false, reason: `${LAB_PYTHON} cannot import fusepy (apt-get install python3-fusepy)` };
  }
  const t = TRACERS.get(tracer);
  if (t === undefined) return { ok: false, reason: `unknown tracer ${tracer}` };
  const a = await t.available();
  return a.ok ? { ok: true } : { ok: false, reason: a.reason ?? `${tracer} unavailable` };
}

export interface CaptureScenarioOptions {
  readonly tracer?: string;
  readonly format?: 'text' | 'json';
  /** 8-byte data-section syscalls as QEMU does (default: one syscall per buffer). */
  readonly qemuIo?: boolean;
  /** Keep the daemon's driver-side log here. */
  readonly driverLog?: string;
  /** The workload also writes QEMU 7.2's log-backend trace lines here (workload.py --qemu-log). */
  readonly qemuLog?: string;
  /** The workload also writes a QMP transcript of the migration here (workload.py --qmp-log). */
  readonly qmpLog?: string;
  /** Open the devices before the capture attaches: it sees them as pid:fd only (workload.py --early-open). */
  readonly earlyOpen?: boolean;
  /** The tracer's own messages (fallbacks, warnings, cleanup). */
  readonly log?: (message: string) => void;
}

export interface ScenarioCapture {
  readonly trace: string;
  /** The workload's own record of every syscall it made (JSON lines, see workload.py). */
  readonly journal: readonly Readonly<Record<string, unknown>>[];
  readonly workloadPid: number;
  /** Absolute path of the device file for each device name (what an openat would show). */
  readonly mount: string;
  readonly result: CaptureResult;
  /** What the tracer said (fallbacks, warnings, cleanup), for a test's failure message. */
  readonly log: readonly string[];
}

function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (cond()) resolve();
      else if (Date.now() - t0 > ms) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 20);
    };
    tick();
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Capture one scenario of capture/lab/scenarios.json into `outFile`. */
export async function captureScenario(name: string, outFile: string, opts: CaptureScenarioOptions = {}): Promise<ScenarioCapture> {
  const tracer = TRACERS.get(opts.tracer ?? DEFAULT_TRACER);
  if (tracer === undefined) throw new Error(`unknown tracer ${opts.tracer ?? ''}`);
  const dir = mkdtempSync(join(tmpdir(), 'migscope-lab-'));
  const mount = join(dir, 'mnt');
  const journalFile = join(dir, 'journal.jsonl');
  const lab = (f: string): string => shippedFile('capture', 'lab', f);
  spawnSync('mkdir', [mount]);
  const daemonErr: string[] = [];
  const tracerLog: string[] = [];
  const daemon = spawn(
    LAB_PYTHON,
    [lab('vfio_fuse.py'), '--mount', mount, '--scenario', name, ...(opts.driverLog !== undefined ? ['--log', opts.driverLog] : [])],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  daemon.stderr?.on('data', (c: Buffer) => daemonErr.push(c.toString()));
  let workload: ChildProcess | undefined;
  try {
    await waitFor(
      () => {
        if (daemon.exitCode !== null) throw new Error(`lab daemon exited: ${daemonErr.join('')}`);
        try {
          return statSync(join(mount, 'group')).isFile();
        } catch {
          return false;
        }
      },
      10_000,
      'the lab FUSE mount',
    );

    // The workload's own python does not need fusepy: plain syscalls on the mounted files.
    const wl = spawn(
      LAB_PYTHON,
      [lab('workload.py'), '--mount', mount, '--scenario', name, '--wait-go', '--journal', journalFile, ...(opts.qemuIo === true ? ['--qemu-io'] : []),
        ...(opts.qemuLog !== undefined ? ['--qemu-log', opts.qemuLog] : []),
        ...(opts.qmpLog !== undefined ? ['--qmp-log', opts.qmpLog] : []),
        ...(opts.earlyOpen === true ? ['--early-open'] : [])],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    workload = wl;
    const wlErr: string[] = [];
    wl.stderr?.on('data', (c: Buffer) => wlErr.push(c.toString()));
    let wlOut = '';
    wl.stdout?.on('data', (c: Buffer) => {
      wlOut += c.toString();
    });
    await waitFor(
      () => {
        if (wl.exitCode !== null) throw new Error(`workload exited early: ${wlErr.join('')}`);
        return /ready pid=\d+/.test(wlOut);
      },
      10_000,
      'the workload',
    );
    const pid = wl.pid;
    if (pid === undefined) throw new Error('workload has no pid');

    const handle = await tracer.start({
      target: { kind: 'pid', pid },
      output: outFile,
      format: opts.format ?? 'text',
      readWrite: true,
      log: (m: string) => {
        tracerLog.push(m);
        opts.log?.(m);
      },
    });
    try {
      await handle.attached;
    } catch (e) {
      wl.kill('SIGTERM');
      throw e;
    }
    wl.stdin?.end('go\n');
    const code = await exited(wl);
    const result = await handle.done;
    if (code !== 0 && code !== 3) throw new Error(`workload failed (${String(code)}): ${wlErr.join('')}`);
    const journal = readFileSync(journalFile, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l): Readonly<Record<string, unknown>> => {
        const v: unknown = JSON.parse(l);
        if (!isObj(v)) throw new Error(`journal line is not an object: ${l}`);
        return v;
      });
    return { trace: outFile, journal, workloadPid: pid, mount, result, log: tracerLog };
  } finally {
    if (workload !== undefined && workload.exitCode === null) workload.kill('SIGKILL');
    if (spawnSync('fusermount', ['-u', mount]).status !== 0) spawnSync('fusermount', ['-uz', mount]);
    if (daemon.exitCode === null) {
      const gone = exited(daemon);
      const t = setTimeout(() => daemon.kill('SIGKILL'), 5_000);
      await gone;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface RunningLab {
  /** Where the FUSE device of the scenario is mounted (the workload's --mount). */
  readonly mount: string;
  /** The lab workload for this scenario, ready to spawn: [python, workload.py, --mount, DIR, --scenario, NAME]. */
  readonly workloadArgv: readonly string[];
  /** The FUSE daemon's pid. */
  readonly daemonPid: number | undefined;
  /** Unmount, stop the daemon, remove the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Mount one scenario's emulated device (capture/lab/vfio_fuse.py) in a fresh temp dir and
 * leave it running, for tests that run the workload under their own tracer or CLI, e.g.
 * `migscope watch -- ...lab.workloadArgv`. Call stop() when done (also on failure).
 */
export async function startLab(name: string, opts: { readonly driverLog?: string } = {}): Promise<RunningLab> {
  const dir = mkdtempSync(join(tmpdir(), 'migscope-lab-'));
  const mount = join(dir, 'mnt');
  const lab = (f: string): string => shippedFile('capture', 'lab', f);
  spawnSync('mkdir', [mount]);
  const daemonErr: string[] = [];
  const daemon = spawn(
    LAB_PYTHON,
    [lab('vfio_fuse.py'), '--mount', mount, '--scenario', name, ...(opts.driverLog !== undefined ? ['--log', opts.driverLog] : [])],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  daemon.stderr?.on('data', (c: Buffer) => daemonErr.push(c.toString()));
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (spawnSync('fusermount', ['-u', mount]).status !== 0) spawnSync('fusermount', ['-uz', mount]);
      if (daemon.exitCode === null && daemon.signalCode === null) {
        const gone = exited(daemon);
        const t = setTimeout(() => daemon.kill('SIGKILL'), 5_000);
        await gone;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopped;
  };
  try {
    await waitFor(
      () => {
        if (daemon.exitCode !== null) throw new Error(`lab daemon exited: ${daemonErr.join('')}`);
        try {
          return statSync(join(mount, 'group')).isFile();
        } catch {
          return false;
        }
      },
      10_000,
      'the lab FUSE mount',
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return { mount, workloadArgv: [LAB_PYTHON, lab('workload.py'), '--mount', mount, '--scenario', name], daemonPid: daemon.pid, stop };
}
