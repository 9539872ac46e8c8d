// Issue 15, host mode: `migscope watch --all` (the built CLI, real bpftrace) follows VMMs
// that start AFTER it, with one bpftrace for all. Two lab VMMs (test/watch/lab-runner.py over
// capture/lab/vfio_fuse.py devices) are started once watch is attached; the first runs a v1
// scenario and exits while the second still waits with its devices open; then the second
// runs a v2 scenario. Both must be traced (watch names their pids), the findings that
// capture/lab/scenarios.json lists for each scenario must be reported on the right device,
// the findings must show in watch's /metrics, the first VMM's exit must be noticed, and the
// second's results must be whole after it.
//
// The VMMs run python through a symlink with a name of this run's own
// (mslab-<random>), so the process's comm at exec is that name and `--match` selects these
// two processes and nothing else on a shared host. (lab-runner.py then renames its main
// thread "qemu-system-x86" and its migration thread "live_migration": the registration is
// by pid, so renaming threads changes nothing.)
//
// Skips, printing why, without root, FUSE, python3-fusepy or bpftrace.

import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LAB_PYTHON, labAvailable, labScenarios, startLab, type RunningLab } from '../../capture/lab/run.js';
import { freePort } from '../helpers/prometheus.js';
import { builtCli, kill, LAB_RUNNER, startProc, waitFor, type Proc } from './helpers.js';

const lab = await labAvailable('bpftrace');
if (!lab.ok) console.warn(`SKIPPED test/watch/host-mode.test.ts: ${lab.reason ?? ''}`);

const A = 'reserved-state-101-rejected'; // v1, 0000:65:00.0
const B = 'v2-stopcopy-not-drained'; // v2, 0000:66:00.0

function expectedFindings(name: string): { rule: string; device: string }[] {
  const s = [...labScenarios('v1'), ...labScenarios('v2')].find((x) => x.name === name);
  if (s === undefined) throw new Error(`scenarios.json has no ${name}`);
  return s.expect.findings.map((f) => ({ rule: f.rule, device: f.device }));
}

interface Line {
  readonly type: string;
  readonly device: string;
  readonly rule?: string;
  readonly host?: string;
  readonly time?: string;
  readonly timeSource?: string;
  readonly evidence?: readonly { readonly src: { readonly line?: number } }[];
}

describe.skipIf(!lab.ok)('watch --all: VMMs that start later, one bpftrace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'migscope-hostmode-'));
  const name = `mslab-${Math.random().toString(36).slice(2, 8)}`;
  const python = join(dir, name);
  symlinkSync(LAB_PYTHON, python);
  const save = join(dir, 'host.trace');
  let labs: RunningLab[] = [];
  let watch: Proc | undefined;
  const vmms: Proc[] = [];

  afterAll(async () => {
    for (const v of vmms) await kill(v);
    await kill(watch, true);
    await Promise.all(labs.map((l) => l.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('sees both, reports each one’s findings and metrics, and one exiting leaves the other whole', async () => {
    const began = Date.now();
    labs = [await startLab(A), await startLab(B)];
    const port = await freePort();
    watch = startProc([process.execPath, builtCli(), 'watch', '--all', '--match', `^${name}$`, '--json-lines', '--save', save, '--metrics-address', `127.0.0.1:${port}`, '--fail-on', 'never', '--no-color'], { detached: true });
    const w = watch;
    await waitFor(() => /waiting for one to start/.test(w.stderr()), 60_000, `watch --all to attach: ${w.stderr()}`);

    // Both VMMs start after watch is attached; each opens its devices and waits (--wait-go).
    const start = (l: RunningLab, scenario: string): Proc => {
      const p = startProc([python, LAB_RUNNER, '--run', `${l.mount}:${scenario}`, '--wait-go', '--wait-end'], { stdin: 'pipe' });
      vmms.push(p);
      return p;
    };
    const a = start(labs[0] as RunningLab, A);
    const b = start(labs[1] as RunningLab, B);
    const pidA = a.child.pid ?? -1;
    const pidB = b.child.pid ?? -1;
    await waitFor(() => /ready/.test(a.stdout()) && /ready/.test(b.stdout()), 30_000, 'both VMMs ready');
    await waitFor(() => w.stderr().includes(`tracing pid ${pidA} (${name})`) && w.stderr().includes(`tracing pid ${pidB} (${name})`), 10_000, `watch to name both pids: ${w.stderr()}`);

    // A runs its scenario and exits while B waits.
    a.child.stdin?.write('\n');
    await waitFor(() => /finished/.test(a.stdout()), 30_000, 'A finished');
    a.child.stdin?.end('\n');
    expect(await a.exit).toBe(0);
    await waitFor(() => w.stderr().includes(`pid ${pidA} no longer traced (exit)`), 10_000, `watch to see A exit: ${w.stderr()}`);

    // Then B runs: its trace must be unaffected by A's exit.
    b.child.stdin?.write('\n');
    await waitFor(() => /finished/.test(b.stdout()), 30_000, 'B finished');
    const lines = (): Line[] =>
      w
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Line);
    const wanted = [...expectedFindings(A), ...expectedFindings(B)];
    expect(wanted.length).toBeGreaterThanOrEqual(2);
    await waitFor(() => wanted.every((f) => lines().some((l) => l.type === 'finding' && l.rule === f.rule && l.device === f.device)), 10_000, `findings ${JSON.stringify(wanted)} in ${w.stdout()}`);

    // Each VMM's findings, and no other: the findings are exactly the scenarios' lists.
    const found = lines().filter((l) => l.type === 'finding').map((l) => ({ rule: l.rule, device: l.device }));
    expect(found.sort((x, y) => `${x.rule}${x.device}`.localeCompare(`${y.rule}${y.device}`))).toEqual(
      wanted.sort((x, y) => `${x.rule}${x.device}`.localeCompare(`${y.rule}${y.device}`)),
    );
    // Every JSON line says where and when: this host, and the wall clock of its trace time
    // through the capture's clock-sync record (so within this test's run).
    for (const l of lines()) {
      expect(l.host).toBe(hostname());
      expect(l.timeSource).toBe('trace');
      expect(l.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
      const ms = Date.parse(l.time ?? '');
      expect(ms).toBeGreaterThanOrEqual(began);
      expect(ms).toBeLessThanOrEqual(Date.now());
    }
    // B's save ended (V2-SAVE-DRAIN cites it): a session line for B's device after A exited.
    expect(lines().some((l) => l.type === 'session' && l.device === '0000:66:00.0')).toBe(true);

    // /metrics has both devices' findings (a new series reads 0 on its first scrape:
    // ZeroFirstPrometheusExporter; so the second scrape is the one that counts).
    const scrape = async (): Promise<string> => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    await scrape();
    const metrics = await scrape();
    for (const f of wanted) expect(metrics).toMatch(new RegExp(`migscope_findings_total\\{[^}]*device="${f.device.replace(/\./g, '\\.')}"[^}]*rule="${f.rule}"[^}]*\\} [1-9]`));

    b.child.stdin?.end('\n');
    expect(await b.exit).toBe(0);
    await waitFor(() => w.stderr().includes(`pid ${pidB} no longer traced (exit)`), 10_000, `watch to see B exit: ${w.stderr()}`);
    process.kill(-(w.child.pid ?? 0), 'SIGINT');
    expect(await w.exit).toBe(0);

    // One bpftrace for both: the saved capture is one file whose records come from both pids,
    // with the kernel side's registration and exit records for each.
    const saved = readFileSync(save, 'utf8');
    expect(saved.match(/program=migscope\.bt/g)?.length).toBe(1);
    for (const pid of [pidA, pidB]) {
      expect(saved).toMatch(new RegExp(`^\\d+ vmm pid=${pid} tid=${pid} early_vfio=0 `, 'm'));
      expect(saved).toMatch(new RegExp(`^\\d+ vmmexit pid=${pid} tid=${pid} why=exit$`, 'm'));
      expect(saved).toMatch(new RegExp(`^\\d+ ioctl pid=${pid} `, 'm'));
    }
    // Nothing of any other process was traced.
    const pids = new Set([...saved.matchAll(/^\d+ \w+ pid=(\d+) /gm)].map((m) => Number(m[1])));
    expect([...pids].sort()).toEqual([pidA, pidB].sort());
    expect(w.stderr()).toMatch(/2 device\(s\)/);
  }, 240_000);
});
