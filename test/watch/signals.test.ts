// Issue 5, acceptance: Ctrl-C (SIGINT to the whole process group, as a terminal sends it)
// and SIGTERM (to watch alone) stop `migscope watch` mid-run. The built CLI watches the lab
// workload (test/watch/lab-runner.py over one FUSE-emulated device, holding each state for
// seconds so the run is long) with --tracer ftrace and --tracer bpftrace. After the signal
// watch must exit on its own, print its summary, close its /metrics server, and leave no
// tracing state: no tracefs instance of the capture, no uprobe of it in uprobe_events, no
// bpftrace process.
//
// Skips, printing why, without root, FUSE, python3-fusepy or the tracer.

import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAB_PYTHON, labAvailable, startLab, type RunningLab } from '../../capture/lab/run.js';
import { findTracefs, instancesWithPrefix, uprobeGroupsWithPrefix } from '../../capture/tracefs.js';
import { freePort } from '../helpers/prometheus.js';
import { LAB_RUNNER, alive, builtCli, childrenNamed, kill, startProc, waitFor, type Proc } from './helpers.js';

const TRACERS = ['ftrace', 'bpftrace'] as const;
const avail = Object.fromEntries(await Promise.all(TRACERS.map(async (t) => [t, await labAvailable(t)] as const)));
for (const t of TRACERS) if (!avail[t]?.ok) console.warn(`SKIPPED ${t} cases of test/watch/signals.test.ts: ${avail[t]?.reason ?? ''}`);
const anyOk = TRACERS.some((t) => avail[t]?.ok === true);

let cli = '';
beforeAll(() => {
  if (anyOk) cli = builtCli();
}, 300_000);

async function portClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

async function metricsText(port: number): Promise<string> {
  return fetch(`http://127.0.0.1:${port}/metrics`).then(
    (r) => r.text(),
    () => '',
  );
}

/** bpftrace processes running for `pid` (its program takes the traced pid as an argument). */
function bpftraceFor(pid: number): number[] {
  const out: number[] = [];
  for (const p of childrenNamedAny('bpftrace')) {
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (argv.includes(String(pid))) out.push(p);
    } catch {
      // gone
    }
  }
  return out;
}

function childrenNamedAny(comm: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const m = /^\d+ \((.*)\) (\S)/.exec(readFileSync(`/proc/${e}/stat`, 'utf8'));
      if (m !== null && m[1] === comm && m[2] !== 'Z') out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}

for (const tracer of TRACERS) {
  describe.skipIf(avail[tracer]?.ok !== true)(`migscope watch --tracer ${tracer}, interrupted`, () => {
    let lab: RunningLab | undefined;
    let watch: Proc | undefined;
    afterAll(async () => {
      await kill(watch, true);
      await lab?.stop();
    }, 60_000);

    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      it(`${signal}: exits with a summary, /metrics closed, no tracing state left`, async () => {
        lab = await startLab('clean-live-migration');
        const port = await freePort();
        // A long run: every new state and pending value held 3 s (11 holds: over half a minute).
        const w = startProc(
          [process.execPath, cli, 'watch', '--tracer', tracer, '--metrics-address', `127.0.0.1:${port}`, '--no-color', '--', LAB_PYTHON, LAB_RUNNER, '--run', `${lab.mount}:clean-live-migration`, '--hold', '3'],
          { detached: true },
        );
        watch = w;
        let traced = 0;
        try {
          await waitFor(() => /tracing pid \d+/.test(w.stderr()) || w.child.exitCode !== null, 60_000, 'watch to start tracing');
          traced = Number(/tracing pid (\d+)/.exec(w.stderr())?.[1]);
          expect(traced, w.stderr()).toBeGreaterThan(0);
          // Mid-run: the device is being tracked (its state gauge is served) and the workload still runs.
          let text = '';
          for (let i = 0; i < 240 && !/^migscope_device_state\{/m.test(text) && w.child.exitCode === null; i++) {
            text = await metricsText(port);
            if (!/^migscope_device_state\{/m.test(text)) await new Promise((r) => setTimeout(r, 250));
          }
          expect(text, w.stderr()).toMatch(/^migscope_device_state\{/m);
          expect(alive(traced)).toBe(true);
          const bpftraces = tracer === 'bpftrace' ? [...childrenNamed(w.child.pid ?? 0, 'bpftrace'), ...bpftraceFor(traced)] : [];
          if (tracer === 'bpftrace') expect(bpftraces.length).toBeGreaterThan(0);

          if (signal === 'SIGINT') process.kill(-(w.child.pid ?? 0), 'SIGINT');
          else w.child.kill('SIGTERM');
          // A bound for a hung watch, not a timing: it has to stop on its own, well before the
          // workload would have ended by itself (a watch that waits for the command fails here).
          const code = await Promise.race([w.exit, new Promise<string>((r) => setTimeout(() => r('still running after 15 s'), 15_000))]);
          expect(code, w.stderr()).toBe(0);
          expect(w.stderr()).toMatch(/migscope watch: stopping/);
          expect(w.stderr()).toMatch(/migscope watch: \d+ device\(s\), \d+ session\(s\), \d+ finding\(s\)(?: \([^)]*\))?; input \d+ records, 0 malformed, \d+ lost events/);
          expect(await portClosed(port)).toBe(true);
          // SIGTERM went to watch alone: the traced command (a VMM, in real life) runs on, untraced.
          if (signal === 'SIGTERM') {
            expect(alive(traced)).toBe(true);
            expect(w.stderr()).toMatch(new RegExp(`the traced command \\(pid ${traced}\\) runs on untraced`));
          }

          const root = findTracefs();
          expect(root).toBeDefined();
          expect(instancesWithPrefix(root!, `migscope-${traced}-`)).toEqual([]);
          expect(instancesWithPrefix(root!, `migscope-tc-${traced}-`)).toEqual([]);
          expect(uprobeGroupsWithPrefix(root!, `migscope_${traced}_`)).toEqual([]);
          expect(readFileSync(`${root!}/uprobe_events`, 'utf8')).not.toContain(`migscope_${traced}_`);
          for (const p of bpftraces) expect(alive(p), `bpftrace ${p}`).toBe(false);
          expect(bpftraceFor(traced)).toEqual([]);
        } finally {
          await kill(w, true);
          if (traced > 0 && alive(traced)) process.kill(traced, 'SIGKILL');
          // SIGTERM reaches watch alone: its tracer stops; the workload may run on. Not ours to keep.
          await lab.stop();
          lab = undefined;
        }
      });
    }
  });
}
