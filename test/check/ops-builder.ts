// A tiny builder for ProtocolOp sequences, so that rule tests read like the traces they
// stand for. Every op gets the next line of its trace's file (and tsNs = line µs), and
// every builder call returns that line, so tests can assert the evidence lines.

import type { DeviceRef, DeviceOp, OpResult, ProtocolOp } from '../../src/decode/ops.js';
import { checkOps, type CheckerOptions } from '../../src/check/index.js';
import type { Finding } from '../../src/check/types.js';
import type { V1Field } from '../../src/protocol/v1.js';

/** How a syscall ended: default success; `errno` fails it; `unknown` hides the exit. */
export interface Res {
  readonly errno?: number;
  readonly unknown?: boolean;
  /** Return value on success (defaults to the full size). */
  readonly ret?: number;
}

export const EINVAL = 22;
export const EIO = 5;
export const EAGAIN = 11;

function result(r: Res | undefined, fullSize: number): OpResult {
  if (r?.unknown) return { ok: undefined, ret: undefined, errno: undefined };
  if (r?.errno !== undefined) return { ok: false, ret: -r.errno, errno: r.errno };
  return { ok: true, ret: r?.ret ?? fullSize, errno: undefined };
}

export interface Dev {
  readonly ref: DeviceRef;
  open(): number;
  close(): number;
  region(o?: { size?: bigint | undefined; offset?: bigint; index?: number; source?: 'region-info' | 'flag' | 'inferred' | 'qemu'; capType?: number; capSubtype?: number }): number;
  /** device_state read; `undefined` value = the tracer did not see the buffer. */
  read(value: number | undefined, r?: Res): number;
  write(value: number | undefined, r?: Res): number;
  field(field: Exclude<V1Field, 'device_state'>, write: boolean, value: bigint | undefined, r?: Res): number;
  pending(value: bigint | undefined, r?: Res): number;
  dataOffset(value: bigint | undefined, r?: Res): number;
  dataSize(value: bigint | undefined, r?: Res): number;
  dataSizeWrite(value: bigint | undefined, r?: Res): number;
  data(write: boolean, regionOffset: bigint, size: number, r?: Res): number;
  bad(write: boolean, regionOffset: number, size: number, fields: readonly V1Field[], r?: Res): number;
  reset(r?: Res): number;
  qemu(event: string, args: Readonly<Record<string, bigint | string>>): number;
  /** A RUNNING → PRE_COPY → … state change as QEMU does it: read the old value, write the new. */
  set(from: number, to: number, r?: Res): number;
}

export interface Trace {
  readonly file: string;
  readonly ops: ProtocolOp[];
  /** `tid`: the thread of every op of the device (1 unless given). */
  device(id: string, o?: { pid?: number | undefined; fd?: number; naming?: DeviceRef['naming']; tid?: number }): Dev;
  /** Lost events at this point. */
  gap(count?: number): number;
}

export function trace(file = 'trace.txt', ops: ProtocolOp[] = []): Trace {
  let line = 0;
  const next = (): { src: { file: string; line: number }; tsNs: bigint; tid: number; comm: string } => {
    line += 1;
    return { src: { file, line }, tsNs: BigInt(line) * 1000n, tid: 1, comm: 'qemu-system-x86' };
  };
  return {
    file,
    ops,
    gap(count = 10): number {
      const n = next();
      ops.push({ op: 'gap', tsNs: n.tsNs, count, src: n.src });
      return n.src.line;
    },
    device(id, o = {}): Dev {
      const ref: DeviceRef = { id, pid: 'pid' in o ? o.pid : 100, fd: o.fd ?? 5, naming: o.naming ?? 'group-get-device-fd' };
      const push = (op: DeviceOp): number => {
        ops.push(op);
        return op.src.line ?? 0;
      };
      const base = () => ({ device: ref, ...next(), ...(o.tid !== undefined ? { tid: o.tid } : {}) });
      const dev: Dev = {
        ref,
        open: () => push({ op: 'open', ...base() }),
        close: () => push({ op: 'close', ...base() }),
        region: (r = {}) =>
          push({
            op: 'region',
            ...base(),
            index: r.index ?? 9,
            offset: r.offset ?? 0x90000000000n,
            size: 'size' in r ? r.size : 0x100000n,
            source: r.source ?? 'region-info',
            evidence: 'test',
            capType: r.capType ?? 3,
            capSubtype: r.capSubtype ?? 1,
          }),
        read: (value, r) => {
          const res = result(r, 4);
          return push({ op: 'v1-state-read', ...base(), value: res.ok === true ? value : undefined, result: res });
        },
        write: (value, r) => push({ op: 'v1-state-write', ...base(), value, result: result(r, 4) }),
        field: (field, write, value, r) => {
          const res = result(r, field === 'reserved' ? 4 : 8);
          return push({ op: 'v1-field', ...base(), field, write, value: write || res.ok === true ? value : undefined, result: res });
        },
        pending: (v, r) => dev.field('pending_bytes', false, v, r),
        dataOffset: (v, r) => dev.field('data_offset', false, v, r),
        dataSize: (v, r) => dev.field('data_size', false, v, r),
        dataSizeWrite: (v, r) => dev.field('data_size', true, v, r),
        data: (write, regionOffset, size, r) => push({ op: 'v1-data', ...base(), write, regionOffset, size, result: result(r, size) }),
        bad: (write, regionOffset, size, fields, r) =>
          push({ op: 'v1-bad-access', ...base(), write, regionOffset, size, fields, value: undefined, result: result(r, size) }),
        reset: (r) => push({ op: 'reset', ...base(), result: result(r, 0) }),
        qemu: (event, args) => push({ op: 'qemu', ...base(), event, args }),
        set: (from, to, r) => {
          dev.read(from);
          return dev.write(to, r);
        },
      };
      return dev;
    },
  };
}

/** Run the checker over ops and return every finding. */
export function check(ops: readonly ProtocolOp[], opts: Omit<CheckerOptions, 'onFinding'> = {}): Finding[] {
  return checkOps(ops, opts);
}

export function only(findings: readonly Finding[], rule: string): Finding[] {
  return findings.filter((f) => f.rule === rule);
}

/** The lines of a finding's evidence, for compact assertions. */
export function lines(f: Finding | undefined): (number | undefined)[] {
  return f === undefined ? [] : f.evidence.map((e) => e.src.line);
}
