// Protocol v2 decoding: VFIO_DEVICE_FEATURE structs from the argument words read at exit,
// data_fd tracking (SET reply → read/write/PRECOPY_INFO → close), device identity through
// GET_DEVICE_FD and the /dev/vfio/devices cdev, and what happens when the words are absent.

import { describe, expect, it } from 'vitest';
import { createDecoder } from '../../src/decode/decoder.js';
import type { ProtocolOp } from '../../src/decode/ops.js';
import { featureArgsProblem } from '../../src/decode/v2-feature.js';
import type { AccessRecord, FdCloseRecord, IoctlRecord, TraceRecord } from '../../src/record/types.js';
import { recordBuilder, REGION } from '../helpers/records.js';

const FEATURE = 0x3b75;
const PRECOPY_INFO = 0x3b79;
const GET = 1 << 16;
const SET = 1 << 17;
const PROBE = 1 << 18;

function decode(records: readonly TraceRecord[]): ProtocolOp[] {
  const ops: ProtocolOp[] = [];
  const d = createDecoder({ onOp: (o) => ops.push(o) });
  for (const r of records) d.record(r);
  d.end();
  return ops;
}

/** Records for v2 calls on top of the shared builder (same clock and line counter). */
function v2Builder() {
  const b = recordBuilder();
  const w0 = (argsz: number, flags: number): bigint => BigInt(argsz) | (BigInt(flags >>> 0) << 32n);
  const ioctl = (fd: number, cmd: number, ret: number | undefined, words: bigint[]): IoctlRecord => ({ ...b.ioctl(fd, cmd, ret), argWords: words });
  return {
    b,
    feature: (fd: number, argsz: number, flags: number, w1: bigint, ret = 0) => ioctl(fd, FEATURE, ret, [w0(argsz, flags), w1, 0n, 0n]),
    migFlags: (fd: number, flags: number) => ioctl(fd, FEATURE, 0, [w0(16, GET | 1), BigInt(flags), 0n, 0n]),
    set: (fd: number, state: number, dataFd: number, ret = 0) => ioctl(fd, FEATURE, ret, [w0(16, SET | 2), BigInt(state) | (BigInt(dataFd >>> 0) << 32n), 0n, 0n]),
    get: (fd: number, state: number) => ioctl(fd, FEATURE, 0, [w0(16, GET | 2), BigInt(state) | (0xffffffffn << 32n), 0n, 0n]),
    dataSize: (fd: number, n: bigint) => ioctl(fd, FEATURE, 0, [w0(16, GET | 9), n, 0n, 0n]),
    precopy: (fd: number, initial: bigint, dirty: bigint, ret = 0) => ioctl(fd, PRECOPY_INFO, ret, [w0(24, 0), initial, dirty, 0n]),
    unseen: (fd: number, ret = 0) => ioctl(fd, FEATURE, ret, []),
    read: (fd: number, size: number, ret: number): AccessRecord => ({ ...b.pread(fd, 0n, size, undefined, ret), op: 'read', offset: undefined }),
    write: (fd: number, size: number, ret: number): AccessRecord => ({ ...b.pwrite(fd, 0n, size, undefined, ret), op: 'write', offset: undefined }),
    close: (fd: number): FdCloseRecord => {
      const o = b.open(fd, 'x');
      return { tsNs: o.tsNs, pid: o.pid, tid: o.tid, comm: o.comm, cpu: o.cpu, src: o.src, kind: 'fd-close', fd, ret: 0 };
    },
  };
}

describe('decoder v2: VFIO_DEVICE_FEATURE from argument words', () => {
  it('decodes MIGRATION GET, SET with data_fd, data traffic, PRECOPY_INFO and the data fd close', () => {
    const v = v2Builder();
    const ops = decode([
      v.b.open(7, '0000:65:00.1'),
      v.migFlags(7, 7),
      v.dataSize(7, 0x3000n),
      v.set(7, 6, 12), // RUNNING → PRE_COPY, data_fd 12
      v.precopy(12, 0x6000n, 0x100n),
      v.read(12, 0x100000, 0x2000),
      v.set(7, 3, -1), // → STOP_COPY, same session
      v.read(12, 0x100000, 0),
      v.close(12),
      v.read(12, 16, 16), // fd 12 is not a data fd any more
    ]);
    expect(ops.map((o) => o.op)).toEqual(['open', 'v2-mig-flags', 'v2-data-size', 'v2-set-state', 'v2-precopy-info', 'v2-data', 'v2-set-state', 'v2-data', 'v2-data-close']);
    const [, flags, size, set1, info, read1, set2, eof, close] = ops;
    expect(flags?.op === 'v2-mig-flags' && flags.migFlags).toBe(7);
    expect(size?.op === 'v2-data-size' && size.stopCopyLength).toBe(0x3000n);
    expect(set1?.op === 'v2-set-state' && [set1.requested, set1.dataFd, set1.session, set1.call.argsz]).toEqual([6, 12, 1, 16]);
    expect(info?.op === 'v2-precopy-info' && [info.initialBytes, info.dirtyBytes, info.session, info.device.id]).toEqual([0x6000n, 0x100n, 1, '0000:65:00.1']);
    expect(read1?.op === 'v2-data' && [read1.write, read1.size, read1.result.ret, read1.dataFd]).toEqual([false, 0x100000, 0x2000, 12]);
    expect(set2?.op === 'v2-set-state' && [set2.requested, set2.dataFd, set2.session]).toEqual([3, -1, undefined]);
    expect(eof?.op === 'v2-data' && eof.result).toEqual({ ok: true, ret: 0, errno: undefined });
    expect(close?.op === 'v2-data-close' && close.session).toBe(1);
  });

  it('numbers data sessions per device and ties writes to the resuming fd', () => {
    const v = v2Builder();
    const ops = decode([v.b.open(7, 'dev'), v.set(7, 3, 12), v.close(12), v.set(7, 4, 12), v.write(12, 0x1000, 0x1000)]);
    const sets = ops.filter((o) => o.op === 'v2-set-state');
    expect(sets.map((o) => (o.op === 'v2-set-state' ? o.session : 0))).toEqual([1, 2]);
    const w = ops.at(-1);
    expect(w?.op === 'v2-data' && [w.write, w.session]).toEqual([true, 2]);
  });

  it('decodes GET MIG_DEVICE_STATE and a failed SET (no data session)', () => {
    const v = v2Builder();
    const ops = decode([v.b.open(7, 'dev'), v.get(7, 2), v.set(7, 5, -1, -22), v.read(12, 8, 8)]);
    expect(ops.map((o) => o.op)).toEqual(['open', 'v2-get-state', 'v2-set-state']);
    expect(ops[1]?.op === 'v2-get-state' && [ops[1].state, ops[1].dataFd]).toEqual([2, -1]);
    const s = ops[2];
    expect(s?.op === 'v2-set-state' && [s.requested, s.session, s.result.errno]).toEqual([5, undefined, 22]);
  });

  it('keeps malformed calls and PROBEs generic, with their header', () => {
    const v = v2Builder();
    const ops = decode([v.b.open(7, 'dev'), v.feature(7, 4, SET | 2, 3n, -22), v.feature(7, 8, PROBE | SET | 2, 0n), v.feature(7, 16, GET | SET | 2, 3n, -22)]);
    expect(ops.map((o) => o.op)).toEqual(['open', 'v2-feature', 'v2-feature', 'v2-feature']);
    expect(ops[1]?.op === 'v2-feature' && ops[1].call).toEqual({ argsz: 4, flags: SET | 2 });
  });

  it('without argument words (ftrace), a FEATURE call carries no values and no data fd is known', () => {
    const v = v2Builder();
    const ops = decode([v.b.open(7, 'dev'), v.unseen(7), v.read(12, 8, 8)]);
    expect(ops.map((o) => o.op)).toEqual(['open', 'v2-feature']);
    expect(ops[1]?.op === 'v2-feature' && ops[1].call).toEqual({ argsz: undefined, flags: undefined });
  });

  it('names a device from a /dev/vfio/devices cdev open', () => {
    const v = v2Builder();
    const ops = decode([v.b.open(9, '/dev/vfio/devices/vfio3', 'openat'), v.migFlags(9, 1)]);
    expect(ops.map((o) => (o.op === 'gap' ? '' : `${o.op}:${o.device.id}`))).toEqual(['open:vfio3', 'v2-mig-flags:vfio3']);
  });

  it('promotes an unknown fd on a device FEATURE call, not on a container DIRTY_PAGES call', () => {
    const v = v2Builder();
    // DIRTY_PAGES: flags START (1), no GET/SET/PROBE bits
    expect(decode([v.feature(4, 16, 1, 0n)]).map((o) => o.op)).toEqual([]);
    const ops = decode([v.migFlags(5, 3)]);
    expect(ops.map((o) => (o.op === 'gap' ? '' : `${o.op}:${o.device.id}`))).toEqual(['v2-mig-flags:100:5']);
  });

  it('reports a v2 device\'s BAR/config accesses and never infers a v1 region for it', () => {
    const v = v2Builder();
    const cfg = 7n << 40n;
    const ops = decode([v.b.open(7, 'dev'), v.b.pread(7, cfg, 4, 0x10de1234n), v.migFlags(7, 1), v.b.pwrite(7, 0n, 4, 1n), v.b.pread(7, REGION, 4, 1n)]);
    expect(ops.map((o) => o.op)).toEqual(['open', 'v2-mig-flags', 'v2-device-access', 'v2-device-access']);
    expect(ops[2]?.op === 'v2-device-access' && [ops[2].regionIndex, ops[2].write]).toEqual([0, true]);
    expect(ops[3]?.op === 'v2-device-access' && ops[3].regionIndex).toBe(9);
  });

  it('ignores 0x3b79 on an fd that is not a data fd (VFIO_EEH_PE_OP there)', () => {
    const v = v2Builder();
    expect(decode([v.b.open(7, 'dev'), v.precopy(7, 1n, 1n)]).map((o) => o.op)).toEqual(['open']);
  });

  it('forgets a data fd whose number an openat reuses', () => {
    const v = v2Builder();
    const ops = decode([v.b.open(7, 'dev'), v.set(7, 3, 12), v.b.open(12, '/etc/passwd', 'openat'), v.read(12, 8, 8)]);
    expect(ops.map((o) => o.op)).toEqual(['open', 'v2-set-state']);
  });

  it('decodes a v1 device and a v2 device of one process side by side', () => {
    const v = v2Builder();
    const ops = decode([v.b.open(7, 'v1dev'), v.b.regionInfo(7), v.b.open(8, 'v2dev'), v.migFlags(8, 3), ...v.b.rmw(7, 1, 3), v.set(8, 5, -1)]);
    expect(ops.map((o) => (o.op === 'gap' ? '' : `${o.op}:${o.device.id}`))).toEqual([
      'open:v1dev',
      'region:v1dev',
      'open:v2dev',
      'v2-mig-flags:v2dev',
      'v1-state-read:v1dev',
      'v1-state-write:v1dev',
      'v2-set-state:v2dev',
    ]);
  });
});

describe('featureArgsProblem (spec §5.2 core checks)', () => {
  it('finds each malformed header and accepts the calls QEMU makes', () => {
    expect(featureArgsProblem({ argsz: 4, flags: SET | 2 })).toMatch(/smaller than the 8-byte header/);
    expect(featureArgsProblem({ argsz: 16, flags: SET | 2 | (1 << 20) })).toMatch(/unknown flag bits 0x100000/);
    expect(featureArgsProblem({ argsz: 16, flags: GET | SET | 2 })).toMatch(/GET and SET/);
    expect(featureArgsProblem({ argsz: 12, flags: SET | 2 })).toMatch(/leaves 4 bytes/);
    expect(featureArgsProblem({ argsz: 16, flags: SET | 1 })).toMatch(/SET is not supported/);
    expect(featureArgsProblem({ argsz: 16, flags: 2 })).toMatch(/neither GET nor SET/);
    for (const ok of [
      { argsz: 16, flags: GET | 1 },
      { argsz: 16, flags: SET | 2 },
      { argsz: 16, flags: GET | 2 },
      { argsz: 16, flags: GET | 9 },
      { argsz: 8, flags: PROBE | 6 },
      { argsz: 8, flags: PROBE | GET | SET | 2 },
      { argsz: undefined, flags: undefined },
    ]) {
      expect(featureArgsProblem(ok), JSON.stringify(ok)).toBeUndefined();
    }
  });
});
