// The trace-cmd capture back end: writes a trace.dat (spec trace-formats §5, read by
// parsers/tracedat/).
//
// 1. `trace-cmd record` first, in its own instance (-B), with the same events, filter,
//    uprobe and pid-following as the ftrace back end (capture/ftrace.ts).
// 2. Where record cannot run — on this kind of machine it stops with EPERM because it
//    writes /proc/sys/kernel/ftrace_enabled (read-only here, LAB-NOTES), and with -d it
//    next fails on the function-tracer files of the instance — say so on stderr and fall
//    back: set the private instance up through tracefs exactly as the ftrace back end
//    does, run the target, then have `trace-cmd extract` write the instance's ring buffer.
//
// extract and the top-level buffer: `trace-cmd extract -B NAME` (3.1.6) also extracts the
// TOP-level buffer, and extracting consumes it (it reads trace_pipe_raw): it would steal
// other users' events and mix them into our file (trace.dat records carry no tgid, so they
// could not be told apart), and it writes the instance as a named BUFFER whose clock the
// top buffer's overrides. It also deletes the instance it read. So extract runs in a
// private mount namespace where our instance is bind-mounted over the tracefs mount
// point(s): trace-cmd sees the instance as the top level, extracts only it, with its own
// clock (mono), and deletes nothing (verified on 6.18 / trace-cmd 3.1.6; comms then show
// as "<...>": an instance has no saved_cmdlines). Only when that is impossible (no
// unshare) does it fall back to `extract -B`, with a warning; the cleanup tolerates the
// instance being gone.
//
// The ring buffer is read once, at the end, so it must hold the whole run: the instance's
// buffer is enlarged, and overruns are reported on stderr (the parser shows the gaps).

import { withEventDefsLock } from './event-defs-lock.js';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { readClockPair } from './clock.js';
import {
  clockSyncMarkerText,
  commandExited,
  guardCleanup,
  migscopeVersion,
  setupSession,
  startTarget,
  syscallsFor,
  tracefsAvailable,
  watchTarget,
  UPROBE_GROUP_PREFIX,
  type Session,
} from './ftrace.js';
import {
  createCleanup,
  defineUprobe,
  ensureTracefs,
  instanceName,
  bufferStats,
  overruns,
  removeInstance,
  threadsOf,
  uprobeGroupName,
  writeTracefs,
  type Cleanup,
} from './tracefs.js';
import { findPwrite64 } from './uprobe-libc.js';
import {
  CaptureSetupError,
  type Availability,
  type CaptureHandle,
  type CaptureOptions,
  type CaptureResult,
  type Tracer,
} from './tracer.js';

export const TRACECMD_INSTANCE_PREFIX = 'migscope-tc';
/** Per-CPU buffer for the extract fallback: it must hold the whole run. */
const EXTRACT_BUFFER_KB = 16384;
const RECORD_ATTACH_TIMEOUT_MS = 20_000;

export async function traceCmdAvailable(): Promise<Availability> {
  const base = await tracefsAvailable();
  if (!base.ok) return base;
  const v = spawnSync('trace-cmd', ['--version'], { encoding: 'utf8' });
  if (v.error !== undefined) return { ok: false, reason: 'trace-cmd is not installed or not on PATH (Debian/Ubuntu: apt-get install trace-cmd)' };
  return { ok: true };
}

/** Does trace-cmd's stderr say it was refused by the kernel (EPERM/EACCES/EROFS)? */
export function refusedByKernel(stderr: string): string | undefined {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const i = lines.findIndex((l) => /Operation not permitted|Permission denied|Read-only file system/.test(l));
  if (i < 0) return undefined;
  // trace-cmd prints "trace-cmd: <errno text>" then "  <what it was doing>"
  return [lines[i], lines[i + 1]].filter((l) => l !== undefined).join(' / ');
}

/**
 * After a failed record: the 0-byte output and the 0-byte per-CPU files (`OUTPUT.cpuN`)
 * trace-cmd creates before it starts recording are removed; non-empty ones are data and stay.
 */
export function removeEmptyLeftovers(output: string): void {
  const dir = dirname(resolve(output));
  const base = basename(output);
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((f) => f === base || (f.startsWith(`${base}.cpu`) && /^\d+$/.test(f.slice(base.length + 4))));
  } catch {
    return;
  }
  for (const f of names) {
    try {
      if (statSync(join(dir, f)).size === 0) unlinkSync(join(dir, f));
    } catch {
      // leave it
    }
  }
}

// ---- 1. trace-cmd record --------------------------------------------------------------

const FTRACE_ENABLED = '/proc/sys/kernel/ftrace_enabled';

/**
 * Why `trace-cmd record` would stop before recording, known without running it: record
 * writes /proc/sys/kernel/ftrace_enabled (3.1.6, even for events only), and where that file
 * refuses writes it stops with "Operation not permitted / Can't enable ftrace", leaving the
 * instance it created behind (with function-trace set). Running it anyway is not harmless on
 * a shared host: two suites tracing at once lost a migscope capture's events (its trace.dat
 * had no per-CPU data) only while such failing records ran beside it (issue 14). Writing
 * the value the file already holds changes nothing where writes are allowed.
 */
export function ftraceEnabledRefusal(file: string = FTRACE_ENABLED): string | undefined {
  let now: string;
  try {
    now = readFileSync(file, 'utf8').trim();
  } catch {
    return undefined; // no such file (no function tracer): let record say what it thinks
  }
  try {
    writeFileSync(file, now);
    return undefined;
  } catch (e) {
    const code = e instanceof Error && 'code' in e ? String(e.code) : '';
    if (code === 'EPERM' || code === 'EACCES' || code === 'EROFS') return `${file} refuses writes with ${code}, and trace-cmd record writes it before it records`;
    return undefined;
  }
}

interface RecordOutcome {
  readonly kind: 'recorded';
  readonly result: Promise<CaptureResult>;
  readonly pid: number;
  readonly stop: () => void;
}

/**
 * Try `trace-cmd record`. Resolves 'refused' (with trace-cmd's words) when it stops before
 * recording; the target is not started in that case (commands wait at the gate), and the
 * instance trace-cmd created is removed.
 */
async function tryRecord(o: CaptureOptions, log: (m: string) => void): Promise<RecordOutcome | { kind: 'refused'; why: string }> {
  const refusal = ftraceEnabledRefusal();
  if (refusal !== undefined) return { kind: 'refused', why: refusal };
  const tfs = ensureTracefs();
  if ('error' in tfs) throw new CaptureSetupError(tfs.error);
  const root = tfs.root;
  const cleanup: Cleanup = createCleanup();
  const target = startTarget(o.target);
  const pid = target.pid;
  const name = instanceName(TRACECMD_INSTANCE_PREFIX, pid);
  const instDir = `${root}/instances/${name}`;
  // record creates (and at its end deletes) the instance; if it dies, we remove it
  cleanup.add(`remove instance ${instDir}`, () => removeInstance({ root, name, dir: instDir, file: (r) => `${instDir}/${r}` }));

  const events: string[] = [];
  for (const sc of syscallsFor(o.readWrite)) {
    events.push('-e', `syscalls:sys_enter_${sc}`);
    if (sc === 'ioctl') events.push('-f', 'cmd >= 0x3b00 && cmd <= 0x3bff');
    events.push('-e', `syscalls:sys_exit_${sc}`);
  }
  const site = findPwrite64(o.target.kind === 'command' ? { kind: 'command', argv0: o.target.argv[0] ?? '' } : { kind: 'pid', pid });
  if (typeof site !== 'string') {
    const group = uprobeGroupName(UPROBE_GROUP_PREFIX, pid);
    try {
      defineUprobe(
        root,
        group,
        {
          kind: 'p',
          event: 'pwrite64_entry',
          path: site.libc,
          offset: site.pwrite64.fileOffset,
          args: ['fd=%di:s32', 'count=%dx:u64', 'pos=%cx:x64', 'val_u8=+0(%si):u8', 'val_u16=+0(%si):u16', 'val_u32=+0(%si):u32', 'val_u64=+0(%si):x64'],
        },
        cleanup,
      );
      events.push('-e', `${group}:pwrite64_entry`);
    } catch (e) {
      log(`no uprobe on libc pwrite64 (${e instanceof Error ? e.message : String(e)}): values written will be unknown`);
    }
  } else {
    log(`no uprobe on libc pwrite64 (${site}): values written will be unknown`);
  }
  const tids = o.target.kind === 'pid' ? threadsOf(pid) : [pid];
  const pidArgs = tids.flatMap((t) => ['-P', String(t)]);
  const args = ['record', '--nosplice', '-B', name, '-C', 'mono', ...events, ...pidArgs, '-c', '-o', resolve(o.output)];
  const tc = spawn('trace-cmd', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, cwd: dirname(resolve(o.output)) });
  // record runs in its own process group: if migscope exits without stopping it (a second
  // Ctrl-C), SIGINT makes it write what it recorded instead of recording on forever; what it
  // then leaves (its uprobe) is removed by the next capture (capture/stale.ts).
  const stopOnExit = (): void => {
    if (tc.exitCode !== null || tc.signalCode !== null) return;
    tc.kill('SIGINT');
    log(`trace-cmd record (pid ${String(tc.pid)}) was told to stop and writes ${o.output} on its own`);
  };
  process.on('exit', stopOnExit);
  tc.once('exit', () => process.off('exit', stopOnExit));
  let stderr = '';
  let stdout = '';
  const attached = await new Promise<boolean>((res) => {
    const t = setTimeout(() => res(false), RECORD_ATTACH_TIMEOUT_MS);
    const check = (): void => {
      if (/Hit Ctrl\^C to stop recording/.test(stdout + stderr)) {
        clearTimeout(t);
        res(true);
      }
    };
    tc.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString();
      check();
    });
    tc.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
      check();
    });
    tc.once('exit', () => {
      clearTimeout(t);
      res(false);
    });
    tc.once('error', () => {
      clearTimeout(t);
      res(false);
    });
  });
  if (!attached) {
    if (tc.exitCode === null && tc.signalCode === null) tc.kill('SIGKILL');
    await new Promise<void>((r) => (tc.exitCode !== null || tc.signalCode !== null ? r() : tc.once('exit', () => r())));
    target.command?.child.kill('SIGKILL');
    for (const f of cleanup.run()) log(`cleanup: ${f}`);
    removeEmptyLeftovers(o.output);
    return { kind: 'refused', why: refusedByKernel(stderr) ?? (stderr.trim().split('\n').slice(-2).join(' / ') || `exit ${String(tc.exitCode)}`) };
  }

  // Recording: mark the clock, let the command go, stop trace-cmd when the target ends.
  const mark = (at: 'start' | 'end'): void => {
    try {
      writeTracefs(`${instDir}/trace_marker`, `${clockSyncMarkerText(readClockPair(), at)}\n`);
    } catch (e) {
      log(`cannot write the clock-sync marker: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  mark('start');
  target.command?.release();
  let stoppedBy: CaptureResult['stoppedBy'] = 'target-exited';
  let stopping = false;
  const stop = (why: CaptureResult['stoppedBy']): void => {
    if (stopping) return;
    stopping = true;
    stoppedBy = why;
    mark('end');
    tc.kill('SIGINT');
  };
  const watcher = watchTarget(target, () => stop('target-exited'));
  const unguard = guardCleanup(cleanup, () => stop('stop-requested'), log);
  const result = new Promise<CaptureResult>((res) => {
    tc.once('exit', (code) => {
      watcher.dispose();
      for (const f of cleanup.run()) log(`cleanup: ${f}`);
      unguard();
      void commandExited(target, stoppedBy === 'target-exited' ? undefined : o.commandWaitMs).then((exited) => {
        const st = watcher.status();
        res({ output: o.output, lines: 0, commandExitCode: st.code, commandSignal: st.signal, tracerExitCode: code ?? undefined, stoppedBy, commandRunning: !exited });
      });
    });
  });
  return { kind: 'recorded', result, pid, stop: () => stop('stop-requested') };
}

// ---- 2. tracefs set-up + trace-cmd extract ---------------------------------------------

/** tracefs mount points (extract must see our instance at each one trace-cmd may pick). */
function tracefsMounts(): string[] {
  try {
    return readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => f[2] === 'tracefs' && f[1] !== undefined)
      .map((f) => f[1] ?? '');
  } catch {
    return [];
  }
}

/** Run a command, collecting its output; never throws. */
function run(cmd: string, args: readonly string[], cwd: string): Promise<{ code: number | null; out: string }> {
  return new Promise((res) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd });
    let out = '';
    p.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    p.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    p.once('error', (e) => res({ code: -1, out: e.message }));
    p.once('exit', (code) => res({ code, out }));
  });
}

const EXTRACT_ATTEMPTS = 5;

/**
 * trace-cmd's "error in size of file '…'" (trace-output.c: the size it measured differs
 * from what it copied): the file changed under it, as /proc/kallsyms does while other
 * tracers load BPF programs, or an event's format file as another tracer adds or removes
 * a probe. It is raised while the file header is written, before any event is read, so a
 * retry loses nothing.
 */
export function isTransientExtractError(out: string): boolean {
  return /error in size of file/i.test(out);
}

/**
 * A file trace-cmd extract wrote and reported as fine can still have a broken header: with
 * another tracer adding probes at the same time, an event format it copied changed size
 * under it (seen here: "format size 28556934527805805" at byte 2079, the formats section,
 * while a second test suite ran bpftrace). trace-cmd's own reader walks the header and
 * sections in a few ms; its complaint, or undefined when it reads the file (or cannot run).
 * Found by running two test suites that trace at once (issue 14); not retried, see the caller.
 */
export function unreadableHeader(file: string): string | undefined {
  const r = spawnSync('trace-cmd', ['dump', '--summary', file], { encoding: 'utf8', timeout: 30_000 });
  if (r.error !== undefined || r.status === 0) return undefined;
  if (/unknown command|usage:/i.test(`${r.stdout}${r.stderr}`)) return undefined; // a trace-cmd without dump
  return lastLines(`${r.stdout}\n${r.stderr}`) || `exit ${String(r.status)}`;
}

/**
 * Bytes of event data trace-cmd extract says it wrote, summed over its
 * "CPU0 data recorded at offset=0x… / N bytes in size" lines (3.x); undefined when it printed none.
 */
export function cpuDataBytes(out: string): number | undefined {
  let total: number | undefined;
  for (const m of out.matchAll(/CPU\d+ data recorded at offset=0x[0-9a-f]+\s*\n?\s*(\d+) bytes in size/gi)) total = (total ?? 0) + Number(m[1]);
  return total;
}

function lastLines(out: string): string {
  return out.trim().split('\n').slice(-2).join(' / ');
}

/**
 * A copy of /proc/kallsyms for extract to read instead (bind-mounted over it in extract's
 * private mount namespace). trace-cmd checks that the size it copied is the size it measured;
 * /proc/kallsyms changes whenever any tool on the host loads or unloads a BPF program (each
 * program is a symbol), and then extract fails with "error in size of file
 * '/proc/kallsyms'" AFTER reading (and so consuming) the ring buffer: seen with two test
 * suites tracing at once (issue 14). A regular file cannot change under it. undefined (and
 * extract reads the live file) when the copy cannot be made.
 */
function frozenKallsyms(log: (m: string) => void): { file: string; remove: () => void } | undefined {
  let dir: string | undefined;
  try {
    const text = readFileSync('/proc/kallsyms');
    dir = mkdtempSync(join(tmpdir(), 'migscope-kallsyms-'));
    const file = join(dir, 'kallsyms');
    writeFileSync(file, text);
    const d = dir;
    return { file, remove: () => rmSync(d, { recursive: true, force: true }) };
  } catch (e) {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    log(`cannot copy /proc/kallsyms (${e instanceof Error ? e.message : String(e)}): trace-cmd extract reads the live file`);
    return undefined;
  }
}

/** The instance's ring buffer into `output` as a trace.dat; which way it was done. */
export async function extractInstance(
  s: Session,
  output: string,
  log: (m: string) => void,
  opts: { readonly namespace?: boolean } = {},
): Promise<'namespace' | 'buffer-option'> {
  const out = resolve(output);
  const cwd = dirname(out);
  // The mount the instance path goes through must be covered LAST: once it is, the
  // instance is no longer reachable under its old path for the remaining binds.
  const mounts = tracefsMounts().sort((a, b) => Number(s.inst.dir.startsWith(`${a}/`)) - Number(s.inst.dir.startsWith(`${b}/`)));
  if (opts.namespace !== false && mounts.length > 0 && spawnSync('unshare', ['--version']).error === undefined) {
    // sh: bind the instance over every tracefs mount, then exec trace-cmd (private namespace:
    // nothing of this is visible outside, and it ends with the process)
    // and /proc/kallsyms, if a frozen copy could be made, is that copy (see frozenKallsyms)
    const script =
      'inst=$1; out=$2; ks=$3; shift 3; for m in "$@"; do mount --bind "$inst" "$m" || exit 97; done; ' +
      '[ -z "$ks" ] || mount --bind "$ks" /proc/kallsyms 2>/dev/null || true; exec trace-cmd extract -o "$out"';
    let r = { code: null as number | null, out: '' };
    const kallsyms = frozenKallsyms(log);
    let held: number | undefined; // events the buffer held before the first attempt
    try {
      for (let attempt = 1; attempt <= EXTRACT_ATTEMPTS; attempt++) {
        // Held while trace-cmd copies the event formats: no migscope capture defines or
        // removes a uprobe meanwhile (event-defs-lock.ts).
        const before = bufferStats(s.inst);
        held ??= before.entries;
        r = await withEventDefsLock(
          () => run('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, 'migscope-extract', s.inst.dir, out, kallsyms?.file ?? '', ...mounts], cwd),
          log,
        );
        const after = bufferStats(s.inst);
        const written = cpuDataBytes(r.out);
        if (r.code === 0 && written === 0 && before.entries > 0 && after.entries >= before.entries && attempt < EXTRACT_ATTEMPTS) {
          // extract wrote no event although the buffer holds them and still does (nothing was
          // consumed): reading it again loses nothing.
          log(`trace-cmd extract wrote no event data although the ring buffer holds ${before.entries} events; retrying (${attempt}/${EXTRACT_ATTEMPTS - 1})`);
          rmSync(out, { force: true });
          await new Promise((ok) => setTimeout(ok, 200 * attempt));
          continue;
        }
        if (r.code === 0 && existsSync(out) && statSync(out).size > 0) {
          if (written === 0) {
            log(
              held > 0 && before.entries === 0
                ? `WARNING: ${out} holds no events: the failed trace-cmd extract attempts before consumed the ${held} events the ring buffer held`
                : before.entries === 0
                  ? `WARNING: ${out} holds no events: the instance's ring buffer was empty when the target ended ` +
                    '(nothing was traced, or another tool cleared or stopped this instance meanwhile)'
                  : `WARNING: ${out} holds no events although the ring buffer held ${before.entries} (${after.entries} left after trace-cmd extract)`,
            );
          } else if (before.entries < held) {
            log(`WARNING: ${out} lacks up to ${held - before.entries} events: a failed trace-cmd extract attempt consumed them from the ring buffer`);
          }
          // The events are consumed by now: no retry can bring them back. Say so plainly;
          // analysing the file then names the damaged byte.
          const bad = unreadableHeader(out);
          if (bad !== undefined) {
            log(
              `WARNING: trace-cmd extract finished, but trace-cmd cannot read the header of ${out} it wrote (${bad}): ` +
                'another tracer probably changed an event format while it was copied; the events were already read from the ring buffer, so they cannot be extracted again',
            );
          }
          return 'namespace';
        }
        if (!isTransientExtractError(r.out) || attempt === EXTRACT_ATTEMPTS) break;
        // A file trace-cmd copies changed under it (an event format as another tool adds a
        // probe; /proc/kallsyms is frozen above). trace-cmd 3.1.6 may have read events
        // already (it writes the file after reading the buffer): what it consumed is gone, and
        // is said; the rest is tried again.
        const consumed = before.entries - after.entries;
        log(
          `trace-cmd extract: ${lastLines(r.out)} (another tracer changed a file it copies); retrying (${attempt}/${EXTRACT_ATTEMPTS - 1})` +
            (consumed > 0 ? `; WARNING: the failed attempt consumed ${consumed} of the ring buffer's ${before.entries} events, which are lost` : ''),
        );
        rmSync(out, { force: true });
        await new Promise((ok) => setTimeout(ok, 200 * attempt));
      }
    } finally {
      kallsyms?.remove();
    }
    log(`trace-cmd extract in a private mount namespace failed (${r.out.trim().split('\n').slice(-2).join(' / ') || `exit ${String(r.code)}`}); trying trace-cmd extract -B`);
  }
  log(
    `WARNING: trace-cmd extract -B ${s.inst.name} also extracts, and so CONSUMES, the top-level ring buffer: ` +
      'other tracing users lose those events and they end up in this file too',
  );
  const r = await withEventDefsLock(() => run('trace-cmd', ['extract', '-B', s.inst.name, '-o', out], cwd), log);
  if (r.code !== 0 || !existsSync(out)) throw new Error(`trace-cmd extract failed: ${r.out.trim().split('\n').slice(-3).join(' / ')}`);
  return 'buffer-option';
}

async function startExtract(o: CaptureOptions, log: (m: string) => void): Promise<CaptureHandle> {
  const s = setupSession({ target: o.target, readWrite: o.readWrite, log, bufferKb: EXTRACT_BUFFER_KB, prefix: TRACECMD_INSTANCE_PREFIX });
  log(
    `tracing through tracefs instance ${s.inst.name} (events: ${s.events.length}, uprobe: ${s.uprobeGroup ?? 'none'}); ` +
      `trace-cmd extract writes ${o.output} when the target exits (migscope ${migscopeVersion()})`,
  );
  let stoppedBy: CaptureResult['stoppedBy'] = 'target-exited';
  let finished = false;
  let resolveDone: (r: CaptureResult) => void = () => undefined;
  let rejectDone: (e: Error) => void = () => undefined;
  const done = new Promise<CaptureResult>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  done.catch(() => undefined);
  let released = false;

  const finish = (why: CaptureResult['stoppedBy']): void => {
    if (finished) return;
    finished = true;
    stoppedBy = why;
    watcher.dispose();
    try {
      s.mark(clockSyncMarkerText(readClockPair(), 'end'));
    } catch (e) {
      log(`cannot write the closing clock-sync marker: ${e instanceof Error ? e.message : String(e)}`);
    }
    try {
      writeTracefs(s.inst.file('tracing_on'), '0');
    } catch {
      // cleanup reports it
    }
    if (s.target.command !== undefined && !released) s.target.command.child.kill('SIGTERM');
    const lost = overruns(s.inst);
    if (lost > 0) log(`the ring buffer overflowed: ${lost} events were lost (per-CPU buffer ${EXTRACT_BUFFER_KB} KB; the trace shows where)`);
    void extractInstance(s, o.output, log).then(
      (how) => {
        const failures = s.cleanup.run();
        unguard();
        for (const f of failures) log(`cleanup: ${f}`);
        if (how === 'buffer-option') log(`${o.output}: the capture is the named buffer "${s.inst.name}"`);
        void commandExited(s.target, stoppedBy === 'target-exited' ? undefined : o.commandWaitMs).then((exited) => {
          const st = watcher.status();
          resolveDone({ output: o.output, lines: 0, commandExitCode: st.code, commandSignal: st.signal, tracerExitCode: failures.length === 0 ? 0 : 1, stoppedBy, commandRunning: !exited });
        });
      },
      (e: unknown) => {
        const failures = s.cleanup.run();
        unguard();
        for (const f of failures) log(`cleanup: ${f}`);
        removeEmptyLeftovers(o.output);
        rejectDone(e instanceof Error ? e : new Error(String(e)));
      },
    );
  };
  const watcher = watchTarget(s.target, () => finish('target-exited'));
  const unguard = guardCleanup(s.cleanup, () => finish('stop-requested'), log);
  try {
    s.mark(clockSyncMarkerText(readClockPair(), 'start'));
  } catch (e) {
    log(`cannot write the clock-sync marker: ${e instanceof Error ? e.message : String(e)} (times will be trace-relative)`);
  }
  s.target.command?.release();
  released = true;
  return { pid: s.pid, attached: Promise.resolve(), done, stop: () => finish('stop-requested') };
}

async function start(o: CaptureOptions): Promise<CaptureHandle> {
  const log = o.log ?? ((): void => undefined);
  const avail = await traceCmdAvailable();
  if (!avail.ok) throw new CaptureSetupError(avail.reason ?? 'trace-cmd unavailable');
  const rec = await tryRecord(o, log);
  if (rec.kind === 'recorded') {
    return { pid: rec.pid, attached: Promise.resolve(), done: rec.result, stop: rec.stop };
  }
  log(
    `trace-cmd record cannot run here (${rec.why}); falling back to setting the events up through tracefs ` +
      'and writing the file with trace-cmd extract (same events, filters and uprobe)',
  );
  return startExtract(o, log);
}

export const traceCmdTracer: Tracer = {
  name: 'trace-cmd',
  description: 'trace-cmd 3.x trace.dat (record, or tracefs + extract where record is refused); values read are unknown',
  available: traceCmdAvailable,
  start,
};
