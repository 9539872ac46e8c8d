// Builder for protocol-v2 op sequences (decode/ops.ts V2Op plus the shared ops), in the
// style of ops-builder.ts: every op gets the next line of its file and tsNs = line µs, and
// every call returns that line so tests can assert evidence.

import type { DeviceOp, DeviceRef, OpResult, ProtocolOp, V2FeatureCall, V2Op } from '../../src/decode/ops.js';

export interface Res {
  readonly errno?: number;
  readonly unknown?: boolean;
  readonly ret?: number;
}

function result(r: Res | undefined, ok = 0): OpResult {
  if (r?.unknown) return { ok: undefined, ret: undefined, errno: undefined };
  if (r?.errno !== undefined) return { ok: false, ret: -r.errno, errno: r.errno };
  return { ok: true, ret: r?.ret ?? ok, errno: undefined };
}

const GET = 1 << 16;
const SET = 1 << 17;
const call = (flags: number, argsz = 16): V2FeatureCall => ({ argsz, flags });

export const S = { ERROR: 0, STOP: 1, RUNNING: 2, STOP_COPY: 3, RESUMING: 4, RUNNING_P2P: 5, PRE_COPY: 6, PRE_COPY_P2P: 7 } as const;
export const F = { STOP_COPY: 1, P2P: 2, PRE_COPY: 4, ALL: 7 } as const;

export interface V2Dev {
  readonly ref: DeviceRef;
  open(): number;
  close(): number;
  reset(r?: Res): number;
  qemu(event: string, args: Readonly<Record<string, bigint | string>>): number;
  flags(f: number, r?: Res): number;
  /** SET; `dataFd` defaults to a new fd (100 + session) when the request starts a session is up to the test. */
  set(state: number, o?: { dataFd?: number | undefined; session?: number; res?: Res; argsz?: number; flags?: number }): number;
  get(state: number | undefined, o?: { dataFd?: number; res?: Res }): number;
  dataSize(n: bigint): number;
  /** A FEATURE call whose struct the tracer did not see. */
  unseen(r?: Res): number;
  feature(c: V2FeatureCall, r?: Res): number;
  read(session: number, ret: number | Res, size?: number): number;
  write(session: number, ret: number | Res, size?: number): number;
  precopy(session: number, initial: bigint | undefined, dirty: bigint | undefined, o?: { res?: Res; flags?: number }): number;
  closeData(session: number): number;
  access(regionIndex: number, write?: boolean): number;
}

export interface V2Trace {
  readonly file: string;
  readonly ops: ProtocolOp[];
  device(id: string, o?: { pid?: number | undefined; fd?: number; naming?: DeviceRef['naming'] }): V2Dev;
  gap(count?: number): number;
  /** Advance the clock by this many µs without an op. */
  wait(us: number): void;
}

export function v2Trace(file = 'v2.trace', ops: ProtocolOp[] = []): V2Trace {
  let line = 0;
  let extraUs = 0n;
  const next = () => {
    line += 1;
    return { src: { file, line }, tsNs: (BigInt(line) + extraUs) * 1000n, tid: 1, comm: 'qemu-system-x86' };
  };
  return {
    file,
    ops,
    wait(us) {
      extraUs += BigInt(us);
    },
    gap(count = 10) {
      const n = next();
      ops.push({ op: 'gap', tsNs: n.tsNs, count, src: n.src });
      return n.src.line;
    },
    device(id, o = {}) {
      const ref: DeviceRef = { id, pid: 'pid' in o ? o.pid : 100, fd: o.fd ?? 5, naming: o.naming ?? 'group-get-device-fd' };
      const push = (op: DeviceOp | V2Op): number => {
        ops.push(op);
        return op.src.line ?? 0;
      };
      const base = () => ({ device: ref, ...next() });
      const fdOf = (session: number) => 100 + session;
      const data = (session: number, write: boolean, ret: number | Res, size?: number): number => {
        const res = typeof ret === 'number' ? result(undefined, ret) : result(ret, size ?? 0);
        return push({ op: 'v2-data', ...base(), dataFd: fdOf(session), session, write, size: size ?? (typeof ret === 'number' ? Math.max(ret, 1) : 0x100000), result: res });
      };
      return {
        ref,
        open: () => push({ op: 'open', ...base() }),
        close: () => push({ op: 'close', ...base() }),
        reset: (r) => push({ op: 'reset', ...base(), result: result(r) }),
        qemu: (event, args) => push({ op: 'qemu', ...base(), event, args }),
        flags: (f, r) => push({ op: 'v2-mig-flags', ...base(), call: call(GET | 1), migFlags: r?.errno === undefined ? f : undefined, result: result(r) }),
        set: (state, o = {}) => {
          const res = result(o.res);
          const session = o.session;
          const dataFd = 'dataFd' in o ? o.dataFd : session !== undefined ? fdOf(session) : -1;
          return push({ op: 'v2-set-state', ...base(), call: call(o.flags ?? SET | 2, o.argsz ?? 16), requested: state, dataFd: res.ok === undefined ? undefined : dataFd, session: res.ok === true ? session : undefined, result: res });
        },
        get: (state, o = {}) => {
          const res = result(o.res);
          return push({ op: 'v2-get-state', ...base(), call: call(GET | 2), state: res.ok === true ? state : undefined, dataFd: res.ok === true ? (o.dataFd ?? -1) : undefined, result: res });
        },
        dataSize: (n) => push({ op: 'v2-data-size', ...base(), call: call(GET | 9), stopCopyLength: n, result: result(undefined) }),
        unseen: (r) => push({ op: 'v2-feature', ...base(), call: { argsz: undefined, flags: undefined }, result: result(r) }),
        feature: (c, r) => push({ op: 'v2-feature', ...base(), call: c, result: result(r) }),
        read: (session, ret, size) => data(session, false, ret, size),
        write: (session, ret, size) => data(session, true, ret, size),
        precopy: (session, initial, dirty, o = {}) => {
          const res = result(o.res);
          return push({ op: 'v2-precopy-info', ...base(), dataFd: fdOf(session), session, argsz: 24, flags: o.flags ?? 0, initialBytes: res.ok === true ? initial : undefined, dirtyBytes: res.ok === true ? dirty : undefined, result: res });
        },
        closeData: (session) => push({ op: 'v2-data-close', ...base(), dataFd: fdOf(session), session }),
        access: (regionIndex, write = false) => push({ op: 'v2-device-access', ...base(), write, offset: BigInt(regionIndex) << 40n, regionIndex, size: 4, result: result(undefined, 4) }),
      };
    },
  };
}

/** A clean QEMU-style save with PRE_COPY and P2P (spec §5.6 source). Returns the device. */
export function cleanSave(t: V2Trace, id = 'src0', flags: number = F.ALL): V2Dev {
  const d = t.device(id);
  d.open();
  d.flags(flags);
  d.dataSize(0x3000n);
  d.set(S.PRE_COPY, { session: 1 });
  d.precopy(1, 0x4000n, 0n);
  d.read(1, 0x2000);
  d.precopy(1, 0x2000n, 0x100n);
  d.read(1, 0x2000);
  d.read(1, { errno: 42 });
  d.set(S.PRE_COPY_P2P);
  d.set(S.STOP_COPY);
  d.read(1, 0x2000);
  d.read(1, 0x1000);
  d.read(1, 0);
  d.set(S.STOP);
  d.closeData(1);
  return d;
}

/** A clean QEMU-style resume with P2P (spec §5.6 destination). */
export function cleanResume(t: V2Trace, id = 'dst0', flags: number = F.ALL, bytes = [0x2000, 0x2000, 0x2000, 0x1000]): V2Dev {
  const d = t.device(id);
  d.open();
  d.flags(flags);
  d.set(S.RESUMING, { session: 1 });
  for (const n of bytes) d.write(1, n);
  d.set(S.RUNNING_P2P);
  d.closeData(1);
  d.set(S.RUNNING);
  return d;
}
