import { describe, expect, it } from 'vitest';
import { createDecoder } from '../../src/decode/decoder.js';
import type { ProtocolOp } from '../../src/decode/ops.js';
import type { TraceRecord } from '../../src/record/types.js';
import { recordBuilder, REGION } from '../helpers/records.js';

function decode(records: readonly TraceRecord[], opts: Partial<Parameters<typeof createDecoder>[0]> = {}): ProtocolOp[] {
  const ops: ProtocolOp[] = [];
  const d = createDecoder({ ...opts, onOp: (o) => ops.push(o) });
  for (const r of records) d.record(r);
  d.end();
  return ops;
}

describe('decoder: a process that is gone (host mode)', () => {
  it('closes its devices at its exit, and a new process under the same pid starts afresh', () => {
    const b = recordBuilder();
    const exit = (pid: number): TraceRecord => ({ kind: 'process-exit', pid, why: 'exit', tsNs: 999n, tid: pid, comm: undefined, cpu: undefined, src: { file: 't.trace', line: 50 } });
    const ops = decode([b.open(7, '0000:65:00.0'), b.regionInfo(7), exit(100), b.pread(7, REGION, 4, 1n)]);
    // the device's close, then the process's end (behind it: whoever drops the process's devices has seen all their ops)
    expect(ops.map((o) => o.op)).toEqual(['open', 'region', 'close', 'process-exit']);
    const close = ops[2];
    expect(close?.op === 'close' && close.device.id).toBe('0000:65:00.0');
    const gone = ops[3];
    expect(gone?.op === 'process-exit' && [gone.pid, gone.why, gone.src.line]).toEqual([100, 'exit', 50]);
    // the later pread on fd 7 of pid 100 is another program's fd: not the device
  });
  it("leaves other processes' devices open", () => {
    const a = recordBuilder('t.trace', 100);
    const c = recordBuilder('t.trace', 200);
    const exit: TraceRecord = { kind: 'process-exit', pid: 100, why: 'exit', tsNs: 999n, tid: 100, comm: undefined, cpu: undefined, src: { file: 't.trace', line: 50 } };
    const ops = decode([a.open(7, '0000:65:00.0'), c.open(7, '0000:66:00.0'), c.regionInfo(7), exit, ...c.rmw(7, 1, 3)]);
    expect(ops.filter((o) => o.op === 'close').map((o) => (o.op === 'close' ? o.device.id : ''))).toEqual(['0000:65:00.0']);
    expect(ops.filter((o) => o.op === 'v1-state-write').map((o) => (o.op === 'v1-state-write' ? o.device.id : ''))).toEqual(['0000:66:00.0']);
  });
});

describe("decoder: a gone process's per-process state (host mode's memory)", () => {
  const FEATURE = 0x3b75;
  /** A v2 SET of `state` on `fd` whose reply hands out data fd `dataFd` (spec §5.2; the words migscope.bt reads). */
  const v2Set = (b: ReturnType<typeof recordBuilder>, fd: number, state: number, dataFd: number): TraceRecord => ({
    ...b.ioctl(fd, FEATURE, 0),
    argWords: [16n | (BigInt((1 << 17) | 2) << 32n), BigInt(state) | (BigInt(dataFd) << 32n), 0n, 0n],
  });
  /** One VMM's lifetime: an ordinary file, a v1 device (region, a non-migration region's cap, state writes), a v2 device with a data fd. */
  const lifetime = (b: ReturnType<typeof recordBuilder>): TraceRecord[] => [
    b.open(5, '/var/lib/vm/disk.img', 'openat'),
    b.open(7, '0000:65:00.0'),
    b.regionInfo(7),
    b.regionInfo(7, 2n << 40n, 0x1000n, { type: 1, subtype: 7 }),
    ...b.rmw(7, 1, 3),
    b.open(8, '0000:66:00.0'),
    v2Set(b, 8, 3, 20), // STOP_COPY, data fd 20
  ];
  const exit = (pid: number, line: number): TraceRecord => ({ kind: 'process-exit', pid, why: 'exit', tsNs: 9_999_999_999n, tid: pid, comm: undefined, cpu: undefined, src: { file: 't.trace', line } });
  const nonZero = (m: Readonly<Record<string, number>>): string[] => Object.keys(m).filter((k) => (m[k] ?? 0) > 0).sort();

  it("holds a live process's entries and drops every one of a gone process's at its exit", () => {
    const ops: ProtocolOp[] = [];
    const d = createDecoder({ onOp: (o) => ops.push(o) });
    const gone = recordBuilder('t.trace', 100);
    const stays = recordBuilder('t.trace', 200);
    for (const r of lifetime(stays)) d.record(r);
    const oneProcess = { ...d.liveEntries() };
    for (const r of lifetime(gone)) d.record(r);
    // The lifetime fills the per-process maps (else this test would prove nothing)…
    expect(nonZero(d.liveEntries())).toEqual(['dataFds', 'fds', 'lastVfioFdByTid', 'lastVfioTsByFd', 'otherCaps', 'otherPaths', 'sessionSerials', 'v2Devices']);
    expect(d.liveEntries()).not.toEqual(oneProcess);
    // …and its exit leaves exactly what the live process holds.
    d.record(exit(100, 90));
    expect(d.liveEntries()).toEqual(oneProcess);
    d.record(exit(200, 91));
    expect(nonZero(d.liveEntries())).toEqual([]);
    // Over many lifetimes nothing accumulates.
    for (let i = 0; i < 200; i++) {
      const b = recordBuilder('t.trace', 1000 + i);
      for (const r of lifetime(b)) d.record(r);
      d.record(exit(1000 + i, 100 + i));
    }
    expect(nonZero(d.liveEntries())).toEqual([]);
  });

  it('a new process under a reused pid does not inherit the gone one\'s session numbers', () => {
    const b = recordBuilder('t.trace', 100);
    const sessions = (ops: readonly ProtocolOp[]): (number | undefined)[] => ops.flatMap((o) => (o.op === 'v2-set-state' ? [o.session] : []));
    const first = [b.open(8, '0000:66:00.0'), v2Set(b, 8, 3, 20), v2Set(b, 8, 3, 21)];
    const again = [b.open(8, '0000:66:00.0'), v2Set(b, 8, 3, 20)];
    // Two saves in the first process are sessions 1 and 2; the next VMM's first save is 1 again.
    expect(sessions(decode([...first, exit(100, 50), ...again]))).toEqual([1, 2, 1]);
  });
});

describe('decoder: device identity', () => {
  it('names a device opened by a non-VFIO path (a vendor node, the lab\'s FUSE file) by that path', () => {
    const b = recordBuilder();
    const ops = decode([b.open(5, '/srv/vendor/mig0', 'openat'), b.regionInfo(5), b.pread(5, REGION, 4, 1n), b.pwrite(5, REGION, 4, 3n)]);
    const refs = new Set(ops.flatMap((o) => ('device' in o ? [`${o.device.id}|${o.device.naming}`] : [])));
    expect([...refs]).toEqual(['/srv/vendor/mig0|path']);
  });

  it('forgets the path when the fd is closed: a reused fd number is pid:fd again', () => {
    const b = recordBuilder();
    const { cmd: _cmd, ...rest } = b.ioctl(5, 0);
    const close: TraceRecord = { ...rest, kind: 'fd-close', fd: 5, ret: 0 };
    const ops = decode([b.open(5, '/srv/vendor/mig0', 'openat'), close, b.regionInfo(5), b.pread(5, REGION, 4, 1n)]);
    const ids = new Set(ops.flatMap((o) => ('device' in o ? [o.device.id] : [])));
    expect([...ids]).toEqual(['100:5']);
  });

  it('names a device from VFIO_GROUP_GET_DEVICE_FD and finds its region from GET_REGION_INFO', () => {
    const b = recordBuilder();
    const ops = decode([b.open(7, '0000:65:00.0'), b.regionInfo(7), ...b.rmw(7, 1, 3)]);
    expect(ops.map((o) => o.op)).toEqual(['open', 'region', 'v1-state-read', 'v1-state-write']);
    const w = ops[3]!;
    expect(w.op === 'v1-state-write' && w.device.id).toBe('0000:65:00.0');
    expect(w.op === 'v1-state-write' && w.value).toBe(3);
    const r = ops[1]!;
    expect(r.op === 'region' && r.source).toBe('region-info');
    expect(r.op === 'region' && r.offset).toBe(REGION);
  });

  it('names a device from an openat of a /dev/vfio/devices cdev', () => {
    const b = recordBuilder();
    const ops = decode([b.open(9, '/dev/vfio/devices/vfio0', 'openat'), b.regionInfo(9)]);
    expect(ops[0]?.op === 'open' && ops[0].device.id).toBe('vfio0');
  });

  it('uses pid:fd without a name, and --device names override', () => {
    const b = recordBuilder();
    const recs = [b.regionInfo(5), b.pread(5, REGION, 4, 1n)];
    expect(decode(recs).filter((o) => o.op !== 'gap').map((o) => (o.op !== 'gap' ? o.device.id : ''))).toEqual(['100:5', '100:5']);
    const named = decode(recs, { deviceNames: new Map([['100:5', 'gpu0']]) });
    expect(named.every((o) => o.op !== 'gap' && o.device.id === 'gpu0' && o.device.naming === 'flag')).toBe(true);
  });

  it('ignores a region-info reply that is not the migration region', () => {
    const b = recordBuilder();
    const ops = decode([b.open(7, 'dev'), b.regionInfo(7, 0n, 0x1000n, 'none'), b.regionInfo(7, 1n << 40n, 0x1000n, { type: 1, subtype: 1 }), b.pread(7, 0n, 4, 0n)]);
    expect(ops.map((o) => o.op)).toEqual(['open']);
  });

  it('uses --region for a device whose GET_REGION_INFO was not captured', () => {
    const b = recordBuilder();
    const ops = decode([b.pread(5, 0xa0000000000n, 4, 1n)], { regionOffsets: new Map([['100:5', 0xa0000000000n]]) });
    expect(ops.map((o) => o.op)).toEqual(['region', 'v1-state-read']);
    expect(ops[0]?.op === 'region' && ops[0].source).toBe('flag');
  });
});

describe('decoder: region inference from the access pattern', () => {
  it('infers the region from device_state + pending_bytes accesses, cites the lines, and replays held accesses', () => {
    // Region index 1: not a device-specific index, so the RMW alone is not enough; the
    // 8-byte pending_bytes read at +8 confirms the header.
    const b = recordBuilder();
    const base = 1n << 40n;
    const ops = decode([b.pread(5, base, 4, 1n), b.pwrite(5, base, 4, 3n), b.pread(5, base + 8n, 8, 0x2000n)]);
    expect(ops.map((o) => o.op)).toEqual(['region', 'v1-state-read', 'v1-state-write', 'v1-field']);
    const r = ops[0]!;
    expect(r.op === 'region' && r.source).toBe('inferred');
    expect(r.op === 'region' && r.evidence).toContain('t.trace:1');
    expect(r.op === 'region' && r.evidence).toContain('t.trace:3');
  });

  it('infers the region from the device_state read-modify-write at a device-specific index (9)', () => {
    const b = recordBuilder();
    const ops = decode([...b.rmw(5, 1, 3)]);
    expect(ops.map((o) => o.op)).toEqual(['region', 'v1-state-read', 'v1-state-write']);
    const r = ops[0]!;
    expect(r.op === 'region' && r.evidence).toMatch(/read-modify-write of device_state at 0x90000000000 \(t\.trace:1, t\.trace:2\)/);
  });

  it('keeps the order of other ops while an fd is held for inference', () => {
    const b = recordBuilder();
    const ops = decode([b.open(7, 'named'), b.regionInfo(7), b.pread(5, REGION, 4, 1n), b.pread(7, REGION, 4, 1n), b.pwrite(5, REGION, 4, 3n)]);
    expect(ops.map((o) => `${o.op}:${o.op === 'gap' ? '' : o.device.id}`)).toEqual([
      'open:named',
      'region:named',
      'region:100:5',
      'v1-state-read:100:5',
      'v1-state-read:named',
      'v1-state-write:100:5',
    ]);
  });

  it('does not make an ordinary file a device', () => {
    const b = recordBuilder();
    const ops = decode([b.pread(3, 0n, 4, 0n), b.pread(3, 8n, 8, 0n), b.pwrite(3, 4096n, 512, 0n)]);
    expect(ops).toEqual([]);
  });

  it('does not infer from a lone 4-byte access (no header pattern)', () => {
    const b = recordBuilder();
    expect(decode([b.pread(5, REGION, 4, 1n)])).toEqual([]);
  });
});

describe('decoder: field decode', () => {
  const b = recordBuilder();
  const head = [b.open(7, 'd'), b.regionInfo(7)];
  it('decodes every header field at its native width', () => {
    const ops = decode([
      ...head,
      b.pread(7, REGION + 4n, 4, 0n),
      b.pread(7, REGION + 8n, 8, 5n),
      b.pread(7, REGION + 16n, 8, 0x1000n),
      b.pwrite(7, REGION + 24n, 8, 0x10n),
      b.pread(7, REGION + 0x1000n, 0x10, 0n),
    ]).slice(2);
    expect(ops.map((o) => (o.op === 'v1-field' ? `${o.field}:${o.write ? 'w' : 'r'}` : o.op))).toEqual([
      'reserved:r',
      'pending_bytes:r',
      'data_offset:r',
      'data_size:w',
      'v1-data',
    ]);
  });

  it('reports mis-sized and straddling header accesses with the fields they overlap', () => {
    const ops = decode([...head, b.pwrite(7, REGION, 2, 3n), b.pread(7, REGION + 4n, 8, 0n), b.pread(7, REGION + 12n, 8, 0n)]).slice(2);
    expect(ops.map((o) => (o.op === 'v1-bad-access' ? `${o.regionOffset}/${o.size}:${o.fields.join(',')}` : o.op))).toEqual([
      '0/2:device_state',
      '4/8:reserved,pending_bytes',
      '12/8:pending_bytes,data_offset',
    ]);
  });

  it('keeps failed-read values unknown and reports errno', () => {
    const ops = decode([...head, b.pread(7, REGION, 4, 6n, -5)]).slice(2);
    const r = ops[0]!;
    expect(r.op === 'v1-state-read' && r.value).toBeUndefined();
    expect(r.op === 'v1-state-read' && r.result).toEqual({ ok: false, ret: -5, errno: 5 });
  });

  it('treats a short transfer as a failure and an unseen exit as unknown', () => {
    const ops = decode([...head, b.pwrite(7, REGION, 4, 2n, 2), b.pwrite(7, REGION, 4, 2n, 'no-exit')]).slice(2);
    expect(ops.map((o) => (o.op === 'v1-state-write' ? o.result.ok : 'x'))).toEqual([false, undefined]);
  });

  it('ignores accesses to other regions of the device (BARs, config space)', () => {
    expect(decode([...head, b.pread(7, 7n << 40n, 4, 0n)]).slice(2)).toEqual([]);
  });

  it('emits reset for VFIO_DEVICE_RESET and a gap for lost events', () => {
    const ops = decode([...head, b.ioctl(7, 0x3b6f, 0), b.lost(12)]).slice(2);
    expect(ops.map((o) => o.op)).toEqual(['reset', 'gap']);
  });

  it('starts afresh when an fd number is reused for an ordinary file', () => {
    const ops = decode([...head, b.open(7, '/tmp/x', 'openat'), b.pread(7, REGION, 4, 1n)]).slice(2);
    expect(ops.map((o) => o.op)).toEqual(['close']);
  });
});

describe('decoder: QEMU events without a thread id (10.1+ log merged into a capture) join by time', () => {
  const run = (fds: readonly number[], gapNs: bigint): { ops: ProtocolOp[]; joins: ReadonlyMap<string, { how: string }> } => {
    const b = recordBuilder();
    const recs: TraceRecord[] = [];
    for (const fd of fds) recs.push(b.regionInfo(fd), ...b.rmw(fd, 1, 3));
    const last = recs.at(-1);
    const tsNs = (last?.tsNs ?? 0n) + gapNs;
    // A QEMU 10.1+ log line: no thread, no process.
    recs.push({ ...b.marker('vfio_migration_set_state  (0000:65:00.0) state 3'), tsNs, tid: undefined, pid: undefined, src: { file: 'qemu.log', line: 1 } });
    const ops: ProtocolOp[] = [];
    const d = createDecoder({ onOp: (o) => ops.push(o) });
    for (const r of recs) d.record(r);
    d.end();
    return { ops, joins: d.joins() };
  };
  const qemuOp = (ops: readonly ProtocolOp[]): ProtocolOp | undefined => ops.find((o) => o.op === 'qemu');

  it('the one device fd used just before: joined, and the join says by time proximity', () => {
    const { ops, joins } = run([5], 200_000n);
    expect(qemuOp(ops)?.op === 'qemu' && qemuOp(ops)?.device.fd).toBe(5);
    expect(joins.get('0000:65:00.0')?.how).toMatch(/no thread id; joined with fd 5 of process 100 by time proximity: 200 µs/);
  });

  it('two device fds used within the window: no join, and the QEMU-only device says why', () => {
    const { ops, joins } = run([5, 6], 200_000n);
    expect(qemuOp(ops)?.op === 'qemu' && qemuOp(ops)?.device.naming).toBe('qemu');
    expect(qemuOp(ops)?.op === 'qemu' && qemuOp(ops)?.device.fd).toBe(-1);
    expect(joins.get('0000:65:00.0')?.how).toMatch(/not joined with a device fd: .* 2 device fds had VFIO calls within 5000 µs/);
  });

  it('exactly 5 ms from the last VFIO call joins; 1 ns more does not', () => {
    expect(qemuOp(run([5], 5_000_000n).ops)?.op === 'qemu' && qemuOp(run([5], 5_000_000n).ops)?.device.fd).toBe(5);
    expect(qemuOp(run([5], 5_000_001n).ops)?.op === 'qemu' && qemuOp(run([5], 5_000_001n).ops)?.device.fd).toBe(-1);
  });

  // The join looks up fds by time (src/decode/recency-index.ts), not by scanning every fd:
  // thousands of device fds whose last VFIO call is long past are not candidates, and one
  // that was busy then but quiet since is judged by its LAST call, as before.
  it('among 3,000 device fds, only the one used within 5 ms is a candidate', () => {
    const b = recordBuilder();
    const recs: TraceRecord[] = [];
    for (let fd = 10; fd < 3_010; fd++) recs.push(b.regionInfo(fd), ...b.rmw(fd, 1, 3));
    // fd 10 again, much later (its last call moves); then fd 7 just before the event.
    const later = (r: TraceRecord, dt: bigint): TraceRecord => ({ ...r, tsNs: (r.tsNs ?? 0n) + dt });
    for (const r of b.rmw(10, 3, 3)) recs.push(later(r, 1_000_000_000n));
    for (const r of [b.regionInfo(7), ...b.rmw(7, 1, 3)]) recs.push(later(r, 2_000_000_000n));
    const tsNs = (recs.at(-1)?.tsNs ?? 0n) + 300_000n;
    recs.push({ ...b.marker('vfio_migration_set_state  (0000:65:00.0) state 3'), tsNs, tid: undefined, pid: undefined, src: { file: 'qemu.log', line: 1 } });
    const ops: ProtocolOp[] = [];
    const d = createDecoder({ onOp: (o) => ops.push(o) });
    for (const r of recs) d.record(r);
    d.end();
    expect(qemuOp(ops)?.op === 'qemu' && qemuOp(ops)?.device.fd).toBe(7);
    expect(d.joins().get('0000:65:00.0')?.how).toMatch(/joined with fd 7 of process 100 by time proximity: 300 µs/);
  });

  it('too far in time from any VFIO call: no join', () => {
    const { ops, joins } = run([5], 50_000_000n);
    expect(qemuOp(ops)?.op === 'qemu' && qemuOp(ops)?.device.fd).toBe(-1);
    expect(joins.has('0000:65:00.0')).toBe(false);
  });
});
