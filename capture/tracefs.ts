// Small helpers over tracefs (spec trace-formats §2, §3) for the ftrace and trace-cmd
// capture back ends: find or mount tracefs, create and remove a PRIVATE instance, enable
// events, set filters and options, define and remove uprobes, and undo all of it.
//
// tracefs is shared by everyone on the machine (COMMON.md), so:
// - everything a capture enables lives in its own instance (instances/NAME), never in the
//   top-level buffer; removing the instance drops its events, filters and options;
// - uprobe definitions are global (uprobe_events), so each capture uses its own group
//   name and removes exactly the probes it added: the file is only ever APPENDED to
//   (`>` on uprobe_events would delete everyone's probes), and `-:GROUP/EVENT` removes one;
// - set_event_pid is appended to as well (a plain write replaces the list).
//
// Every write names the file and the kernel's answer when it fails: a tracefs EINVAL is
// otherwise a puzzle (the kernel's own explanation, if any, is in the instance's error_log).

import { sleepSync, withEventDefsLockSync } from './event-defs-lock.js';
import { processStartTime } from './process-start.js';
export { processStartTime } from './process-start.js';
import { appendFileSync, existsSync, readFileSync, readdirSync, rmdirSync, mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** Where tracefs is normally mounted; the debugfs path is the pre-4.1 location. */
export const TRACEFS_CANDIDATES: readonly string[] = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

/** A tracefs write or read that failed, with the path and the errno text. */
export class TracefsError extends Error {
  override readonly name = 'TracefsError';
  constructor(
    readonly path: string,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

function errText(e: unknown): { code: string | undefined; text: string } {
  if (e instanceof Error) {
    const code = 'code' in e && typeof e.code === 'string' ? e.code : undefined;
    return { code, text: e.message };
  }
  return { code: undefined, text: String(e) };
}

/** The tracefs root that has `instances/` and syscall events, if one is mounted. */
export function findTracefs(): string | undefined {
  const fromMounts: string[] = [];
  try {
    for (const l of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const f = l.split(' ');
      if (f[2] === 'tracefs' && f[1] !== undefined) fromMounts.push(f[1]);
    }
  } catch {
    // no /proc: only the usual places
  }
  for (const d of [...TRACEFS_CANDIDATES, ...fromMounts]) {
    if (existsSync(join(d, 'instances')) && existsSync(join(d, 'trace_pipe'))) return d;
  }
  return undefined;
}

/**
 * Find tracefs, mounting it at /sys/kernel/tracing if needed (LAB-NOTES: not mounted at
 * boot here; `mount -t tracefs nodev /sys/kernel/tracing` works as root).
 */
export function ensureTracefs(): { root: string } | { error: string } {
  const found = findTracefs();
  if (found !== undefined) return { root: found };
  const r = spawnSync('mount', ['-t', 'tracefs', 'nodev', '/sys/kernel/tracing'], { encoding: 'utf8' });
  const again = findTracefs();
  if (again !== undefined) return { root: again };
  return {
    error: `tracefs is not mounted and could not be mounted (mount -t tracefs nodev /sys/kernel/tracing: ${
      r.error?.message ?? (r.stderr.trim() || `exit ${String(r.status)}`)
    })`,
  };
}

/** Write `text` to a tracefs file (truncating write: the kernel treats it as one command). */
export function writeTracefs(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (e) {
    const { code, text: t } = errText(e);
    throw new TracefsError(path, code, `cannot write ${JSON.stringify(text.trim())} to ${path}: ${t}`);
  }
}

/** Append `text` (O_APPEND): adds to uprobe_events / set_event_pid instead of replacing them. */
export function appendTracefs(path: string, text: string): void {
  try {
    appendFileSync(path, text);
  } catch (e) {
    const { code, text: t } = errText(e);
    throw new TracefsError(path, code, `cannot append ${JSON.stringify(text.trim())} to ${path}: ${t}`);
  }
}

export function readTracefs(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const { code, text } = errText(e);
    throw new TracefsError(path, code, `cannot read ${path}: ${text}`);
  }
}

/** The active clock of a `trace_clock` file: the bracketed name. */
export function activeClock(traceClockText: string): string | undefined {
  return /\[([\w-]+)\]/.exec(traceClockText)?.[1];
}

/**
 * Undo actions, run in reverse order of registration. Each runs once even if cleanup is
 * entered twice (signal during error handling); failures are collected, not thrown, so one
 * stuck file does not keep the rest (the instance, the uprobes) from being removed.
 */
export interface Cleanup {
  add(what: string, undo: () => void): void;
  /** Run everything registered so far; returns the failures (empty when all went well). */
  run(): string[];
  readonly done: boolean;
}

export function createCleanup(): Cleanup {
  const steps: { what: string; undo: () => void }[] = [];
  let done = false;
  return {
    add(what, undo) {
      steps.push({ what, undo });
    },
    run() {
      const failures: string[] = [];
      while (steps.length > 0) {
        const s = steps.pop();
        if (s === undefined) break;
        try {
          s.undo();
        } catch (e) {
          failures.push(`${s.what}: ${errText(e).text}`);
        }
      }
      done = true;
      return failures;
    },
    get done() {
      return done;
    },
  };
}

/** A private tracefs instance (instances/NAME): its own ring buffer, events, options. */
export interface Instance {
  readonly root: string;
  readonly name: string;
  readonly dir: string;
  file(rel: string): string;
}

/**
 * The owner mark every name this capture gives to tracefs state ends with: "o" + the pid of
 * this migscope + "s" + its start time (/proc/self/stat field 22, clock ticks since boot),
 * so that a later capture can tell state whose migscope is dead (SIGKILL, crash) from a
 * live capture's, even after the pid was reused (capture/stale.ts).
 */
export function ownerMark(pid: number = process.pid): string {
  return `o${pid}s${processStartTime(pid) ?? 0}`;
}


/** The owner (pid, start time) an instance or uprobe-group name carries, if any. */
export function ownerOf(name: string): { pid: number; start: string } | undefined {
  const m = /[-_]o(\d+)s(\d+)$/.exec(name);
  return m === null ? undefined : { pid: Number(m[1]), start: m[2] as string };
}

/** A name unique to this capture; tracefs instance names may not contain '/'. */
export function instanceName(prefix: string, pid: number): string {
  const rand = Math.floor(Math.random() * 0x1000000)
    .toString(16)
    .padStart(6, '0');
  return `${prefix}-${pid}-${rand}-${ownerMark()}`;
}

/**
 * mkdir instances/NAME. A new instance starts with tracing_on = 1 and nothing enabled, so
 * it records nothing until events are enabled; we switch it off anyway until set-up is done.
 * The removal is registered with `cleanup` (events first: see removeInstance).
 */
export function createInstance(root: string, name: string, cleanup: Cleanup): Instance {
  const dir = join(root, 'instances', name);
  try {
    mkdirSync(dir);
  } catch (e) {
    const { code, text } = errText(e);
    throw new TracefsError(dir, code, `cannot create the tracefs instance ${dir}: ${text}`);
  }
  const inst: Instance = { root, name, dir, file: (rel) => join(dir, rel) };
  cleanup.add(`remove instance ${dir}`, () => removeInstance(inst));
  writeTracefs(inst.file('tracing_on'), '0');
  return inst;
}

/**
 * Disable everything in the instance, then rmdir it. Disabling first matters when rmdir
 * fails (EBUSY while someone still holds one of its files open): the leftover instance then
 * records nothing. An instance that is already gone (trace-cmd extract -B deletes the
 * instance it read) is not an error.
 */
export function removeInstance(inst: Instance): void {
  if (!existsSync(inst.dir)) return;
  const failures: string[] = [];
  const tryWrite = (rel: string, text: string): void => {
    try {
      if (existsSync(inst.file(rel))) writeFileSync(inst.file(rel), text);
    } catch (e) {
      failures.push(`${rel}: ${errText(e).text}`);
    }
  };
  tryWrite('tracing_on', '0');
  // "set_event" truncated empty disables every event of the instance (uprobes included).
  tryWrite('set_event', '');
  tryWrite('set_event_pid', '');
  try {
    rmdirSync(inst.dir);
  } catch (e) {
    if (existsSync(inst.dir)) {
      throw new Error(`cannot remove ${inst.dir}: ${errText(e).text}${failures.length > 0 ? ` (also: ${failures.join('; ')})` : ''}`);
    }
  }
}

/** Set an option of the instance (options/NAME); returns false when the kernel lacks it. */
export function setOption(inst: Instance, option: string, on: boolean): boolean {
  const f = inst.file(join('options', option));
  if (!existsSync(f)) return false;
  writeTracefs(f, on ? '1' : '0');
  return true;
}

export function setClock(inst: Instance, clock: string): void {
  const avail = readTracefs(inst.file('trace_clock'));
  if (!avail.replace(/[[\]]/g, ' ').split(/\s+/).includes(clock)) {
    throw new TracefsError(inst.file('trace_clock'), undefined, `trace_clock "${clock}" is not offered by this kernel (${avail.trim()})`);
  }
  writeTracefs(inst.file('trace_clock'), clock);
}

/** events/SYSTEM/EVENT exists in this kernel (and in this instance). */
export function hasEvent(inst: Instance, system: string, event: string): boolean {
  return existsSync(inst.file(join('events', system, event, 'enable')));
}

/** Enable one event with an optional filter; cleanup disables it and clears the filter. */
export function enableEvent(inst: Instance, system: string, event: string, filter: string | undefined, cleanup: Cleanup): void {
  const dir = join('events', system, event);
  if (filter !== undefined) {
    writeTracefs(inst.file(join(dir, 'filter')), filter);
    cleanup.add(`clear filter of ${system}:${event}`, () => {
      if (existsSync(inst.file(join(dir, 'filter')))) writeFileSync(inst.file(join(dir, 'filter')), '0');
    });
  }
  writeTracefs(inst.file(join(dir, 'enable')), '1');
  cleanup.add(`disable ${system}:${event}`, () => {
    if (existsSync(inst.file(join(dir, 'enable')))) writeFileSync(inst.file(join(dir, 'enable')), '0');
  });
}

/**
 * Trace these tasks (thread ids). set_event_pid holds task ids, i.e. threads; with
 * options/event-fork the kernel adds every task they create afterwards (threads and
 * child processes) and drops tasks as they exit (verified on 6.18: a thread started after
 * set-up was traced; an emptied list traces nobody, it does not fall back to everyone).
 */
export function addEventPids(inst: Instance, tids: readonly number[]): void {
  // one write per pid: a single write of a long list can exceed a page
  for (const t of tids) appendTracefs(inst.file('set_event_pid'), `${t}\n`);
}

export function eventPids(inst: Instance): Set<number> {
  const out = new Set<number>();
  for (const w of readTracefs(inst.file('set_event_pid')).split(/\s+/)) if (/^\d+$/.test(w)) out.add(Number(w));
  return out;
}

/** Thread ids of a process (/proc/PID/task); empty when it is gone. */
export function threadsOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`)
      .filter((n) => /^\d+$/.test(n))
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * Put every thread of `pid` into set_event_pid. A thread created between reading
 * /proc/PID/task and the write is not covered by event-fork (its creator was not yet in
 * the list), so re-read until no new thread shows up.
 */
export function followProcess(inst: Instance, pid: number): number {
  const added = new Set<number>();
  for (let round = 0; round < 20; round++) {
    const fresh = threadsOf(pid).filter((t) => !added.has(t));
    if (fresh.length === 0) break;
    addEventPids(inst, fresh);
    for (const t of fresh) added.add(t);
  }
  return added.size;
}

// ---- uprobes (spec §3.1) -----------------------------------------------------------------

/** One uprobe definition line without the group: `p:GROUP/EVENT PATH:0xOFF ARGS`. */
export interface UprobeDef {
  readonly kind: 'p' | 'r';
  readonly event: string;
  readonly path: string;
  readonly offset: number;
  readonly args: readonly string[];
}

/** Group names become directory names and C identifiers: letters, digits, '_'. */
export function uprobeGroupName(prefix: string, pid: number): string {
  const rand = Math.floor(Math.random() * 0x1000000)
    .toString(16)
    .padStart(6, '0');
  return `${prefix}_${pid}_${rand}_${ownerMark()}`.replace(/[^A-Za-z0-9_]/g, '_');
}

export function uprobeLine(group: string, d: UprobeDef): string {
  return `${d.kind}:${group}/${d.event} ${d.path}:0x${d.offset.toString(16)}${d.args.length > 0 ? ` ${d.args.join(' ')}` : ''}`;
}

/**
 * Define a uprobe (appending to uprobe_events). Its removal is registered with cleanup; it
 * must come after the event is disabled in every instance (the kernel refuses to remove an
 * enabled probe with EBUSY), which the cleanup order gives: probes are defined before the
 * instance enables them, so they are removed after the instance has let go of them.
 */
export function defineUprobe(root: string, group: string, d: UprobeDef, cleanup: Cleanup): void {
  const line = uprobeLine(group, d);
  withEventDefsLockSync(() => appendTracefs(join(root, 'uprobe_events'), `${line}\n`));
  cleanup.add(`remove uprobe ${group}/${d.event}`, () => removeUprobe(root, group, d.event));
}

const REMOVE_ATTEMPTS = 10;

export function removeUprobe(root: string, group: string, event: string): void {
  if (!uprobeDefined(root, group, event)) return;
  // EBUSY: the event is in use. Ours was disabled first (cleanup order), but another tool
  // reading this event's files at this moment (trace-cmd copying every format) holds it
  // too, for a moment: try again briefly (within the 2 s a stop may take) before giving up.
  for (let attempt = 1; ; attempt++) {
    try {
      withEventDefsLockSync(() => appendFileSync(join(root, 'uprobe_events'), `-:${group}/${event}\n`));
      return;
    } catch (e) {
      const busy = e instanceof Error && 'code' in e && e.code === 'EBUSY';
      if (!busy || attempt >= REMOVE_ATTEMPTS) throw e;
      sleepSync(100);
    }
  }
}

/** Lines of uprobe_events that belong to `group`. */
export function uprobesOf(root: string, group: string): string[] {
  let text = '';
  try {
    text = readFileSync(join(root, 'uprobe_events'), 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter((l) => l.slice(2).startsWith(`${group}/`));
}

export function uprobeDefined(root: string, group: string, event: string): boolean {
  return uprobesOf(root, group).some((l) => l.slice(2).startsWith(`${group}/${event} `));
}

/** Every uprobe group whose name starts with `prefix` (tests: "nothing left behind"). */
export function uprobeGroupsWithPrefix(root: string, prefix: string): string[] {
  let text = '';
  try {
    text = readFileSync(join(root, 'uprobe_events'), 'utf8');
  } catch {
    return [];
  }
  const out = new Set<string>();
  for (const l of text.split('\n')) {
    const m = /^[pr]:([^/\s]+)\//.exec(l);
    if (m?.[1] !== undefined && m[1].startsWith(prefix)) out.add(m[1]);
  }
  return [...out];
}

/** Instances whose name starts with `prefix`. */
export function instancesWithPrefix(root: string, prefix: string): string[] {
  try {
    return readdirSync(join(root, 'instances')).filter((n) => n.startsWith(prefix));
  } catch {
    return [];
  }
}

/** Per-CPU overrun counts of an instance (per_cpu/cpuN/stats "overrun:"), summed. */
/** Summed per-CPU ring-buffer stats of an instance: events it holds now, events overwritten. */
export function bufferStats(inst: Instance): { entries: number; overrun: number } {
  let entries = 0;
  let overrun = 0;
  let cpus: string[] = [];
  try {
    cpus = readdirSync(inst.file('per_cpu')).filter((n) => /^cpu\d+$/.test(n));
  } catch {
    return { entries, overrun };
  }
  for (const c of cpus) {
    try {
      const text = readFileSync(inst.file(join('per_cpu', c, 'stats')), 'utf8');
      entries += Number(/^entries: (\d+)$/m.exec(text)?.[1] ?? 0);
      overrun += Number(/^overrun: (\d+)$/m.exec(text)?.[1] ?? 0);
    } catch {
      // a CPU that went offline: nothing to add
    }
  }
  return { entries, overrun };
}

export function overruns(inst: Instance): number {
  return bufferStats(inst).overrun;
}
