// The ftrace capture back end: plain tracefs, no extra tools. `migscope capture --tracer
// ftrace` sets up a PRIVATE tracefs instance for the target, streams its trace_pipe into
// the output file as ftrace text (spec trace-formats §2, read by parsers/ftrace-text.ts),
// and removes everything it set up when the target exits, on stop() (Ctrl-C / SIGTERM in
// the CLI), on error, and at process exit.
//
// What the instance records (docs/tracers.md says what that can and cannot show):
// - syscalls:sys_enter_/sys_exit_ pread64, pwrite64, ioctl, openat, close (+ read, write
//   with readWrite); sys_enter_ioctl filtered to VFIO commands (type ';' = 0x3b, like
//   migscope.bt: KVM_RUN & co. would flood the buffer); their exits cannot be filtered by
//   cmd (the exit event has no cmd), the parsers drop exits without a kept entry;
// - a uprobe on libc's pwrite64 fetching the bytes being written (val_u8..val_u64 from
//   +0(%si), fd, count, pos; §3.1), which the parsers merge into the pwrite64 record;
// - the clock-sync marker (parsers/text/clock-sync-marker.ts) at start and end.
// Target filter: set_event_pid with every thread of the target, and options/event-fork so
// threads created later (QEMU's migration thread) are added by the kernel (tracefs.ts).
// Options: record-tgid (the TGID column gives the process), irq-info, trace_clock mono
// (the axis of bpftrace's nsecs and of Node's hrtime), copy_trace_marker where the kernel
// has it (6.17+: QEMU's ftrace trace backend writes the TOP-level trace_marker; this
// copies those lines into our instance, §1.3). The body-format options (raw, hex, bin,
// fields, verbose, latency-format) are forced off: a new instance inherits the top level's.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, createWriteStream, existsSync, openSync, readFileSync, readSync, type WriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { readClockPair, type ClockPair } from './clock.js';
import { packageRoot } from './package-root.js';
import { processAlive } from './bpftrace.js';
import { childExited } from './child-exit.js';
import { hostField } from './host-field.js';
import {
  addEventPids,
  createCleanup,
  createInstance,
  defineUprobe,
  enableEvent,
  ensureTracefs,
  followProcess,
  hasEvent,
  instanceName,
  overruns,
  setClock,
  setOption,
  TracefsError,
  uprobeGroupName,
  writeTracefs,
  type Cleanup,
  type Instance,
} from './tracefs.js';
import { findPwrite64, type LibcProbeSite } from './uprobe-libc.js';
import {
  CaptureSetupError,
  type Availability,
  type CaptureHandle,
  type CaptureOptions,
  type CaptureResult,
  type CaptureTarget,
  type Tracer,
} from './tracer.js';

export const FTRACE_CAPTURE_VERSION = 1;

/** Instance and uprobe-group names start with these; tests look for leftovers by them. */
export const INSTANCE_PREFIX = 'migscope';
export const UPROBE_GROUP_PREFIX = 'migscope';

const CLOCK = 'mono';
const IOCTL_FILTER = 'cmd >= 0x3b00 && cmd <= 0x3bff';
const POLL_MS = 100;

/** The syscalls recorded, in the order their events are enabled. */
export function syscallsFor(readWrite: boolean): readonly string[] {
  return ['pread64', 'pwrite64', 'ioctl', 'openat', 'close', ...(readWrite ? ['read', 'write'] : [])];
}

/** The clock-sync marker text; parsers/text/clock-sync-marker.ts parses exactly this. */
export function clockSyncMarkerText(c: ClockPair, at: 'start' | 'end'): string {
  return `migscope-clocksync clock=${CLOCK} trace_ns=${c.traceNs} wall_ns=${c.wallNs} uncertainty_ns=${c.uncertaintyNs} source=runner at=${at}`;
}

export function migscopeVersion(): string {
  try {
    const pj: unknown = JSON.parse(readFileSync(`${packageRoot()}/package.json`, 'utf8'));
    if (typeof pj === 'object' && pj !== null && 'version' in pj && typeof pj.version === 'string') return pj.version;
  } catch {
    // fall through
  }
  return 'unknown';
}

export function isRoot(): boolean {
  return typeof process.geteuid !== 'function' || process.geteuid() === 0;
}

/** What both tracefs-based back ends need; `extra` adds a tool's own checks. */
export async function tracefsAvailable(): Promise<Availability> {
  if (!isRoot()) return { ok: false, reason: 'tracing through tracefs needs root (run migscope capture with sudo)' };
  const t = ensureTracefs();
  if ('error' in t) return { ok: false, reason: t.error };
  for (const f of ['instances', 'set_event_pid', 'options/event-fork', 'uprobe_events', 'events/syscalls/sys_enter_pwrite64']) {
    if (!existsSync(`${t.root}/${f}`)) {
      return { ok: false, reason: `this kernel's tracefs lacks ${f} (needs instances, set_event_pid with event-fork, uprobes and syscall tracepoints)` };
    }
  }
  return { ok: true };
}

// ---- the target ------------------------------------------------------------------------

/**
 * A command is started as `sh -c 'read <&3; exec "$@"'` (as capture/bpftrace.ts does): its
 * pid is known at once and it only execs the command, under the same pid, once tracing is
 * set up for that pid.
 */
export function startGatedCommand(argv: readonly string[]): { child: ChildProcess; release: () => void } {
  if (argv.length === 0) throw new CaptureSetupError('no command given');
  const child = spawn('/bin/sh', ['-c', 'read _ <&3; exec 3<&-; exec "$@"', 'migscope-capture', ...argv], {
    stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
  });
  const gate = child.stdio[3];
  return {
    child,
    release: () => {
      if (gate !== null && gate !== undefined && 'write' in gate) {
        const w: Writable = gate;
        w.end('\n');
      }
    },
  };
}

export interface Target {
  readonly pid: number;
  readonly command: { child: ChildProcess; release: () => void } | undefined;
}

export function startTarget(t: CaptureTarget): Target {
  if (t.kind === 'pid') {
    if (!Number.isInteger(t.pid) || t.pid <= 0 || !processAlive(t.pid)) throw new CaptureSetupError(`no such process: ${t.pid}`);
    return { pid: t.pid, command: undefined };
  }
  if (t.kind === 'all') throw new CaptureSetupError('tracing every VMM on the host (--all) needs --tracer bpftrace');
  const command = startGatedCommand(t.argv);
  const p = command.child.pid;
  if (p === undefined) throw new CaptureSetupError(`cannot start ${t.argv.join(' ')}`);
  return { pid: p, command };
}

// ---- the tracefs session (shared with capture/tracecmd.ts) -----------------------------

export interface SessionOptions {
  readonly target: CaptureTarget;
  readonly readWrite: boolean;
  readonly log: (m: string) => void;
  /** Per-CPU ring buffer size; undefined keeps the kernel's default. */
  readonly bufferKb: number | undefined;
  /** Instance-name prefix (distinguishes the back ends in `ls instances`). */
  readonly prefix: string;
}

export interface Session {
  readonly root: string;
  readonly inst: Instance;
  readonly pid: number;
  readonly target: Target;
  /** The uprobe group, when the pwrite64 probe could be placed. */
  readonly uprobeGroup: string | undefined;
  readonly libc: LibcProbeSite | undefined;
  readonly events: readonly string[];
  readonly copyTraceMarker: boolean;
  readonly cleanup: Cleanup;
  /** Write a line into the instance's trace_marker. */
  mark(text: string): void;
}

/** The uprobe on libc's pwrite64 (spec §3.1): fetch only as many bytes as each size needs. */
function pwriteProbeArgs(): readonly string[] {
  return ['fd=%di:s32', 'count=%dx:u64', 'pos=%cx:x64', 'val_u8=+0(%si):u8', 'val_u16=+0(%si):u16', 'val_u32=+0(%si):u32', 'val_u64=+0(%si):x64'];
}

/**
 * Set up everything; on failure undo what was done and throw CaptureSetupError. The target
 * (for commands) is started but not released: the caller releases it once reading is set up.
 * Order matters for the undo (run in reverse): the uprobe is defined before the instance
 * enables it, so the instance lets go of it (disable, rmdir) before it is removed.
 */
export function setupSession(o: SessionOptions): Session {
  const tfs = ensureTracefs();
  if ('error' in tfs) throw new CaptureSetupError(tfs.error);
  const root = tfs.root;
  const cleanup = createCleanup();
  const target = startTarget(o.target);
  try {
    const pid = target.pid;
    // 1. the uprobe (global definition, unique group)
    let uprobeGroup: string | undefined;
    let libc: LibcProbeSite | undefined;
    const site = findPwrite64(
      o.target.kind === 'command' ? { kind: 'command', argv0: o.target.argv[0] ?? '' } : { kind: 'pid', pid },
    );
    if (typeof site === 'string') {
      o.log(`no uprobe on libc pwrite64 (${site}): values written will be unknown`);
    } else {
      const group = uprobeGroupName(UPROBE_GROUP_PREFIX, pid);
      try {
        defineUprobe(root, group, { kind: 'p', event: 'pwrite64_entry', path: site.libc, offset: site.pwrite64.fileOffset, args: pwriteProbeArgs() }, cleanup);
        uprobeGroup = group;
        libc = site;
      } catch (e) {
        o.log(`no uprobe on ${site.libc}:0x${site.pwrite64.fileOffset.toString(16)} (${e instanceof Error ? e.message : String(e)}): values written will be unknown`);
      }
    }

    // 2. the private instance, off until everything is in place
    const inst = createInstance(root, instanceName(`${o.prefix}`, pid), cleanup);
    setClock(inst, CLOCK);
    // the kernel-text layout parsers/ftrace-text.ts reads (spec §2.3): prefix on, body defaults
    for (const [opt, on] of [
      ['context-info', true],
      ['record-tgid', true],
      ['irq-info', true],
      ['event-fork', true],
      ['markers', true],
      ['raw', false],
      ['hex', false],
      ['bin', false],
      ['fields', false],
      ['verbose', false],
      ['latency-format', false],
    ] as const) {
      if (!setOption(inst, opt, on) && (opt === 'event-fork' || opt === 'record-tgid')) {
        throw new CaptureSetupError(`this kernel has no options/${opt}`);
      }
    }
    const copyTraceMarker = setOption(inst, 'copy_trace_marker', true);
    if (o.bufferKb !== undefined) writeTracefs(inst.file('buffer_size_kb'), String(o.bufferKb));

    // 3. the target's threads (set before any event is enabled: an empty list means everyone)
    if (target.command !== undefined) addEventPids(inst, [pid]);
    else if (followProcess(inst, pid) === 0) throw new CaptureSetupError(`process ${pid} exited before tracing started`);

    // 4. the events
    const events: string[] = [];
    for (const sc of syscallsFor(o.readWrite)) {
      for (const dir of ['enter', 'exit'] as const) {
        const ev = `sys_${dir}_${sc}`;
        if (!hasEvent(inst, 'syscalls', ev)) throw new CaptureSetupError(`this kernel has no syscalls:${ev} tracepoint`);
        enableEvent(inst, 'syscalls', ev, sc === 'ioctl' && dir === 'enter' ? IOCTL_FILTER : undefined, cleanup);
        events.push(`syscalls:${ev}`);
      }
    }
    if (uprobeGroup !== undefined) {
      enableEvent(inst, uprobeGroup, 'pwrite64_entry', undefined, cleanup);
      events.push(`${uprobeGroup}:pwrite64_entry`);
    }
    writeTracefs(inst.file('tracing_on'), '1');
    // a --pid target may have started threads while we set up: add them (event-fork covers
    // only threads created by tasks already in the list)
    if (target.command === undefined) followProcess(inst, pid);
    return {
      root,
      inst,
      pid,
      target,
      uprobeGroup,
      libc,
      events,
      copyTraceMarker,
      cleanup,
      mark: (text) => writeTracefs(inst.file('trace_marker'), `${text}\n`),
    };
  } catch (e) {
    target.command?.child.kill('SIGKILL');
    const failures = cleanup.run();
    for (const f of failures) o.log(`cleanup: ${f}`);
    if (e instanceof CaptureSetupError) throw e;
    if (e instanceof TracefsError) throw new CaptureSetupError(e.message);
    throw e;
  }
}

/**
 * Run `cleanup` at process exit if the capture did not get to it (an exception in the
 * caller, process.exit()), and on SIGHUP (a closed terminal; the CLI handles INT/TERM).
 * The cleanup is synchronous, which is what makes the exit hook possible.
 */
export function guardCleanup(cleanup: Cleanup, stop: () => void, log: (m: string) => void): () => void {
  const onExit = (): void => {
    if (!cleanup.done) for (const f of cleanup.run()) log(`cleanup: ${f}`);
  };
  const onHup = (): void => stop();
  process.on('exit', onExit);
  process.on('SIGHUP', onHup);
  return () => {
    process.off('exit', onExit);
    process.off('SIGHUP', onHup);
  };
}

/** Watch for the target's end: a started command's exit, or a --pid process disappearing. */
export function watchTarget(
  target: Target,
  onEnd: () => void,
): { dispose: () => void; status: () => { code: number | undefined; signal: string | undefined } } {
  let code: number | undefined;
  let signal: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  if (target.command !== undefined) {
    const c = target.command.child;
    c.once('exit', (cd, sg) => {
      code = cd ?? undefined;
      signal = sg ?? undefined;
      onEnd();
    });
  } else {
    timer = setInterval(() => {
      if (!processAlive(target.pid)) onEnd();
    }, POLL_MS);
  }
  return {
    dispose: () => {
      if (timer !== undefined) clearInterval(timer);
    },
    status: () => ({ code, signal }),
  };
}

/**
 * Wait until a started command's exit status is known (so the result can report it), at
 * most `maxMs` (CaptureOptions.commandWaitMs); resolves true when it has exited (or there
 * is no command), false when it still runs.
 */
export function commandExited(target: Target, maxMs?: number): Promise<boolean> {
  return childExited(target.command?.child, maxMs);
}

// ---- the ftrace back end ---------------------------------------------------------------

function headerLines(s: Session, o: CaptureOptions): string[] {
  const target = o.target.kind === 'pid' ? `pid:${s.pid}` : `command:${s.pid}`;
  return [
    '# tracer: nop',
    `# migscope-ftrace-capture v${FTRACE_CAPTURE_VERSION} version=${migscopeVersion()} tracer=ftrace clock=${CLOCK}${hostField()} target=${target} ` +
      `instance=${s.inst.name} uprobe=${s.uprobeGroup ?? 'none'} copy_trace_marker=${s.copyTraceMarker ? 1 : 0} read_write=${o.readWrite ? 1 : 0}`,
    `# events: ${s.events.join(' ')}`,
    ...(s.libc !== undefined ? [`# uprobe: ${s.libc.libc}:0x${s.libc.pwrite64.fileOffset.toString(16)} (${s.libc.pwrite64.name})`] : []),
  ];
}

async function start(o: CaptureOptions): Promise<CaptureHandle> {
  const log = o.log ?? ((): void => undefined);
  const avail = await tracefsAvailable();
  if (!avail.ok) throw new CaptureSetupError(avail.reason ?? 'tracefs unavailable');

  const out: WriteStream = createWriteStream(o.output);
  await new Promise<void>((resolve, reject) => {
    out.once('open', () => resolve());
    out.once('error', (e) => reject(new CaptureSetupError(`cannot write ${o.output}: ${e.message}`)));
  });
  let s: Session;
  try {
    s = setupSession({ target: o.target, readWrite: o.readWrite, log, bufferKb: 4096, prefix: INSTANCE_PREFIX });
  } catch (e) {
    out.destroy();
    throw e;
  }
  const session = s;
  let lines = 0;
  const emit = (line: string): void => {
    out.write(`${line}\n`);
    lines++;
    o.onLine?.(line);
  };
  for (const h of headerLines(session, o)) emit(h);

  // trace_pipe opened non-blocking: a poll drains it and gets EAGAIN when it is empty, so
  // no thread is left blocked in read() when the capture stops (spec §2.1: consuming reader).
  let fd: number;
  try {
    fd = openSync(session.inst.file('trace_pipe'), constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    session.target.command?.child.kill('SIGKILL');
    for (const f of session.cleanup.run()) log(`cleanup: ${f}`);
    out.destroy();
    throw new CaptureSetupError(`cannot open ${session.inst.file('trace_pipe')}: ${e instanceof Error ? e.message : String(e)}`);
  }
  session.cleanup.add('close trace_pipe', () => closeSync(fd));
  const buf = Buffer.alloc(256 * 1024);
  const utf8 = new StringDecoder('utf8'); // a read may end inside a multi-byte character
  let rest = '';
  let readError: string | undefined;
  const drain = (): void => {
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        const code = e instanceof Error && 'code' in e ? e.code : undefined;
        if (code !== 'EAGAIN' && code !== 'EINTR') readError = e instanceof Error ? e.message : String(e);
        return;
      }
      if (n <= 0) return;
      const parts = (rest + utf8.write(buf.subarray(0, n))).split('\n');
      rest = parts.pop() ?? '';
      for (const p of parts) emit(p);
    }
  };

  let stoppedBy: CaptureResult['stoppedBy'] = 'target-exited';
  let finished = false;
  let resolveDone: (r: CaptureResult) => void = () => undefined;
  let rejectDone: (e: Error) => void = () => undefined;
  const done = new Promise<CaptureResult>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  done.catch(() => undefined);

  const poller = setInterval(() => {
    drain();
    if (readError !== undefined) finish('tracer-exited');
  }, POLL_MS);

  const finish = (why: CaptureResult['stoppedBy']): void => {
    if (finished) return;
    finished = true;
    stoppedBy = why;
    clearInterval(poller);
    watcher.dispose();
    try {
      session.mark(clockSyncMarkerText(readClockPair(), 'end'));
    } catch (e) {
      log(`cannot write the closing clock-sync marker: ${e instanceof Error ? e.message : String(e)}`);
    }
    try {
      writeTracefs(session.inst.file('tracing_on'), '0');
    } catch {
      // the cleanup turns it off again and reports it
    }
    drain();
    if (rest !== '') emit(rest);
    const lost = overruns(session.inst);
    if (lost > 0) log(`the ring buffer overflowed: ${lost} events were lost (the trace shows where)`);
    // a command still waiting at the gate (stop before release) must not run untraced
    if (session.target.command !== undefined && !released) session.target.command.child.kill('SIGTERM');
    const failures = session.cleanup.run();
    unguard();
    for (const f of failures) log(`cleanup: ${f}`);
    out.end(() => {
      void commandExited(session.target, why === 'target-exited' ? undefined : o.commandWaitMs).then((exited) => {
        const st = watcher.status();
        if (readError !== undefined && why === 'tracer-exited') {
          rejectDone(new Error(`reading ${session.inst.file('trace_pipe')} failed: ${readError}`));
          return;
        }
        resolveDone({
          output: o.output,
          lines,
          commandExitCode: st.code,
          commandSignal: st.signal,
          tracerExitCode: failures.length === 0 ? 0 : 1,
          stoppedBy,
          commandRunning: !exited,
        });
      });
    });
  };
  const watcher = watchTarget(session.target, () => finish('target-exited'));
  const unguard = guardCleanup(session.cleanup, () => finish('stop-requested'), log);

  let released = false;
  try {
    session.mark(clockSyncMarkerText(readClockPair(), 'start'));
  } catch (e) {
    log(`cannot write the clock-sync marker: ${e instanceof Error ? e.message : String(e)} (times will be trace-relative)`);
  }
  session.target.command?.release();
  released = true;

  return {
    pid: session.pid,
    attached: Promise.resolve(),
    done,
    stop: () => finish('stop-requested'),
  };
}

export const ftraceTracer: Tracer = {
  name: 'ftrace',
  description: 'plain tracefs (no tools needed): syscalls + a libc pwrite64 uprobe; values read are unknown',
  available: tracefsAvailable,
  start,
};
