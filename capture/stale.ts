// Tracing state left behind by a migscope capture that could not clean up (SIGKILL, a
// crash, a power cut of the terminal's session): its tracefs instance (tracing_on=1, the
// events, the ioctl filter, the pid filter), its uprobe definition, and with trace-cmd a
// `trace-cmd record` still recording in its own process group (issue 14).
//
// What is ours: names starting with "migscope" (instances "migscope-…"/"migscope-tc-…",
// uprobe groups "migscope_…") that carry an owner mark (tracefs.ts ownerMark: the owning
// migscope's pid and start time). State is stale when that process is gone, or is another
// process now (pid reused: a different start time). A live capture's state, and anything
// not named by migscope (other tools' tracing, the top-level buffer), is never touched.
// Names without an owner mark come from migscope before 0.1.x marked them: those count as
// stale only when the traced pid in the name is dead too (a capture ends with its target).

import { withEventDefsLockSync } from './event-defs-lock.js';
import { readdirSync, readFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from './bpftrace.js';
import { ownerOf, processStartTime, removeInstance, uprobesOf, uprobeGroupsWithPrefix, instancesWithPrefix } from './tracefs.js';

export interface StaleReport {
  /** What was removed or stopped, one line each, for the user. */
  readonly removed: readonly string[];
  /** What could not be removed, with why. */
  readonly failed: readonly string[];
}

function ownerDead(name: string, legacyTarget: (n: string) => number | undefined): boolean {
  const o = ownerOf(name);
  if (o !== undefined) return !processAlive(o.pid) || processStartTime(o.pid) !== o.start;
  const t = legacyTarget(name);
  return t !== undefined && !processAlive(t);
}

/** "migscope-4242-a1b2c3" / "migscope-tc-4242-a1b2c3": the traced pid of an unmarked (older) name. */
function legacyInstanceTarget(n: string): number | undefined {
  const m = /^migscope(?:-tc)?-(\d+)-[0-9a-f]{6}$/.exec(n);
  return m === null ? undefined : Number(m[1]);
}

function legacyGroupTarget(n: string): number | undefined {
  const m = /^migscope_(\d+)_[0-9a-f]{6}$/.exec(n);
  return m === null ? undefined : Number(m[1]);
}

/** `trace-cmd record` processes recording into instance `name` (-B NAME), with their -o file. */
function recordersOf(name: string): { pid: number; output: string | undefined }[] {
  const out: { pid: number; output: string | undefined }[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return out;
  }
  for (const e of entries) {
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!(argv[0] ?? '').endsWith('trace-cmd') || argv[1] !== 'record') continue;
    const b = argv.indexOf('-B');
    if (b < 0 || argv[b + 1] !== name) continue;
    const o = argv.indexOf('-o');
    out.push({ pid: Number(e), output: o >= 0 ? argv[o + 1] : undefined });
  }
  return out;
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Find migscope's stale tracing state and remove it: recorders first (SIGINT: trace-cmd
 * then writes what it recorded, so the data is not lost), then instances (disabling their
 * events and pid filter, then rmdir), then uprobe definitions (only once no instance
 * enables them: the kernel refuses EBUSY otherwise).
 */
export function removeStaleState(root: string): StaleReport {
  const removed: string[] = [];
  const failed: string[] = [];
  const instances = instancesWithPrefix(root, 'migscope').filter((n) => ownerDead(n, legacyInstanceTarget));
  for (const name of instances) {
    for (const r of recordersOf(name)) {
      try {
        process.kill(r.pid, 'SIGINT');
        // trace-cmd writes its file on SIGINT; give it a few seconds before removing the instance under it
        for (let i = 0; i < 50 && processAlive(r.pid); i++) sleepMs(100);
        removed.push(
          processAlive(r.pid)
            ? `trace-cmd record pid ${r.pid} of a killed capture still runs after SIGINT (instance ${name}): stop it by hand; its file ${r.output ?? '?'} may be incomplete`
            : `stopped trace-cmd record pid ${r.pid} of a killed capture (instance ${name}); it wrote what it had recorded to ${r.output ?? '?'}`,
        );
      } catch (e) {
        failed.push(`trace-cmd record pid ${r.pid}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    const dir = join(root, 'instances', name);
    let what = 'instance';
    try {
      const on = readFileSync(join(dir, 'tracing_on'), 'utf8').trim();
      const events = readFileSync(join(dir, 'set_event'), 'utf8').split('\n').filter((l) => l.trim() !== '').length;
      const pids = readFileSync(join(dir, 'set_event_pid'), 'utf8').split(/\s+/).filter((w) => w !== '').length;
      what = `instance (tracing_on=${on}, ${events} events enabled, ${pids} pids filtered)`;
    } catch {
      // described without its contents
    }
    try {
      removeInstance({ root, name, dir, file: (rel) => join(dir, rel) });
      removed.push(`tracefs ${what} ${dir}${name.startsWith('migscope-tc-') ? ' (its unextracted events are lost)' : ''}`);
    } catch (e) {
      failed.push(`${dir}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  for (const group of uprobeGroupsWithPrefix(root, 'migscope').filter((g) => ownerDead(g, legacyGroupTarget))) {
    for (const line of uprobesOf(root, group)) {
      const ev = /^[pr]:([^\s]+)/.exec(line)?.[1];
      if (ev === undefined) continue;
      try {
        withEventDefsLockSync(() => appendFileSync(join(root, 'uprobe_events'), `-:${ev}\n`));
        removed.push(`uprobe ${ev} (${line.slice(line.indexOf(' ') + 1).split(' ')[0] ?? ''})`);
      } catch (e) {
        failed.push(`uprobe ${ev}: ${e instanceof Error ? e.message : String(e)} (still enabled somewhere?)`);
      }
    }
  }
  return { removed, failed };
}
