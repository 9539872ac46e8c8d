// The decoder: TraceRecords in, ProtocolOps out. It resolves which fd is which device
// (group GET_DEVICE_FD names, openat paths, --device flags, else pid:fd), where each
// device's migration region is (GET_REGION_INFO replies, --region flags, else inference
// from the access pattern, with the evidence), and which field each access touches.
// It knows VFIO encodings, not states or rules.
//
// Protocol v2 (spec §5): an fd becomes a v2 device with a VFIO_DEVICE_FEATURE call of a
// migration feature (v2-feature.ts decodes the struct from the words read at exit); the
// data_fd a MIG_DEVICE_STATE SET returns is tracked until close(), and read()/write()/
// PRECOPY_INFO on it become ops of the device that returned it, tagged with the data
// session's serial. Without argument words (ftrace, trace-cmd) no data_fd can be known:
// the FEATURE calls become generic v2-feature ops and data traffic stays invisible.

import { extended } from '../record/extended.js';
import type { AccessRecord, IoctlRecord, MarkerRecord, Source, TraceRecord } from '../record/types.js';
import type { DeviceRef, OpResult, ProtocolOp } from './ops.js';
import {
  REGION_SUBTYPE_MIGRATION,
  REGION_TYPE_MIGRATION,
  VFIO_DEVICE_FEATURE,
  VFIO_DEVICE_GET_INFO,
  VFIO_DEVICE_GET_REGION_INFO,
  VFIO_DEVICE_RESET,
  VFIO_MIG_GET_PRECOPY_INFO,
  isVfioIoctl,
} from '../protocol/ioctl.js';
import { decodeFeature, decodePrecopyInfo, featureCall, featureIndex, isMigrationFeature, looksLikeDeviceFeature } from './v2-feature.js';
import { V1_HEADER_SIZE, v1FieldAt, v1FieldsOverlapping } from '../protocol/v1.js';
import { createFdTable, deviceNameOfOpen, kindOfPath, pidFdKey, type FdEntry, type MigrationRegion } from './fd-table.js';
import { assertNever } from '../protocol/assert-never.js';
import { createRegionInference, type RegionInference } from './region-inference.js';
import { parseQemuEvent, type QemuEvent } from './qemu-events.js';
import { qmpVfioMigration } from './qmp-vfio.js';
import { createRecencyIndex } from './recency-index.js';
import { createVmDeviceMap } from './vm-devices.js';

/** vfio-pci encodes the region index in bits 40+ of the fd offset (spec §1.4). */
const INDEX_SHIFT = 40n;
/** Offset of region index 1, and the span of one region: compared with instead of shifting every access's offset (a bigint each). */
const REGION_SPAN = 1n << INDEX_SHIFT;

export interface DecoderOptions {
  /** "--device PID:FD=NAME": names for fds opened before the capture started. Key "pid:fd". */
  readonly deviceNames?: ReadonlyMap<string, string>;
  /** "--region PID:FD=OFFSET": migration region offsets. Key "pid:fd". */
  readonly regionOffsets?: ReadonlyMap<string, bigint>;
  /** Bound on tracked fds (hostile input); records past it are counted in `overflowed`. */
  readonly maxFds?: number;
  readonly onOp: (op: ProtocolOp) => void;
}

export interface Decoder {
  record(r: TraceRecord): void;
  end(): void;
  /**
   * Names learned from QEMU's events for devices that were already reported under
   * "pid:fd" (id → name). Applied by whoever assembles the final result.
   */
  aliases(): ReadonlyMap<string, string>;
  /** Device fds whose accesses could not be placed (region unknown), with what they saw. */
  unplaced(): readonly UnplacedAccesses[];
  /** QEMU device names joined with a device fd, and the evidence of each join. */
  joins(): ReadonlyMap<string, { readonly device: DeviceRef; readonly how: string }>;
  /**
   * Entries of each per-process map now (fds, data fds, per-thread and per-fd joins): what a
   * process's exit clears (tests of host mode's memory: bounded by live processes).
   */
  liveEntries(): Readonly<Record<string, number>>;
  /** Records dropped because the fd limit was reached. */
  overflowed(): number;
  /** Where the first of them is (for the problem report). */
  firstOverflow(): Source | undefined;
}

export const DEFAULT_MAX_FDS = 100_000;

export interface UnplacedAccesses {
  readonly device: DeviceRef;
  readonly count: number;
  /** The first few of them. */
  readonly first: readonly Source[];
  /** The fd offsets of the regions they touched (bits 40+: the region index, spec §1.4). */
  readonly regionOffsets: readonly bigint[];
}
const HEADER_SIZE = BigInt(V1_HEADER_SIZE);
/** Ops queued behind held accesses before the oldest undecided candidate is given up. */
const MAX_QUEUE = 20_000;
/**
 * Records a QEMU event naming a device not yet bound to an fd waits for its binding (see
 * holdQemu); past it the event is given to a QEMU-only device of that name.
 */
const QEMU_BIND_WINDOW = 256;
/**
 * A QEMU event without a thread id (QEMU 10.1+ log lines, qemu-trace-stap) is joined with
 * the one device fd whose VFIO traffic is this close to it in time: QEMU writes the event
 * right after the syscalls it describes (spec trace-formats §7), and a merged QEMU log's
 * wall-clock stamps are put on the capture's clock to within the clock-sync's uncertainty
 * (µs) plus the log's µs resolution. Two device fds that close: no join (ambiguous).
 */
export const QEMU_TIME_JOIN_NS = 5_000_000n;

export function createDecoder(opts: DecoderOptions): Decoder {
  const fds = createFdTable({ maxEntries: opts.maxFds ?? DEFAULT_MAX_FDS });
  const inference: RegionInference = createRegionInference();
  let overflow = 0;
  let firstOverflow: Source | undefined;
  /** A record ignored because the fd limit was reached: counted, and the first one cited. */
  function overflowAt(src: Source): void {
    overflow++;
    if (firstOverflow === undefined) firstOverflow = src;
  }

  // Output stays in input order even while accesses of a candidate fd are held for region
  // inference: everything after the first held access queues behind it until the
  // candidate is decided (bounded by MAX_QUEUE; past it the oldest candidate is given up).
  type Queued =
    | { readonly kind: 'op'; readonly op: ProtocolOp }
    | { readonly kind: 'held'; readonly key: string; readonly rec: AccessRecord; state: 'wait' | 'go' | 'drop'; entry: FdEntry | undefined }
    | { readonly kind: 'qemu'; readonly name: string; readonly rec: MarkerRecord; readonly ev: QemuEvent; readonly serial: number; ref: DeviceRef | undefined };
  const queue: Queued[] = [];
  let qHead = 0;
  let direct = false;

  function emit(op: ProtocolOp): void {
    if (direct || qHead === queue.length) opts.onOp(op);
    else queue.push({ kind: 'op', op });
  }

  function hold(key: string, rec: AccessRecord): void {
    queue.push({ kind: 'held', key, rec, state: 'wait', entry: undefined });
    if (queue.length - qHead > MAX_QUEUE) {
      const oldest = inference.giveUpOldest();
      if (oldest !== undefined) resolve(oldest, 'drop', undefined, undefined);
    }
  }

  /** Decide every held access of `key`; `first` ops go right before the first of them. */
  function resolve(key: string, state: 'go' | 'drop', entry: FdEntry | undefined, first: ProtocolOp | undefined): void {
    let firstAt = -1;
    for (let i = qHead; i < queue.length; i++) {
      const q = queue[i];
      if (q?.kind === 'held' && q.key === key && q.state === 'wait') {
        if (firstAt < 0) firstAt = i;
        q.state = state;
        q.entry = entry;
      }
    }
    if (first !== undefined) {
      if (firstAt < 0) emit(first);
      else queue.splice(firstAt, 0, { kind: 'op', op: first });
    }
    drain();
  }

  function drain(): void {
    while (qHead < queue.length) {
      const q = queue[qHead] as Queued;
      if (q.kind === 'held' && q.state === 'wait') break;
      if (q.kind === 'qemu' && q.ref === undefined) break;
      qHead++;
      direct = true;
      try {
        if (q.kind === 'op') opts.onOp(q.op);
        else if (q.kind === 'qemu') {
          if (q.ref !== undefined) opts.onOp(qemuOp(q.ref, q.rec, q.ev));
        } else if (q.state === 'go' && q.entry !== undefined) decodeAccess(q.entry, q.rec);
        else if (q.state === 'drop') noteUnplaced(q.rec);
      } finally {
        direct = false;
      }
    }
    if (qHead === queue.length) {
      queue.length = 0;
      qHead = 0;
    } else if (qHead > 4096) {
      queue.splice(0, qHead);
      qHead = 0;
    }
  }
  /** Devices by name, for pairing QEMU's named events with fds. */
  const byName = new Map<string, DeviceRef>();
  /**
   * The last fd each thread used with VFIO-looking traffic. QEMU writes a trace event
   * right after the syscalls it describes, from the same thread (spec trace-formats §7),
   * so an event naming an unknown device belongs to that thread's last VFIO fd.
   */
  const lastVfioFdByTid = new Map<number, { pid: number | undefined; fd: number; file: string }>();
  /** When each fd ("pid:fd") last had VFIO-looking traffic: the time-proximity join of QEMU events without a thread id. */
  const lastVfioTsByFd = createRecencyIndex<{ readonly pid: number | undefined; readonly fd: number; readonly tsNs: bigint; readonly file: string }>();
  /** Names bound to fds by QEMU's events before the fd was known as a device. Key "pid:fd". */
  const qemuNames = new Map<string, string>();
  /** Paths of fds opened by a non-VFIO path, by pid:fd, until closed (see fd-open). */
  const otherPaths = new Map<string, string>();
  const aliases = new Map<string, string>();
  /** How each QEMU name was joined to a device fd (the evidence of the join). */
  const joins = new Map<string, { readonly device: DeviceRef; readonly how: string }>();
  /** QEMU events waiting for their device name to bind to an fd (holdQemu), by name. */
  const heldQemu = new Map<string, (Queued & { kind: 'qemu' })[]>();
  let recordSerial = 0;
  /** For a QEMU name not (yet) bound: the fd its event's thread had just used (see expireQemu). */
  const lastFdOfName = new Map<string, { readonly pid: number | undefined; readonly fd: number; readonly tid: number | undefined }>();
  const MAX_TIDS = 100_000;
  /** Device fds announced by a GET_DEVICE_FD return value, not yet named by an fd-open record. */
  const unnamedFromIoctl = new Set<string>();

  /** Device fds ("pid:fd") known to speak protocol v2: no v1 region is inferred for them. */
  const v2Devices = new Set<string>();
  /** Open migration data fds ("pid:fd") → the device whose SET returned them (spec §5.2). */
  const dataFds = new Map<string, { readonly device: DeviceRef; readonly dataFd: number; readonly session: number }>();
  /** Data sessions handed out per device ("pid:fd" of the device), for V2DataFdRef.session. */
  const sessionSerials = new Map<string, number>();

  function noteVfioFd(r: { tid: number | undefined; pid: number | undefined; fd: number; tsNs: bigint | undefined; src: Source }): void {
    const { tid, pid, fd } = r;
    // Every access of a device fd passes here. The by-thread entry is updated in place (its
    // readers copy what they keep); the by-fd one is set anew, since the time index
    // (recency-index.ts) files it under its time.
    if (r.tsNs !== undefined) {
      const key = pidFdKey(pid, fd);
      if (lastVfioTsByFd.has(key) || lastVfioTsByFd.size < MAX_TIDS) lastVfioTsByFd.set(key, { pid, fd, tsNs: r.tsNs, file: r.src.file });
    }
    if (tid === undefined) return;
    const last = lastVfioFdByTid.get(tid);
    if (last !== undefined) {
      last.pid = pid;
      last.fd = fd;
      last.file = r.src.file;
    } else if (lastVfioFdByTid.size < MAX_TIDS) lastVfioFdByTid.set(tid, { pid, fd, file: r.src.file });
  }

  /**
   * The fd a QEMU event without a thread id belongs to: the one device fd (of its process,
   * when the event names one) whose VFIO traffic is within QEMU_TIME_JOIN_NS of it.
   * Undefined when none is, or when more than one is (said in `timeAmbiguous`).
   */
  function nearInTime(r: MarkerRecord, name: string): { pid: number | undefined; fd: number; file: string; how: string } | undefined {
    const t = r.tsNs;
    if (t === undefined) return undefined;
    const near: { pid: number | undefined; fd: number; file: string; gapNs: bigint }[] = [];
    // Indexed by time (recency-index.ts): only the fds whose last VFIO call is in the window.
    for (const v of lastVfioTsByFd.within(t, QEMU_TIME_JOIN_NS)) {
      if (r.pid !== undefined && v.pid !== undefined && v.pid !== r.pid) continue;
      const gap = t >= v.tsNs ? t - v.tsNs : v.tsNs - t;
      if (fds.get(v.pid, v.fd)?.kind !== 'device') continue;
      near.push({ pid: v.pid, fd: v.fd, file: v.file, gapNs: gap });
    }
    if (near.length === 1 && near[0] !== undefined) {
      const n = near[0];
      return { ...n, how: `time proximity: ${formatUs(n.gapNs)} from fd ${n.fd}'s last VFIO call, the only device fd within ${formatUs(QEMU_TIME_JOIN_NS)}${r.pid === undefined ? '' : ` of process ${r.pid}`}` };
    }
    if (near.length > 1 && (timeAmbiguous.has(name) || timeAmbiguous.size < MAX_TIDS)) timeAmbiguous.set(name, near.length);
    return undefined;
  }
  /** QMP device-ids to QEMU's names, from the QEMU command line (vm-device records). */
  const vmDevices = createVmDeviceMap();
  /** QMP device-ids whose join (or why none) was noted. */
  const qmpNoted = new Set<string>();
  /** QEMU names whose tid-less events found several device fds close in time (no join), and how many. */
  const timeAmbiguous = new Map<string, number>();

  function makeRef(pid: number | undefined, fd: number, name: string | undefined, naming: DeviceRef['naming']): DeviceRef {
    const ref: DeviceRef = { id: name ?? pidFdKey(pid, fd), pid, fd, naming };
    if (name !== undefined) byName.set(name, ref);
    return ref;
  }

  /** Turn an fd into a device (idempotent), applying --device/--region flags. */
  function promote(e: FdEntry, r: { pid: number | undefined; tsNs: bigint | undefined; tid: number | undefined; comm: string | undefined; src: Source }, fd: number, name?: string, naming?: DeviceRef['naming']): DeviceRef {
    if (e.kind === 'device' && e.device !== undefined) return e.device;
    const flagName = opts.deviceNames?.get(pidFdKey(r.pid, fd));
    const qemuName = qemuNames.get(pidFdKey(r.pid, fd));
    const path = name === undefined ? otherPaths.get(pidFdKey(r.pid, fd)) : undefined;
    e.kind = 'device';
    e.device =
      flagName !== undefined
        ? makeRef(r.pid, fd, flagName, 'flag')
        : name === undefined && qemuName !== undefined
          ? makeRef(r.pid, fd, qemuName, 'qemu')
          : path !== undefined
            ? makeRef(r.pid, fd, path, 'path')
            : makeRef(r.pid, fd, name, naming ?? 'pid-fd');
    if (e.device.naming === 'qemu' && qemuName !== undefined) {
      joins.set(qemuName, { device: e.device, how: `QEMU's event for ${qemuName} came from the thread that had just used fd ${fd} of ${processText(r.pid)}` });
      releaseQemu(qemuName, e.device);
    }
    const flagRegion = opts.regionOffsets?.get(pidFdKey(r.pid, fd));
    if (flagRegion !== undefined && e.region === undefined) {
      setRegion(e, { index: Number(flagRegion >> INDEX_SHIFT), offset: flagRegion, size: undefined, source: 'flag' }, { pid: r.pid, fd, tsNs: r.tsNs, tid: r.tid, comm: r.comm, src: r.src }, `--region ${pidFdKey(r.pid, fd)}=0x${flagRegion.toString(16)}`, undefined, undefined);
    }
    return e.device;
  }

  /**
   * GET_REGION_INFO replies whose TYPE cap is not the migration one (type 3 / subtype 1),
   * by "pid:fd:index": if the region at that index is used as the migration region anyway
   * (named by --region, inferred from the accesses, or by QEMU), its op carries that reply's
   * cap so that V1-REGION-ID can judge it. Bounded like the fd table.
   */
  const otherCaps = new Map<string, { readonly capType: number; readonly capSubtype: number | undefined; readonly src: Source }>();
  const capKey = (pid: number | undefined, fd: number, index: number | undefined): string => `${pidFdKey(pid, fd)}:${index ?? '?'}`;

  function setRegion(e: FdEntry, region: MigrationRegion, r: { pid?: number | undefined; fd?: number; tsNs: bigint | undefined; tid: number | undefined; comm: string | undefined; src: Source }, evidence: string, capType: number | undefined, capSubtype: number | undefined): void {
    const op = regionOp(e, region, r, evidence, capType, capSubtype);
    if (op !== undefined) emit(op);
  }

  function regionOp(e: FdEntry, region: MigrationRegion, r: { pid?: number | undefined; fd?: number; tsNs: bigint | undefined; tid: number | undefined; comm: string | undefined; src: Source }, evidence: string, capType: number | undefined, capSubtype: number | undefined, replySrc?: Source): ProtocolOp | undefined {
    e.region = region;
    if (e.device === undefined) return undefined;
    const other = capType === undefined && r.fd !== undefined ? otherCaps.get(capKey(r.pid, r.fd, region.index)) : undefined;
    let capSrc: Source | undefined = replySrc;
    if (other !== undefined) {
      capSrc = other.src;
      capType = other.capType;
      capSubtype = other.capSubtype;
      evidence = `${evidence}; GET_REGION_INFO for index ${region.index ?? '?'} answered TYPE ${other.capType}/${other.capSubtype ?? '?'} (${other.src.file}:${other.src.line ?? other.src.byteOffset ?? '?'})`;
    }
    return {
      op: 'region',
      device: e.device,
      tsNs: r.tsNs,
      tid: r.tid,
      comm: r.comm,
      src: r.src,
      index: region.index,
      offset: region.offset,
      size: region.size,
      source: region.source,
      evidence,
      capType,
      capSubtype,
      ...(capSrc !== undefined ? { capSrc } : {}),
    };
  }

  function onAccess(r: AccessRecord): void {
    if (r.op === 'read' || r.op === 'write' || r.offset === undefined) {
      onDataAccess(r);
      return;
    }
    if (r.offset >= REGION_SPAN) noteVfioFd(r);
    let e = fds.get(r.pid, r.fd);
    if (e?.kind === 'device' && e.device !== undefined && e.region === undefined && v2Devices.has(pidFdKey(r.pid, r.fd))) {
      // A v2 device's BARs or config space (V2-STOPPED-ACCESS); v2 has no migration region.
      emit({
        op: 'v2-device-access',
        device: e.device,
        tsNs: r.tsNs,
        tid: r.tid,
        comm: r.comm,
        src: r.src,
        write: r.op === 'pwrite',
        offset: r.offset,
        regionIndex: Number(r.offset >> INDEX_SHIFT),
        size: r.size,
        result: accessResult(r),
      });
      return;
    }
    if (e === undefined) {
      // An fd never seen opening: it may be a device whose open preceded the capture.
      // Named by a flag, it is one; otherwise the access pattern decides (below).
      if (!opts.deviceNames?.has(pidFdKey(r.pid, r.fd)) && !opts.regionOffsets?.has(pidFdKey(r.pid, r.fd))) {
        inferRegion(undefined, r);
        return;
      }
      e = fds.ensure(r.pid, r.fd);
      if (e === undefined) return void overflowAt(r.src);
      promote(e, r, r.fd);
    }
    if (e.kind !== 'device') return; // container, group
    if (e.region === undefined) {
      inferRegion(e, r);
      return;
    }
    decodeAccess(e, r);
  }

  /**
   * No GET_REGION_INFO reply and no --region flag: hold the fd's accesses until their
   * pattern shows a v1 migration header (region-inference.ts), then replay them in order.
   */
  function inferRegion(known: FdEntry | undefined, r: AccessRecord): void {
    const v = inference.observe(r, known?.kind === 'device');
    switch (v.kind) {
      case 'ignore':
        if (known?.kind === 'device') noteUnplaced(r);
        return;
      case 'hold':
        hold(v.key, r);
        return;
      case 'reject':
        resolve(v.key, 'drop', undefined, undefined);
        return;
      case 'confirm': {
        const e = known ?? fds.ensure(r.pid, r.fd);
        if (e === undefined) {
          overflowAt(r.src);
          resolve(v.key, 'drop', undefined, undefined);
          return;
        }
        promote(e, r, r.fd);
        hold(v.key, r);
        const region: MigrationRegion = { index: Number(v.offset >> INDEX_SHIFT), offset: v.offset, size: undefined, source: 'inferred' };
        resolve(v.key, 'go', e, regionOp(e, region, r, v.evidence, undefined, undefined));
        return;
      }
      default:
        assertNever(v);
    }
  }

  /** The fd is known now (opened, closed, identified by an ioctl): decide what was held for it. */
  function settleHeld(pid: number | undefined, fd: number, e: FdEntry | undefined): void {
    const key = inference.forget(pid, fd);
    if (key === undefined) return;
    resolve(key, e?.kind === 'device' && e.region !== undefined ? 'go' : 'drop', e, undefined);
  }

  /**
   * Accesses of a known device fd that could not be placed (no migration region found):
   * the device must not vanish from the output. Per device: the count, the first lines and
   * the offsets seen, so the user is told which --region to pass.
   */
  const unplaced = new Map<string, { device: DeviceRef; count: number; readonly first: Source[]; readonly offsets: bigint[] }>();
  function noteUnplaced(r: AccessRecord): void {
    const e = fds.get(r.pid, r.fd);
    if (e?.kind !== 'device' || e.device === undefined || e.region !== undefined || r.offset === undefined) return;
    const key = pidFdKey(r.pid, r.fd);
    let u = unplaced.get(key);
    if (u === undefined) {
      if (unplaced.size >= (opts.maxFds ?? DEFAULT_MAX_FDS)) return;
      u = { device: e.device, count: 0, first: [], offsets: [] };
      unplaced.set(key, u);
    }
    u.count++;
    if (u.first.length < 5) u.first.push(r.src);
    const region = (r.offset >> INDEX_SHIFT) << INDEX_SHIFT;
    if (u.offsets.length < 4 && !u.offsets.includes(region)) u.offsets.push(region);
  }

  function decodeAccess(e: FdEntry, r: AccessRecord): void {
    const device = e.device;
    const region = e.region;
    if (device === undefined || region === undefined || r.offset === undefined) return;
    const rel = r.offset - region.offset;
    const regionEnd = region.size !== undefined ? region.size : REGION_SPAN;
    if (rel < 0n || rel >= regionEnd) return; // another region (BARs, config space)
    const write = r.op === 'pwrite';
    const result = accessResult(r);
    // Hot path (every access of a dense trace): ops are written out field by field, in one
    // shape per kind; `{ ...base }` spreads cost ~3x here (bench/RESULTS.md).
    const tsNs = r.tsNs;
    const tid = r.tid;
    const comm = r.comm;
    const src = r.src;
    if (rel >= HEADER_SIZE) {
      emit({ op: 'v1-data', device, tsNs, tid, comm, src, write, regionOffset: rel, size: r.size, result });
      return;
    }
    const off = Number(rel);
    const field = v1FieldAt(off);
    // A read's value is only meaningful when the read succeeded.
    const value = write || result.ok === true ? r.value : undefined;
    if (field !== undefined && field.width === r.size) {
      if (field.name === 'device_state') {
        const v = value === undefined ? undefined : Number(value & 0xffffffffn);
        if (write) emit({ op: 'v1-state-write', device, tsNs, tid, comm, src, value: v, result });
        else emit({ op: 'v1-state-read', device, tsNs, tid, comm, src, value: v, result });
      } else {
        emit({ op: 'v1-field', device, tsNs, tid, comm, src, field: field.name, write, value, result });
      }
      return;
    }
    emit({
      op: 'v1-bad-access',
      device,
      tsNs,
      tid,
      comm,
      src,
      write,
      regionOffset: off,
      size: r.size,
      fields: v1FieldsOverlapping(off, r.size).map((f) => f.name),
      value,
      result,
    });
  }

  function onIoctl(r: IoctlRecord): void {
    if (r.cmd === VFIO_MIG_GET_PRECOPY_INFO) {
      const d = dataFds.get(pidFdKey(r.pid, r.fd));
      if (d !== undefined) {
        // (on other fds 0x3b79 is VFIO_EEH_PE_OP, spec §1.1)
        const result = ioctlResult(r.ret);
        emit({ op: 'v2-precopy-info', device: d.device, tsNs: r.tsNs, tid: r.tid, comm: r.comm, src: r.src, dataFd: d.dataFd, session: d.session, ...decodePrecopyInfo(r.argWords, result), result });
        return;
      }
    }
    if (isVfioIoctl(r.cmd)) noteVfioFd(r);
    let e = fds.get(r.pid, r.fd);
    const deviceCmd = r.cmd === VFIO_DEVICE_RESET || r.cmd === VFIO_DEVICE_GET_REGION_INFO || r.cmd === VFIO_DEVICE_GET_INFO || r.cmd === VFIO_DEVICE_FEATURE;
    if (e === undefined || e.kind === 'unknown') {
      // A VFIO device ioctl that succeeded on an fd we never saw open: that fd is a device
      // (unless 0x3b75's struct shows a container's VFIO_IOMMU_DIRTY_PAGES, spec §1.1).
      if (!deviceCmd || r.ret === undefined || r.ret < 0) return;
      if (r.cmd === VFIO_DEVICE_FEATURE && looksLikeDeviceFeature(featureCall(r.argWords)) === false) return;
      const ne = fds.ensure(r.pid, r.fd);
      if (ne === undefined) return void overflowAt(r.src);
      promote(ne, r, r.fd);
      if (r.cmd !== VFIO_DEVICE_FEATURE) settleHeld(r.pid, r.fd, ne);
      e = ne;
    }
    if (e.kind !== 'device') return;
    if (r.cmd === VFIO_DEVICE_RESET) emitReset(e, r);
    else if (r.cmd === VFIO_DEVICE_FEATURE) onFeature(e, r);
  }

  /** VFIO_DEVICE_FEATURE on a device fd (spec §5.2). */
  function onFeature(e: FdEntry, r: IoctlRecord): void {
    const device = e.device;
    if (device === undefined) return;
    const key = pidFdKey(r.pid, r.fd);
    const call = featureCall(r.argWords);
    const feature = featureIndex(call);
    if (feature !== undefined && isMigrationFeature(feature) && !v2Devices.has(key) && e.region === undefined) {
      // A migration feature call: a v2 device. Accesses held for v1 region inference were
      // not a v1 header (a v2 device has none); they are dropped before this op.
      v2Devices.add(key);
      settleHeld(r.pid, r.fd, e);
    }
    const result = ioctlResult(r.ret);
    const base = { device, tsNs: r.tsNs, tid: r.tid, comm: r.comm, src: r.src, call, result };
    const d = decodeFeature(call, r.argWords, result);
    switch (d.kind) {
      case 'feature':
        emit(extended(base, { op: 'v2-feature' }));
        return;
      case 'mig-flags':
        emit(extended(base, { op: 'v2-mig-flags', migFlags: d.migFlags, ...(d.migFlagsRaw !== undefined ? { migFlagsRaw: d.migFlagsRaw } : {}) }));
        return;
      case 'get-state':
        emit(extended(base, { op: 'v2-get-state', state: d.state, dataFd: d.dataFd }));
        return;
      case 'data-size':
        emit(extended(base, { op: 'v2-data-size', stopCopyLength: d.stopCopyLength }));
        return;
      case 'set-state': {
        let session: number | undefined;
        if (result.ok === true && d.dataFd !== undefined && d.dataFd >= 0) {
          session = (sessionSerials.get(key) ?? 0) + 1;
          sessionSerials.set(key, session);
          const dk = pidFdKey(r.pid, d.dataFd);
          if (dataFds.has(dk) || dataFds.size < (opts.maxFds ?? DEFAULT_MAX_FDS)) dataFds.set(dk, { device, dataFd: d.dataFd, session });
          else overflowAt(r.src);
        }
        emit(extended(base, { op: 'v2-set-state', requested: d.requested, dataFd: d.dataFd, session }));
        return;
      }
      default:
        assertNever(d);
    }
  }

  /** read()/write() on a migration data fd (spec §5.4); other fds' traffic is not ours. */
  function onDataAccess(r: AccessRecord): void {
    if (r.op !== 'read' && r.op !== 'write') return;
    const d = dataFds.get(pidFdKey(r.pid, r.fd));
    if (d === undefined) return;
    const result: OpResult = r.ret === undefined ? { ok: undefined, ret: undefined, errno: undefined } : r.ret < 0 ? { ok: false, ret: r.ret, errno: -r.ret } : { ok: true, ret: r.ret, errno: undefined };
    emit({ op: 'v2-data', device: d.device, tsNs: r.tsNs, tid: r.tid, comm: r.comm, src: r.src, dataFd: d.dataFd, session: d.session, write: r.op === 'write', size: r.size, result });
  }

  function emitReset(e: FdEntry, r: IoctlRecord): void {
    if (e.device === undefined) return;
    emit({ op: 'reset', device: e.device, tsNs: r.tsNs, tid: r.tid, comm: r.comm, src: r.src, result: ioctlResult(r.ret) });
  }

  function onRecord(r: TraceRecord): void {
    switch (r.kind) {
      case 'access':
        onAccess(r);
        return;
      case 'ioctl':
        onIoctl(r);
        return;
      case 'fd-open': {
        if (r.fd < 0) return; // the open failed
        settleHeld(r.pid, r.fd, undefined);
        // A data fd or v2 device whose close was not seen: the number is something else now.
        dataFds.delete(pidFdKey(r.pid, r.fd));
        v2Devices.delete(pidFdKey(r.pid, r.fd));
        const kind = r.via === 'group-get-device-fd' ? 'device' : kindOfPath(r.name);
        // The name for a device fd that GET_DEVICE_FD's return value announced a moment ago.
        if (r.via === 'group-get-device-fd' && unnamedFromIoctl.delete(pidFdKey(r.pid, r.fd))) {
          const e = fds.get(r.pid, r.fd);
          if (e !== undefined) {
            e.kind = 'unknown';
            e.device = undefined;
            const ref = promote(e, r, r.fd, r.name, 'group-get-device-fd');
            emit({ op: 'open', device: ref, tsNs: r.tsNs, tid: r.tid, comm: r.comm, src: r.src });
            return;
          }
        }
        // A reused fd number starts afresh.
        otherPaths.delete(pidFdKey(r.pid, r.fd));
        const old = fds.get(r.pid, r.fd);
        if (old?.device !== undefined) emit({ op: 'close', device: old.device, tsNs: r.tsNs, tid: r.tid, comm: r.comm, src: r.src });
        fds.delete(r.pid, r.fd);
        if (kind === 'other') {
          // Ordinary files are not tracked, but their path is kept (bounded, like the fd
          // table) so that one that turns out to be a device is named by it.
          if (otherPaths.size < (opts.maxFds ?? DEFAULT_MAX_FDS)) otherPaths.set(pidFdKey(r.pid, r.fd), r.name);
          else overflowAt(r.src); // counted with the fd bound: the name falls back to pid:fd
          return;
        }
        const e = fds.ensure(r.pid, r.fd);
        if (e === undefined) return void overflowAt(r.src);
        e.kind = kind;
        if (kind === 'device') {
          const name = deviceNameOfOpen(r);
          e.kind = 'unknown';
          const ref = promote(e, r, r.fd, name, r.via === 'group-get-device-fd' ? 'group-get-device-fd' : 'openat');
          emit({ op: 'open', device: ref, tsNs: r.tsNs, tid: r.tid, comm: r.comm, src: r.src });
        }
        return;
      }
      case 'fd-close': {
        const dk = pidFdKey(r.pid, r.fd);
        const d = dataFds.get(dk);
        if (d !== undefined && (r.ret === undefined || r.ret >= 0)) {
          dataFds.delete(dk);
          emit({ op: 'v2-data-close', device: d.device, tsNs: r.tsNs, tid: r.tid, comm: r.comm, src: r.src, dataFd: d.dataFd, session: d.session });
          return;
        }
        const e = fds.get(r.pid, r.fd);
        settleHeld(r.pid, r.fd, e);
        if (e?.device !== undefined && (r.ret === undefined || r.ret >= 0)) {
          emit({ op: 'close', device: e.device, tsNs: r.tsNs, tid: r.tid, comm: r.comm, src: r.src });
        }
        if (r.ret === undefined || r.ret >= 0) {
          fds.delete(r.pid, r.fd);
          v2Devices.delete(dk);
          otherPaths.delete(dk);
        }
        return;
      }
      case 'region-info': {
        if (r.ret !== undefined && r.ret < 0) return;
        let e = fds.get(r.pid, r.fd);
        if (e === undefined || e.kind === 'unknown') {
          e = fds.ensure(r.pid, r.fd);
          if (e === undefined) return void overflowAt(r.src);
          promote(e, r, r.fd);
        }
        if (e.kind !== 'device') return;
        if (r.capType === REGION_TYPE_MIGRATION && r.capSubtype === REGION_SUBTYPE_MIGRATION) {
          const hadRegion = e.region !== undefined;
          setRegion(
            e,
            { index: r.index, offset: r.offset, size: r.size, source: 'region-info' },
            r,
            `GET_REGION_INFO index ${r.index}: type ${r.capType}/subtype ${r.capSubtype}, offset 0x${r.offset.toString(16)}, size 0x${r.size.toString(16)}`,
            r.capType,
            r.capSubtype,
          );
          if (!hadRegion) settleHeld(r.pid, r.fd, e);
        } else if (r.capType !== undefined) {
          if (otherCaps.size < (opts.maxFds ?? DEFAULT_MAX_FDS)) otherCaps.set(capKey(r.pid, r.fd, r.index), { capType: r.capType, capSubtype: r.capSubtype, src: r.src });
          // The region already in use as the migration region is this one: say what its reply says.
          const cur = e.region;
          if (cur !== undefined && cur.index === r.index && cur.source !== 'region-info') {
            const op = regionOp(e, cur, r, `GET_REGION_INFO index ${r.index} (the region in use for migration): TYPE ${r.capType}/${r.capSubtype ?? '?'}`, r.capType, r.capSubtype, r.src);
            if (op !== undefined) emit(op);
          }
        }
        return;
      }
      case 'marker': {
        const ev = parseQemuEvent(r.text);
        if (ev === undefined || ev.device === undefined) return;
        // A QEMU-only device (fd -1, its events never paired with an fd) still gets paired
        // when one of its events shows the fd; from then on its events go to the fd's device.
        const known = byName.get(ev.device);
        // The syscall view named the device already (GET_DEVICE_FD, openat, --device) by the
        // name QEMU's events use: one device, and the join says so once.
        if (known !== undefined && known.fd >= 0 && known.naming !== 'qemu' && known.naming !== 'qmp' && !joins.has(ev.device))
          joins.set(ev.device, { device: known, how: `same name: QEMU's events${r.src.file !== undefined ? ` (${r.src.file})` : ''} name ${ev.device}, the name ${namingText(known.naming)} gave fd ${known.fd} of ${processText(known.pid)}` });
        const ref = known !== undefined && known.fd >= 0 ? known : (bindQemuName(ev.device, r) ?? known);
        if (ref !== undefined) emit(qemuOp(ref, r, ev));
        else holdQemu(ev.device, r, ev);
        return;
      }
      case 'lost-events':
        emit({ op: 'gap', tsNs: r.tsNs, count: r.count, src: r.src });
        return;
      case 'clock-sync':
        return;
      case 'process-exit': {
        // The kernel closed every fd of the process; its pid, and so its "pid:fd" keys, may
        // be reused by another process. Each device it had open ends here, as at close().
        const prefix = `${r.pid}:`;
        for (const [k, d] of dataFds) {
          if (!k.startsWith(prefix)) continue;
          dataFds.delete(k);
          emit({ op: 'v2-data-close', device: d.device, tsNs: r.tsNs, tid: r.tid, comm: r.comm, src: r.src, dataFd: d.dataFd, session: d.session });
        }
        for (const { fd, entry } of fds.ofProcess(r.pid)) {
          settleHeld(r.pid, fd, entry);
          if (entry.device !== undefined) emit({ op: 'close', device: entry.device, tsNs: r.tsNs, tid: r.tid, comm: r.comm, src: r.src });
          fds.delete(r.pid, fd);
          v2Devices.delete(pidFdKey(r.pid, fd));
        }
        forgetProcess(r.pid, prefix);
        emit({ op: 'process-exit', pid: r.pid, why: r.why, tsNs: r.tsNs, src: r.src });
        return;
      }
      case 'qmp': {
        // QMP VFIO_MIGRATION (QEMU 9.1+, migration-events=on): a device state QEMU
        // cached after a successful SET (hw/vfio/migration.c vfio_migration_send_event).
        const ev = qmpVfioMigration(r);
        if (ev === undefined) return;
        // QMP names the device by its -device id; QEMU's trace and the capture by its host
        // address. Only QEMU's command line says which is which (vm-devices.ts).
        const mapped = vmDevices.resolve(ev.device, ev.args['qomPath']);
        const name = mapped?.name ?? ev.device;
        const ref = byName.get(name) ?? makeRef(undefined, -1, name, 'qmp');
        if (!qmpNoted.has(ev.device) && qmpNoted.size < MAX_TIDS) {
          qmpNoted.add(ev.device);
          const prior = joins.get(name);
          // The capture named the fd by that address already: that join is said too (the
          // marker path below notes "same name" only for a name with no join yet).
          const sameName = ref.fd >= 0 && ref.naming !== 'qemu' && ref.naming !== 'qmp' ? `same name: ${namingText(ref.naming)} gave fd ${ref.fd} of ${processText(ref.pid)} the name ${name}; ` : '';
          if (mapped !== undefined) joins.set(name, { device: ref, how: prior === undefined ? `${sameName}${mapped.how}` : `${prior.how}; ${mapped.how}` });
          else if (prior === undefined)
            joins.set(name, {
              device: ref,
              how: `QMP names this device by its device-id ${ev.device}; ${vmDevices.seen() ? `the QEMU command line read has no -device with id=${ev.device} and a host device` : 'no QEMU command line is among the inputs'}: nothing says which host device it is, so it is not joined with a device QEMU's trace or the capture names by its address (libvirt's per-VM log, /var/log/libvirt/qemu/<vm>.log, carries the command line)`,
            });
        }
        emit({ op: 'qemu', device: ref, tsNs: r.tsNs, tid: r.tid, comm: r.comm, src: r.src, event: ev.event, args: ev.args });
        return;
      }
      case 'vm-device':
        vmDevices.note(r);
        return;
    }
  }

  /**
   * What the decoder keeps per thread and per fd of a process that is gone: nothing of it is
   * left to join or pair, and its pid and tids may be reused by another process, which must
   * not inherit them. Without this a host agent's maps grow with every VMM lifetime, and
   * the capped ones (MAX_TIDS, maxFds) stop taking new processes' entries once full.
   * Names (byName, joins, aliases …) stay: a later VMM may use the name again, and they are
   * bounded by the host's devices.
   */
  function forgetProcess(pid: number, prefix: string): void {
    for (const [tid, v] of lastVfioFdByTid) if (v.pid === pid) lastVfioFdByTid.delete(tid);
    for (const [k, v] of lastVfioTsByFd.entries()) if (v.pid === pid) lastVfioTsByFd.delete(k);
    for (const m of [qemuNames, otherPaths, sessionSerials, otherCaps]) for (const k of [...m.keys()]) if (k.startsWith(prefix)) m.delete(k);
    for (const k of [...unnamedFromIoctl]) if (k.startsWith(prefix)) unnamedFromIoctl.delete(k);
  }

  function qemuOp(device: DeviceRef, r: MarkerRecord, ev: QemuEvent): ProtocolOp {
    return { op: 'qemu', device, tsNs: r.tsNs, tid: r.tid, comm: r.comm, src: r.src, event: ev.event, args: ev.args };
  }

  /**
   * Pair a device name from QEMU's events with the fd its thread just used (see
   * lastVfioFdByTid). Returns the device only when that fd is a device already: a name is
   * never bound to an fd that is not (yet) one, so that the syscall view and QEMU's view of
   * one device stay one device (DESIGN.md "One physical device is one device").
   */
  function bindQemuName(name: string, r: MarkerRecord): DeviceRef | undefined {
    const tid = r.tid;
    const byTid = tid === undefined ? undefined : lastVfioFdByTid.get(tid);
    const last = byTid ?? (tid === undefined ? nearInTime(r, name) : undefined);
    if (last === undefined) return undefined;
    const key = pidFdKey(last.pid, last.fd);
    const e = fds.get(last.pid, last.fd);
    if (e?.kind !== 'device' || e.device === undefined) {
      // Not yet a device: it takes this name when it becomes one (promote), unless it has another.
      if (!qemuNames.has(key)) qemuNames.set(key, name);
      if (!lastFdOfName.has(name) && lastFdOfName.size < MAX_TIDS) lastFdOfName.set(name, { pid: last.pid, fd: last.fd, tid });
      return undefined;
    }
    const owner = qemuNames.get(key);
    if (owner !== undefined && owner !== name) return undefined; // that fd already has another QEMU name
    if (e.device.naming !== 'pid-fd' && e.device.naming !== 'qemu' && e.device.naming !== 'path') return undefined; // named otherwise; QEMU's name is another device
    qemuNames.set(key, name);
    if (e.device.naming === 'pid-fd' || e.device.naming === 'path') aliases.set(e.device.id, name);
    byName.set(name, e.device);
    // Which inputs the two views came from, when they differ (a QEMU log merged into a capture).
    const across = last.file !== r.src.file ? ` (${r.src.file} joined with ${last.file})` : '';
    const how =
      byTid !== undefined
        ? `QEMU's event for ${name} came from thread ${tid ?? '?'} right after it used fd ${last.fd} of ${processText(last.pid)}${across}`
        : `QEMU's event for ${name} has no thread id; joined with fd ${last.fd} of ${processText(last.pid)} by ${'how' in last ? last.how : 'time proximity'}${across}`;
    joins.set(name, { device: e.device, how });
    releaseQemu(name, e.device);
    return e.device;
  }

  /**
   * A QEMU event whose device name is not bound to an fd yet: QEMU may name a device before
   * the first syscall that shows its fd (vfio_migration_probe runs at realize, from the
   * main thread; spec trace-formats §7). The event waits in the ordered queue, so output
   * order is kept, until a later event of the same name binds it (bindQemuName) or
   * QEMU_BIND_WINDOW records have passed: then it belongs to a QEMU-only device.
   */
  function holdQemu(name: string, rec: MarkerRecord, ev: QemuEvent): void {
    let waiting = heldQemu.get(name);
    if (waiting === undefined) {
      waiting = [];
      heldQemu.set(name, waiting);
    }
    const q: Queued & { kind: 'qemu' } = { kind: 'qemu', name, rec, ev, serial: recordSerial, ref: undefined };
    waiting.push(q);
    queue.push(q);
  }

  function releaseQemu(name: string, ref: DeviceRef): void {
    const waiting = heldQemu.get(name);
    if (waiting === undefined) return;
    heldQemu.delete(name);
    for (const q of waiting) q.ref = ref;
    drain();
  }

  /** Give held QEMU events older than the window (or all, at the end) to QEMU-only devices. */
  function expireQemu(all: boolean): void {
    for (const [name, waiting] of heldQemu) {
      const first = waiting[0];
      if (first === undefined || (!all && recordSerial - first.serial < QEMU_BIND_WINDOW)) continue;
      // A QEMU-only device: no fd of its thread was shown to be a device. Its thread's last
      // VFIO fd is kept as the device's fd (said in the join), as the best pointer to it.
      const near = lastFdOfName.get(name);
      const ref = byName.get(name) ?? makeRef(near?.pid ?? first.rec.pid, near?.fd ?? -1, name, 'qemu');
      if (near !== undefined && !joins.has(name)) joins.set(name, { device: ref, how: `only QEMU's events name ${name}; their thread ${near.tid ?? '?'} had just used fd ${near.fd} of ${processText(near.pid)}, whose VFIO calls did not show it to be a device` });
      const crowd = timeAmbiguous.get(name);
      if (crowd !== undefined && !joins.has(name)) joins.set(name, { device: ref, how: `not joined with a device fd: QEMU's events for ${name} carry no thread id and ${crowd} device fds had VFIO calls within ${formatUs(QEMU_TIME_JOIN_NS)} of them` });
      releaseQemu(name, ref);
    }
  }

  return {
    record(r: TraceRecord): void {
      recordSerial++;
      onRecord(r);
      if (heldQemu.size > 0) expireQemu(false);
    },
    aliases: () => aliases,
    joins: () => joins,
    liveEntries: () => ({
      fds: fds.size(),
      dataFds: dataFds.size,
      v2Devices: v2Devices.size,
      lastVfioFdByTid: lastVfioFdByTid.size,
      lastVfioTsByFd: lastVfioTsByFd.size,
      qemuNames: qemuNames.size,
      otherPaths: otherPaths.size,
      sessionSerials: sessionSerials.size,
      otherCaps: otherCaps.size,
      unnamedFromIoctl: unnamedFromIoctl.size,
    }),
    // Not for devices that later showed a region (their accesses from then on were placed) or
    // turned out to speak v2 (no migration region; its BAR accesses are not migration traffic).
    unplaced: () =>
      [...unplaced.entries()]
        .filter(([key, u]) => !v2Devices.has(key) && fds.get(u.device.pid, u.device.fd)?.region === undefined)
        .map(([, u]) => ({ device: u.device, count: u.count, first: u.first, regionOffsets: u.offsets })),
    end(): void {
      expireQemu(true);
      // Candidates never confirmed as devices are dropped: ordinary files are not devices.
      for (let key = inference.giveUpOldest(); key !== undefined; key = inference.giveUpOldest()) resolve(key, 'drop', undefined, undefined);
      drain();
    },
    overflowed: () => overflow,
    firstOverflow: () => firstOverflow,
  };
}

function namingText(n: DeviceRef['naming']): string {
  switch (n) {
    case 'group-get-device-fd':
      return 'VFIO_GROUP_GET_DEVICE_FD';
    case 'openat':
      return 'the openat path';
    case 'flag':
      return '--device';
    case 'path':
      return 'the open path';
    default:
      return n;
  }
}

function formatUs(ns: bigint): string {
  return `${(Number(ns) / 1000).toFixed(0)} µs`;
}

function processText(pid: number | undefined): string {
  return pid === undefined ? 'a process the trace does not name (no tgid)' : `process ${pid}`;
}

function accessResult(r: AccessRecord): OpResult {
  if (r.ret === undefined) return { ok: undefined, ret: undefined, errno: undefined };
  if (r.ret < 0) return { ok: false, ret: r.ret, errno: -r.ret };
  // A short transfer is an error to QEMU (vfio_mig_access, spec §3.2).
  return { ok: r.ret === r.size, ret: r.ret, errno: undefined };
}

function ioctlResult(ret: number | undefined): OpResult {
  if (ret === undefined) return { ok: undefined, ret: undefined, errno: undefined };
  return ret < 0 ? { ok: false, ret, errno: -ret } : { ok: true, ret, errno: undefined };
}
