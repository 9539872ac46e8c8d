// A host-wide lock between migscope captures around the moments tracefs's event list
// changes or is copied. uprobe definitions are global: defining or removing one adds or
// removes a directory under events/ of every instance. `trace-cmd extract` copies every
// event format of the instance it reads; when another capture defined or removed its
// uprobes during that copy, trace-cmd wrote a trace.dat whose metadata it cannot read
// itself (found running two test suites at once: 2 of 8 extracts beside an ftrace capture
// loop, `trace-cmd report` printing nothing, exit 0). The events are consumed by then, so
// the damage cannot be retried away; it has to be prevented.
//
// So every migscope capture holds this lock while it changes uprobe_events and while
// trace-cmd extract runs. Other tools that write uprobe_events or kprobe_events (perf probe)
// do not know it; for them the header check after extract still warns (tracecmd.ts). The
// lock is a directory (mkdir is atomic) holding its owner's pid and start time: a lock whose
// owner is dead (SIGKILL) is taken over, and a wait never exceeds MAX_WAIT_MS (then the
// caller goes on without it and says so), so no capture can hang on another.

import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processStartTime } from './process-start.js';

const LOCK_DIR = process.env['MIGSCOPE_LOCK_DIR'] ?? '/run/lock';
const LOCK = join(LOCK_DIR, 'migscope-tracefs-events.lock');
const MAX_WAIT_MS = 15_000;
const POLL_MS = 20;

const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** Sleep without an event loop turn: uprobe definitions and removals happen in synchronous set-up and cleanup code. */
export function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

function ownerAlive(): boolean {
  try {
    const [pid, start] = readFileSync(join(LOCK, 'owner'), 'utf8').trim().split(' ');
    if (pid === undefined || !/^\d+$/.test(pid)) return false;
    return processStartTime(Number(pid)) === start;
  } catch {
    // No owner file yet: the owner is between mkdir and writing it, unless that was long
    // ago (it died right after mkdir).
    try {
      return Date.now() - statSync(LOCK).mtimeMs < 5_000;
    } catch {
      return false;
    }
  }
}

let depth = 0;

/**
 * Run `fn` holding the lock (re-entrant within this process). `log` hears of a wait that
 * timed out. Never throws for the lock's sake: a lock that cannot be had is a warning.
 */
export function withEventDefsLockSync<T>(fn: () => T, log?: (m: string) => void): T {
  if (depth > 0 || !acquire(log)) return fn();
  depth++;
  try {
    return fn();
  } finally {
    depth--;
    release();
  }
}

/** The same around an asynchronous step (trace-cmd extract). */
export async function withEventDefsLock<T>(fn: () => Promise<T>, log?: (m: string) => void): Promise<T> {
  if (depth > 0 || !acquire(log)) return fn();
  depth++;
  try {
    return await fn();
  } finally {
    depth--;
    release();
  }
}

function acquire(log?: (m: string) => void): boolean {
  const deadline = Date.now() + MAX_WAIT_MS;
  let staleChecks = 0;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'owner'), `${process.pid} ${processStartTime(process.pid) ?? 0}\n`);
      return true;
    } catch (e) {
      const code = e instanceof Error && 'code' in e ? e.code : undefined;
      if (code !== 'EEXIST') {
        log?.(`cannot take the tracefs event lock ${LOCK} (${code ?? String(e)}); going on without it`);
        return false;
      }
    }
    // A dead owner's lock is taken over (checked every ~200 ms, not on every poll).
    if (staleChecks++ % 10 === 0 && !ownerAlive()) {
      rmSync(LOCK, { recursive: true, force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      log?.(`another migscope capture has held ${LOCK} for ${MAX_WAIT_MS / 1000} s; going on without it`);
      return false;
    }
    sleepSync(POLL_MS);
  }
}

function release(): void {
  rmSync(LOCK, { recursive: true, force: true });
}
