// Turns the event stream of a text trace (syscall entries and exits, uprobe/kprobe entries
// and returns, markers, lost-events lines) into TraceRecords. Shared by ftrace-text and
// tracecmd-report so that the same facts give the same records.
//
// Pairing (spec trace-formats §2.5.2): a syscall's entry and exit are separate events of
// the same thread (ftrace's PID column is the thread id); they become ONE record, emitted
// when the exit arrives, stamped with the entry's time and line (like bpftrace's
// t_enter_ns, §4.4). An entry whose exit never comes (end of input, the thread's next
// entry, or a lost-events gap) becomes a record with `ret` undefined; an exit without
// its entry is counted as skipped.
//
// Probes: a uprobe on libc pwrite64 can fetch the bytes being written, which syscall
// tracepoints cannot show (§1.1, §3.3). Its entry comes right before the syscall entry
// of the same thread; when that syscall entry has the same fd/count/pos, the probe's
// value goes into the syscall's record and the probe makes no record of its own. A probe
// with no matching syscall event (a uprobe-only capture) makes its own record. Naming
// convention for probes (the event name is all the text shows): `<func>_entry` /
// `<func>_return` (also _enter/_exit/_ret), func = pwrite64, pread64, write, read, ioctl
// (optionally prefixed __libc_/ksys_/__x64_sys_/sys_); fetch args named fd, count, pos,
// cmd, arg, ret, and the value as val_<type><bits> (e.g. `val_u32=+0(%si):u32`).
//
// Lost events: state across a gap is unreliable (§2.6), so every pending entry is
// completed with `ret` undefined before the lost-events record; an exit after the gap is
// then an exit without entry. Pairing across a gap could give an entry the return value
// of a later call of the same thread.

import type { AccessRecord, FdCloseRecord, FdOpenRecord, IoctlRecord, LostEventsRecord, MarkerRecord, ParserSink } from '../../src/record/types.js';
import type { ProbeArg } from './probe-args.js';
import { probeNum } from './probe-args.js';
import { clockSyncOrMarker } from './clock-sync-marker.js';
import { regToFd } from './numbers.js';
import { TidSlots } from '../tid-slots.js';

export type SyscallName = 'pread64' | 'pwrite64' | 'read' | 'write' | 'ioctl' | 'openat' | 'close';

/**
 * The syscalls migscope pairs, by the name at s[start, end), without making a substring
 * (every syscall line of a trace passes through here); undefined for all others.
 */
export function syscallAt(s: string, start: number, end: number): SyscallName | undefined {
  switch (end - start) {
    case 4:
      return s.startsWith('read', start) ? 'read' : undefined;
    case 5:
      if (s.startsWith('write', start)) return 'write';
      if (s.startsWith('ioctl', start)) return 'ioctl';
      if (s.startsWith('close', start)) return 'close';
      return undefined;
    case 6:
      return s.startsWith('openat', start) ? 'openat' : undefined;
    case 7:
      return s.startsWith('pread64', start) ? 'pread64' : undefined;
    case 8:
      return s.startsWith('pwrite64', start) ? 'pwrite64' : undefined;
    default:
      return undefined;
  }
}

/** Where and when an event happened; one per kept line. */
export interface EventCtx {
  readonly tsNs: bigint | undefined;
  readonly pid: number | undefined;
  readonly tid: number;
  readonly comm: string | undefined;
  readonly cpu: number | undefined;
  readonly line: number;
}

/** Arguments of a syscall entry, already checked for the syscall's required ones. */
export interface EnterInfo {
  readonly fd: number;
  /** count for reads/writes. */
  readonly size: number;
  readonly offset: bigint | undefined;
  /** Bytes the kernel showed (newer kernels, writes only). */
  readonly value: bigint | undefined;
  readonly cmd: number;
  readonly arg: bigint | undefined;
  readonly path: string | undefined;
}

type ProbeFn = 'pread' | 'pwrite' | 'read' | 'write' | 'ioctl';

/** The function a probe event is on, from its name (see the convention above). */
export function probeFunction(eventName: string): ProbeFn | undefined {
  let n = eventName.replace(/_(?:entry|enter|return|ret|exit)$/, '');
  n = n.replace(/^_+/, '').replace(/^(?:libc_|ksys_|x64_sys_|se_sys_|sys_)/, '');
  switch (n) {
    case 'pwrite64':
    case 'pwrite':
      return 'pwrite';
    case 'pread64':
    case 'pread':
      return 'pread';
    case 'write':
      return 'write';
    case 'read':
      return 'read';
    case 'ioctl':
      return 'ioctl';
    default:
      return undefined;
  }
}

interface PendingSyscall {
  readonly name: SyscallName;
  readonly ctx: EventCtx;
  readonly info: EnterInfo;
}

interface PendingProbe {
  readonly fn: ProbeFn;
  readonly ctx: EventCtx;
  readonly fd: number;
  readonly size: number | undefined;
  readonly offset: bigint | undefined;
  readonly value: bigint | undefined;
  readonly cmd: number | undefined;
  readonly arg: bigint | undefined;
  /** A syscall entry took this probe's value: the probe makes no record of its own. */
  consumed: boolean;
}

export interface SyscallAssembler {
  enter(ctx: EventCtx, name: SyscallName, info: EnterInfo): void;
  /** `ret` is the signed return value; only the thread matters for pairing. */
  exit(tid: number, name: SyscallName, ret: number): void;
  probe(ctx: EventCtx, eventName: string, isReturn: boolean, args: readonly ProbeArg[]): void;
  marker(ctx: EventCtx, text: string): void;
  lost(tsNs: bigint | undefined, cpu: number | undefined, count: number | undefined, line: number): void;
  end(): void;
}

const OP_OF: Readonly<Record<'pread64' | 'pwrite64' | 'read' | 'write', AccessRecord['op']>> = {
  pread64: 'pread',
  pwrite64: 'pwrite',
  read: 'read',
  write: 'write',
};

const FN_OF_SYSCALL: Readonly<Record<SyscallName, ProbeFn | undefined>> = {
  pread64: 'pread',
  pwrite64: 'pwrite',
  read: 'read',
  write: 'write',
  ioctl: 'ioctl',
  openat: undefined,
  close: undefined,
};

export function createSyscallAssembler(file: string, sink: ParserSink): SyscallAssembler {
  const pending = new TidSlots<PendingSyscall>();
  const probes = new TidSlots<PendingProbe>();

  function src(line: number): { file: string; line: number } {
    return { file, line };
  }

  /** Emit the record of a completed (or never completed: ret undefined) syscall. */
  function complete(p: PendingSyscall, ret: number | undefined): void {
    const c = p.ctx;
    const i = p.info;
    switch (p.name) {
      case 'pread64':
      case 'pwrite64':
      case 'read':
      case 'write': {
        const r: AccessRecord = {
          kind: 'access',
          tsNs: c.tsNs,
          pid: c.pid,
          tid: c.tid,
          comm: c.comm,
          cpu: c.cpu,
          src: src(c.line),
          op: OP_OF[p.name],
          fd: i.fd,
          offset: i.offset,
          size: i.size,
          value: i.value,
          ret,
        };
        sink.record(r);
        return;
      }
      case 'ioctl': {
        const r: IoctlRecord = {
          kind: 'ioctl',
          tsNs: c.tsNs,
          pid: c.pid,
          tid: c.tid,
          comm: c.comm,
          cpu: c.cpu,
          src: src(c.line),
          fd: i.fd,
          cmd: i.cmd,
          arg: i.arg,
          ret,
          argWords: [],
        };
        sink.record(r);
        return;
      }
      case 'openat': {
        // The new fd is the return value; without it (or without the path, which only
        // newer kernels show) there is nothing to name. close() records still tell the
        // decoder that an fd number stopped meaning what it meant.
        if (ret === undefined || ret < 0 || i.path === undefined) {
          sink.skipped();
          return;
        }
        const r: FdOpenRecord = {
          kind: 'fd-open',
          tsNs: c.tsNs,
          pid: c.pid,
          tid: c.tid,
          comm: c.comm,
          cpu: c.cpu,
          src: src(c.line),
          fd: ret,
          via: 'openat',
          name: i.path,
          parentFd: undefined,
        };
        sink.record(r);
        return;
      }
      case 'close': {
        const r: FdCloseRecord = {
          kind: 'fd-close',
          tsNs: c.tsNs,
          pid: c.pid,
          tid: c.tid,
          comm: c.comm,
          cpu: c.cpu,
          src: src(c.line),
          fd: i.fd,
          ret,
        };
        sink.record(r);
        return;
      }
    }
  }

  /** A probe that no syscall event claimed: its own record, with libc's view of the call. */
  function completeProbe(p: PendingProbe, libcRet: bigint | undefined): void {
    if (p.consumed) {
      sink.skipped();
      return;
    }
    // libc returns -1 and sets errno (spec §3.3): the errno is not visible, so a failure
    // has an unknown return value rather than a wrong -EPERM.
    const ret = libcRet === undefined || libcRet < 0n ? undefined : Number(libcRet);
    const c = p.ctx;
    if (p.fn === 'ioctl') {
      if (p.cmd === undefined) {
        sink.skipped();
        return;
      }
      const r: IoctlRecord = { kind: 'ioctl', tsNs: c.tsNs, pid: c.pid, tid: c.tid, comm: c.comm, cpu: c.cpu, src: src(c.line), fd: p.fd, cmd: p.cmd, arg: p.arg, ret, argWords: [] };
      sink.record(r);
      return;
    }
    if (p.size === undefined || ((p.fn === 'pread' || p.fn === 'pwrite') && p.offset === undefined)) {
      sink.skipped();
      return;
    }
    const r: AccessRecord = {
      kind: 'access',
      tsNs: c.tsNs,
      pid: c.pid,
      tid: c.tid,
      comm: c.comm,
      cpu: c.cpu,
      src: src(c.line),
      op: p.fn,
      fd: p.fd,
      offset: p.fn === 'pread' || p.fn === 'pwrite' ? p.offset : undefined,
      size: p.size,
      value: p.value,
      ret,
    };
    sink.record(r);
  }

  function flushAll(): void {
    for (const p of pending.values()) complete(p, undefined);
    pending.clear();
    for (const p of probes.values()) completeProbe(p, undefined);
    probes.clear();
  }

  return {
    enter(ctx, name, info) {
      const prev = pending.get(ctx.tid);
      if (prev !== undefined) complete(prev, undefined); // its exit was never seen
      let value = info.value;
      const pr = probes.get(ctx.tid);
      if (pr !== undefined && !pr.consumed && pr.fn === FN_OF_SYSCALL[name] && pr.fd === info.fd) {
        const same =
          pr.fn === 'ioctl'
            ? pr.cmd === undefined || pr.cmd === info.cmd
            : (pr.size === undefined || pr.size === info.size) && (pr.offset === undefined || info.offset === undefined || pr.offset === info.offset);
        if (same) {
          pr.consumed = true;
          // Only written bytes are meaningful at entry; a read's buffer is not filled yet.
          if (value === undefined && (pr.fn === 'pwrite' || pr.fn === 'write')) value = pr.value;
        }
      }
      pending.set(ctx.tid, { name, ctx, info: value === info.value ? info : { ...info, value } });
    },

    exit(tid, name, ret) {
      const p = pending.get(tid);
      if (p === undefined) {
        sink.skipped(); // exit without entry (entry before the capture or lost)
        return;
      }
      pending.delete(tid);
      if (p.name !== name) {
        complete(p, undefined);
        sink.skipped();
        return;
      }
      complete(p, ret);
    },

    probe(ctx, eventName, isReturn, args) {
      const fn = probeFunction(eventName);
      if (fn === undefined) {
        sink.skipped();
        return;
      }
      if (isReturn) {
        const p = probes.get(ctx.tid);
        if (p === undefined || p.fn !== fn) {
          sink.skipped();
          return;
        }
        probes.delete(ctx.tid);
        completeProbe(p, probeNum(args, 'ret'));
        return;
      }
      const fdBig = probeNum(args, 'fd');
      if (fdBig === undefined) {
        sink.skipped(); // a probe with other fetch args: not one migscope can use
        return;
      }
      const prev = probes.get(ctx.tid);
      if (prev !== undefined) completeProbe(prev, undefined);
      const count = probeNum(args, 'count');
      const size = count === undefined ? undefined : Number(count);
      const cmd = probeNum(args, 'cmd');
      probes.set(ctx.tid, {
        fn,
        ctx,
        fd: regToFd(BigInt.asUintN(64, fdBig)),
        size,
        offset: probeNum(args, 'pos'),
        value: fn === 'pwrite' || fn === 'write' ? probeValue(args, size) : undefined,
        cmd: cmd === undefined ? undefined : Number(BigInt.asUintN(32, cmd)),
        arg: probeNum(args, 'arg'),
        consumed: false,
      });
    },

    marker(ctx, text) {
      const r: MarkerRecord = { kind: 'marker', tsNs: ctx.tsNs, pid: ctx.pid, tid: ctx.tid, comm: ctx.comm, cpu: ctx.cpu, src: src(ctx.line), text };
      // `migscope capture` pairs trace time with wall time in a marker (DESIGN.md "Time").
      sink.record(clockSyncOrMarker(r));
    },

    lost(tsNs, cpu, count, line) {
      flushAll();
      const r: LostEventsRecord = { kind: 'lost-events', tsNs, pid: undefined, tid: undefined, comm: undefined, cpu, src: src(line), count };
      sink.record(r);
    },

    end() {
      flushAll();
    },
  };
}

/**
 * The written value from fetch args named val_<u|s|x><bits>: the first min(count, 8)
 * bytes, little-endian. A fetch wider than the buffer reads the bytes after it (spec
 * §3.3: `val_u64=0x7f0000000003` for a 4-byte write of 3), so the value is masked to
 * `count` bytes, and a fetch narrower than min(count, 8) bytes is not used.
 */
export function probeValue(args: readonly ProbeArg[], count: number | undefined): bigint | undefined {
  if (count === undefined || count <= 0) return undefined;
  const needBits = Math.min(count, 8) * 8;
  let best: { bits: number; v: bigint } | undefined;
  for (const a of args) {
    const m = /^(?:val|value)_?([usx])(8|16|32|64)$/.exec(a.name);
    if (m === null) continue;
    const bits = Number(m[2]);
    if (bits < needBits || (best !== undefined && best.bits <= bits)) continue;
    const v = probeNum([a], a.name);
    if (v === undefined) continue;
    best = { bits, v };
  }
  if (best === undefined) return undefined;
  return BigInt.asUintN(needBits, best.v);
}
