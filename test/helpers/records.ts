// Concise builders of TraceRecords for unit tests: each call advances a fake clock by 1 µs
// and a line counter, so evidence lines are predictable.

import type { AccessRecord, FdOpenRecord, IoctlRecord, LostEventsRecord, MarkerRecord, RegionInfoRecord, TraceRecord } from '../../src/record/types.js';

export const REGION = 9n << 40n;

export function recordBuilder(file = 't.trace', pid = 100) {
  let line = 0;
  let ts = 1_000_000_000n;
  const base = () => {
    line++;
    ts += 1000n;
    return { tsNs: ts, pid, tid: pid + 1, comm: 'qemu', cpu: 0, src: { file, line } };
  };
  return {
    open(fd: number, name: string, via: FdOpenRecord['via'] = 'group-get-device-fd'): FdOpenRecord {
      return { ...base(), kind: 'fd-open', fd, via, name, parentFd: via === 'group-get-device-fd' ? 3 : undefined };
    },
    /** cap 'none': a reply without a TYPE capability. */
    regionInfo(fd: number, offset = REGION, size = 0x100000n, cap: { type: number; subtype: number } | 'none' = { type: 3, subtype: 1 }): RegionInfoRecord {
      const capType = cap === 'none' ? undefined : cap.type;
      const capSubtype = cap === 'none' ? undefined : cap.subtype;
      return { ...base(), kind: 'region-info', fd, index: Number(offset >> 40n), flags: 0xb, offset, size, capType, capSubtype, ret: 0 };
    },
    /** ret 'no-exit': the tracer saw the entry but not the exit. */
    pread(fd: number, offset: bigint, size: number, value: bigint | undefined, ret: number | 'no-exit' = size): AccessRecord {
      return { ...base(), kind: 'access', op: 'pread', fd, offset, size, value, ret: ret === 'no-exit' ? undefined : ret };
    },
    pwrite(fd: number, offset: bigint, size: number, value: bigint | undefined, ret: number | 'no-exit' = size): AccessRecord {
      return { ...base(), kind: 'access', op: 'pwrite', fd, offset, size, value, ret: ret === 'no-exit' ? undefined : ret };
    },
    ioctl(fd: number, cmd: number, ret: number | undefined = 0): IoctlRecord {
      return { ...base(), kind: 'ioctl', fd, cmd, arg: 0x7ffd0000n, ret, argWords: [] };
    },
    marker(text: string): MarkerRecord {
      return { ...base(), kind: 'marker', text };
    },
    lost(count: number | undefined): LostEventsRecord {
      return { ...base(), kind: 'lost-events', count };
    },
    /** A v1 state change as QEMU does it: read-modify-write of device_state. */
    rmw(fd: number, from: number, to: number, writeRet = 4): TraceRecord[] {
      return [this.pread(fd, REGION, 4, BigInt(from)), this.pwrite(fd, REGION, 4, BigInt(to), writeRet)];
    },
    /** One save iteration: pending, data_offset, data_size, data read. */
    saveIteration(fd: number, pending: bigint, size: number): TraceRecord[] {
      return [
        this.pread(fd, REGION + 8n, 8, pending),
        this.pread(fd, REGION + 16n, 8, 0x1000n),
        this.pread(fd, REGION + 24n, 8, BigInt(size)),
        this.pread(fd, REGION + 0x1000n, size, 0x3047494d4f494656n),
      ];
    },
  };
}
