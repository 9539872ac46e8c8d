// Map decoded trace.dat events to format-neutral TraceRecords (src/record/types.ts).
// Decisions are made once per event FORMAT (by its name and field names), not per record:
// - syscalls:sys_enter_X / sys_exit_X for pread64, pwrite64, read, write, ioctl, openat,
//   close, paired per thread (common_pid), ret from the exit (§2.5.2, §5.8);
// - ftrace:print (trace_marker) -> MarkerRecord, trailing newline stripped (§2.5.3);
// - uprobe events (fields __probe_ip / __probe_ret_ip, §3.2) named <op>_entry/_return: a
//   write's fetched value (val_u32, val_u64, ...) is merged into the syscall record with the
//   same thread, fd, pos and count; fetch only `count` bytes' worth (§3.3: reading 8 bytes
//   of a 4-byte buffer returns garbage). Without syscall events in the trace the uprobe
//   pair itself becomes the record (ret only when >= 0: libc returns -1 and keeps errno).
// - lost-event pages -> LostEventsRecord; everything else -> sink.skipped().
import { clockSyncOrMarker } from '../text/clock-sync-marker.js';
import type { ParserSink, Source } from '../../src/record/types.js';
import { type EventFormat, type FieldFormat } from './event-format.js';
import { type EventVisitor } from './events.js';
import { type TraceDatMeta } from './metadata.js';
import { type Cursor } from './page.js';
import { TidSlots } from '../tid-slots.js';

type Op = 'pread64' | 'pwrite64' | 'read' | 'write' | 'ioctl' | 'openat' | 'close';
const OPS: readonly Op[] = ['pread64', 'pwrite64', 'read', 'write', 'ioctl', 'openat', 'close'];
const UPROBE_OPS: readonly Op[] = ['pread64', 'pwrite64', 'read', 'write', 'ioctl'];

interface Args {
  readonly fd: FieldFormat | undefined;
  readonly count: FieldFormat | undefined;
  readonly pos: FieldFormat | undefined;
  readonly cmd: FieldFormat | undefined;
  readonly arg: FieldFormat | undefined;
  readonly filename: FieldFormat | undefined;
}

type Role =
  | { readonly kind: 'skip' }
  | { readonly kind: 'enter'; readonly op: Op; readonly args: Args; readonly minLength: number }
  | { readonly kind: 'exit'; readonly op: Op; readonly ret: FieldFormat; readonly minLength: number }
  | { readonly kind: 'u-entry'; readonly op: Op; readonly args: Args; readonly vals: readonly FieldFormat[]; readonly minLength: number }
  | { readonly kind: 'u-return'; readonly op: Op; readonly ret: FieldFormat; readonly minLength: number }
  | { readonly kind: 'print'; readonly buf: FieldFormat; readonly minLength: number };

const SKIP: Role = { kind: 'skip' };

function isOp(s: string, ops: readonly Op[]): Op | undefined {
  return ops.find((o) => o === s);
}

function argsOf(f: EventFormat): Args {
  const text = (n: string): FieldFormat | undefined => {
    const x = f.byName.get(n);
    return x !== undefined && x.isText && x.kind !== 'int' ? x : undefined;
  };
  return {
    fd: f.byName.get('fd'),
    count: f.byName.get('count'),
    pos: f.byName.get('pos'),
    cmd: f.byName.get('cmd'),
    arg: f.byName.get('arg'),
    // Newer kernels append user strings as __<arg>_val (§2.5.1); older ones only the pointer.
    filename: text('__filename_val') ?? text('filename'),
  };
}

function extent(fields: readonly (FieldFormat | undefined)[]): number {
  let n = 8;
  for (const f of fields) if (f !== undefined && f.kind === 'int') n = Math.max(n, f.offset + f.size);
  return n;
}

function needsFor(op: Op, a: Args): boolean {
  switch (op) {
    case 'pread64':
    case 'pwrite64':
    case 'read':
    case 'write':
      return a.fd?.kind === 'int' && a.count?.kind === 'int';
    case 'ioctl':
      return a.fd?.kind === 'int' && a.cmd?.kind === 'int';
    case 'openat':
      return true;
    case 'close':
      return a.fd?.kind === 'int';
  }
}

export function roleOf(f: EventFormat): Role {
  if (f.name === 'print' && f.system === 'ftrace') {
    const buf = f.byName.get('buf');
    return buf !== undefined && buf.isText ? { kind: 'print', buf, minLength: 8 } : SKIP;
  }
  const sys = /^sys_(enter|exit)_(\w+)$/.exec(f.name);
  if (sys !== null) {
    const op = isOp(sys[2] ?? '', OPS);
    if (op === undefined) return SKIP;
    if (sys[1] === 'enter') {
      const args = argsOf(f);
      if (!needsFor(op, args)) return SKIP;
      return { kind: 'enter', op, args, minLength: extent([args.fd, args.count, args.pos, args.cmd, args.arg]) };
    }
    const ret = f.byName.get('ret');
    return ret?.kind === 'int' ? { kind: 'exit', op, ret, minLength: extent([ret]) } : SKIP;
  }
  const up = /^(\w+?)_(entry|enter|return|exit|ret)$/.exec(f.name);
  if (up === null) return SKIP;
  const base = up[1] ?? '';
  const op = isOp(base, UPROBE_OPS) ?? UPROBE_OPS.find((o) => base.endsWith(`_${o}`));
  if (op === undefined) return SKIP;
  if (f.byName.has('__probe_ret_ip')) {
    const ret = f.byName.get('ret');
    return ret?.kind === 'int' ? { kind: 'u-return', op, ret, minLength: extent([ret]) } : SKIP;
  }
  if (!f.byName.has('__probe_ip')) return SKIP;
  const args = argsOf(f);
  if (!needsFor(op, args)) return SKIP;
  const vals = f.fields
    .filter((x) => x.kind === 'int' && /^val/.test(x.name))
    .sort((a, b) => a.size - b.size);
  return { kind: 'u-entry', op, args, vals, minLength: extent([args.fd, args.count, args.pos, args.cmd, args.arg, ...vals]) };
}

// ---- field readers (little-endian; only fields the role needs are read) ----

/** Low 32 bits as a signed int: fds are `unsigned int` stored in a long (§5.8). */
function readFd(b: Buffer, s: number, f: FieldFormat | undefined): number {
  if (f === undefined) return -1;
  if (f.size === 1) return b.readInt8(s + f.offset);
  if (f.size === 2) return b.readInt16LE(s + f.offset);
  return b.readInt32LE(s + f.offset);
}
/** An unsigned integer as a number (counts, cmd): exact below 2^53. */
function readUnsigned(b: Buffer, s: number, f: FieldFormat | undefined): number {
  if (f === undefined) return 0;
  const at = s + f.offset;
  switch (f.size) {
    case 1: return b.readUInt8(at);
    case 2: return b.readUInt16LE(at);
    case 4: return b.readUInt32LE(at);
    default: return b.readUInt32LE(at + 4) * 0x100000000 + b.readUInt32LE(at);
  }
}
/** A signed integer as a number (return values): exact for byte counts and -errno. */
function readSigned(b: Buffer, s: number, f: FieldFormat): number {
  const at = s + f.offset;
  switch (f.size) {
    case 1: return f.signed ? b.readInt8(at) : b.readUInt8(at);
    case 2: return f.signed ? b.readInt16LE(at) : b.readUInt16LE(at);
    case 4: return f.signed ? b.readInt32LE(at) : b.readUInt32LE(at);
    default: return b.readInt32LE(at + 4) * 0x100000000 + b.readUInt32LE(at);
  }
}
function readBig(b: Buffer, s: number, f: FieldFormat | undefined): bigint | undefined {
  if (f === undefined || f.kind !== 'int') return undefined;
  const at = s + f.offset;
  switch (f.size) {
    case 1: return BigInt(b.readUInt8(at));
    case 2: return BigInt(b.readUInt16LE(at));
    case 4: return BigInt(b.readUInt32LE(at));
    default: return b.readBigUInt64LE(at);
  }
}

interface Call {
  readonly op: Op;
  readonly fd: number;
  readonly count: number;
  readonly pos: bigint | undefined;
  readonly cmd: number;
  readonly arg: bigint | undefined;
  readonly filename: string;
  readonly tsNs: bigint;
  readonly tid: number;
  readonly cpu: number | undefined;
  readonly src: Source;
}

interface UprobeCall extends Call {
  readonly value: bigint | undefined;
  consumed: boolean;
}

function isWrite(op: Op): boolean {
  return op === 'pwrite64' || op === 'write';
}
function family(op: Op): 'pread' | 'pwrite' | 'read' | 'write' | 'other' {
  switch (op) {
    case 'pread64': return 'pread';
    case 'pwrite64': return 'pwrite';
    case 'read': return 'read';
    case 'write': return 'write';
    case 'ioctl':
    case 'openat':
    case 'close':
      return 'other';
  }
}

/** The first min(count, 8) bytes of the buffer from the smallest fetch arg that holds them. */
function valueOf(b: Buffer, s: number, vals: readonly FieldFormat[], count: number): bigint | undefined {
  const n = Math.min(count, 8);
  if (n <= 0) return undefined;
  const f = vals.find((x) => x.size >= n);
  const v = readBig(b, s, f);
  if (v === undefined) return undefined;
  return n === 8 ? v : v & ((1n << BigInt(8 * n)) - 1n);
}

export interface RecordMapper extends EventVisitor {
  /** End of input: emit calls whose exit never came, flush counts. */
  end(): void;
}

export function createRecordMapper(meta: TraceDatMeta, sink: ParserSink, file: string): RecordMapper {
  const roles: (Role | undefined)[] = new Array<Role | undefined>(0x10000);
  for (const [id, f] of meta.formats) roles[id] = roleOf(f);
  const calls = new TidSlots<Call>();
  const uprobes = new TidSlots<UprobeCall>();
  let skipped = 0;

  const comm = (tid: number): string | undefined => meta.cmdlines.get(tid);
  // Each record cites its own place (issue 14: every finding pointed at one offset, its
  // compressed chunk's): the file offset of the record, or for compressed data (v7 zlib,
  // zstd) the chunk's file offset plus the record's offset in the decompressed chunk; and
  // the CPU whose buffer held it.
  const srcOf = (c: Cursor): Source =>
    c.compressed ? { file, byteOffset: c.fileOffset, chunkOffset: c.inChunk, cpu: c.cpu } : { file, byteOffset: c.fileOffset, chunkOffset: undefined, cpu: c.cpu };
  const bigTs = (c: Cursor): bigint => (typeof c.ts === 'bigint' ? c.ts : BigInt(c.ts));
  /**
   * Time of the last event visited (the merge's front): where a problem reported now sits
   * on the trace clock (InputProblem.tsNs). Kept raw; converted only for a problem.
   */
  let lastTs: number | bigint | undefined;
  const near = (): { tsNs?: bigint } => (lastTs === undefined ? {} : { tsNs: typeof lastTs === 'bigint' ? lastTs : BigInt(lastTs) });

  // Object literals with every field spelled out (no spreads): V8 keeps them in fast
  // shapes, which matters at millions of records.
  function emit(call: Call, ret: number | undefined, value: bigint | undefined): void {
    const c = comm(call.tid);
    switch (call.op) {
      case 'pread64':
      case 'pwrite64':
      case 'read':
      case 'write': {
        const fam = family(call.op);
        if (fam === 'other') return;
        sink.record({
          kind: 'access', tsNs: call.tsNs, pid: undefined, tid: call.tid, comm: c, cpu: call.cpu, src: call.src,
          op: fam, fd: call.fd, offset: call.pos, size: call.count, value, ret,
        });
        return;
      }
      case 'ioctl':
        sink.record({
          kind: 'ioctl', tsNs: call.tsNs, pid: undefined, tid: call.tid, comm: c, cpu: call.cpu, src: call.src,
          fd: call.fd, cmd: call.cmd, arg: call.arg, ret, argWords: [],
        });
        return;
      case 'openat':
        if (ret === undefined || ret < 0) {
          skipped++;
          return;
        }
        // The path is only known when the kernel stored the string (__filename_val);
        // otherwise '' (never guessed).
        sink.record({
          kind: 'fd-open', tsNs: call.tsNs, pid: undefined, tid: call.tid, comm: c, cpu: call.cpu, src: call.src,
          fd: ret, via: 'openat', name: call.filename, parentFd: undefined,
        });
        return;
      case 'close':
        sink.record({
          kind: 'fd-close', tsNs: call.tsNs, pid: undefined, tid: call.tid, comm: c, cpu: call.cpu, src: call.src,
          fd: call.fd, ret,
        });
        return;
    }
  }

  function readCall(c: Cursor, op: Op, a: Args): Call {
    const b = c.buf;
    const s = c.recStart;
    let filename = '';
    if (a.filename !== undefined) {
      const f = a.filename;
      if (f.kind === 'data-loc' || f.kind === 'rel-loc' || f.kind === 'fixed-string' || f.kind === 'tail-string') {
        const end = s + c.recLen;
        let from = s + f.offset;
        let to = from + f.size;
        if (f.kind === 'data-loc' || f.kind === 'rel-loc') {
          const v = b.readUInt32LE(from);
          from = s + (v & 0xffff) + (f.kind === 'rel-loc' ? f.offset + 4 : 0);
          to = from + (v >>> 16);
        } else if (f.kind === 'tail-string') to = end;
        if (to <= end) {
          const nul = b.indexOf(0, from);
          filename = b.toString('utf8', from, nul >= 0 && nul < to ? nul : to);
        }
      }
    }
    return {
      op,
      fd: readFd(b, s, a.fd),
      count: readUnsigned(b, s, a.count),
      pos: readBig(b, s, a.pos),
      // ioctl's cmd is an unsigned int: the low 32 bits of the stored long.
      cmd: a.cmd === undefined ? 0 : a.cmd.size >= 4 ? b.readUInt32LE(s + a.cmd.offset) : readUnsigned(b, s, a.cmd),
      arg: readBig(b, s, a.arg),
      filename,
      tsNs: bigTs(c),
      tid: b.readInt32LE(s + 4),
      cpu: c.cpu,
      src: srcOf(c),
    };
  }

  function matches(u: UprobeCall, call: Call): boolean {
    return !u.consumed && u.op === call.op && u.fd === call.fd && u.count === call.count && (u.pos === undefined || call.pos === undefined || u.pos === call.pos);
  }

  const mapper: RecordMapper = {
    problem(byteOffset, message) {
      sink.malformed({ src: { file, byteOffset }, message, ...near() });
    },
    lost(c) {
      lastTs = c.ts;
      sink.record({
        kind: 'lost-events',
        count: c.lostCount,
        tsNs: bigTs(c),
        pid: undefined,
        tid: undefined,
        comm: undefined,
        cpu: c.cpu,
        src: srcOf(c),
      });
    },
    event(c, fmt) {
      lastTs = c.ts;
      const role = roles[fmt.id] ?? SKIP;
      if (role.kind === 'skip') {
        skipped++;
        return;
      }
      if (c.recLen < role.minLength) {
        sink.malformed({
          src: srcOf(c),
          message: `${fmt.system}:${fmt.name} record of ${c.recLen} bytes is shorter than its format (${role.minLength}); skipped`,
          ...near(),
        });
        return;
      }
      const b = c.buf;
      const s = c.recStart;
      const tid = b.readInt32LE(s + 4);
      switch (role.kind) {
        case 'print': {
          const f = role.buf;
          const end = s + c.recLen;
          let from = s + f.offset;
          let to = f.kind === 'fixed-string' ? from + f.size : end;
          if (f.kind === 'data-loc' || f.kind === 'rel-loc') {
            const v = b.readUInt32LE(from);
            from = s + (v & 0xffff) + (f.kind === 'rel-loc' ? f.offset + 4 : 0);
            to = from + (v >>> 16);
          }
          if (from > end || to > end) {
            sink.malformed({ src: srcOf(c), message: `ftrace:print text lies outside its record; skipped`, ...near() });
            return;
          }
          const nul = b.indexOf(0, from);
          let text = b.toString('utf8', from, nul >= 0 && nul < to ? nul : to);
          if (text.endsWith('\n')) text = text.slice(0, -1);
          // migscope's own clock-sync marker (capture/ftrace.ts) becomes a clock-sync record.
          sink.record(clockSyncOrMarker({ kind: 'marker', text, tsNs: bigTs(c), pid: undefined, tid, comm: comm(tid), cpu: c.cpu, src: srcOf(c) }));
          return;
        }
        case 'enter': {
          const prev = calls.get(tid);
          if (prev !== undefined) emit(prev, undefined, undefined); // its exit was never seen
          calls.set(tid, readCall(c, role.op, role.args));
          return;
        }
        case 'exit': {
          const call = calls.get(tid);
          if (call === undefined || call.op !== role.op) {
            skipped++; // an exit without its entry carries no arguments
            return;
          }
          calls.delete(tid);
          const ret = readSigned(b, s, role.ret);
          let value: bigint | undefined;
          const u = uprobes.get(tid);
          if (u !== undefined && matches(u, call)) {
            u.consumed = true;
            value = u.value;
          }
          emit(call, ret, value);
          return;
        }
        case 'u-entry': {
          const prev = uprobes.get(tid);
          if (prev !== undefined && !prev.consumed) emit(prev, undefined, prev.value);
          const call = readCall(c, role.op, role.args);
          const value = isWrite(role.op) ? valueOf(b, s, role.vals, call.count) : undefined;
          uprobes.set(tid, { ...call, value, consumed: false });
          return;
        }
        case 'u-return': {
          const u = uprobes.get(tid);
          if (u === undefined || u.op !== role.op) {
            skipped++;
            return;
          }
          uprobes.delete(tid);
          if (u.consumed) {
            skipped++;
            return;
          }
          const ret = readSigned(b, s, role.ret);
          emit(u, ret >= 0 ? ret : undefined, u.value);
          return;
        }
      }
    },
    end() {
      for (const call of calls.values()) emit(call, undefined, undefined);
      calls.clear();
      for (const u of uprobes.values()) if (!u.consumed) emit(u, undefined, u.value);
      uprobes.clear();
      if (skipped > 0) sink.skipped(skipped);
      skipped = 0;
    },
  };
  return mapper;
}
