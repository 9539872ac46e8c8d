// ProtocolOp: what the decoder makes of trace records. The decoder knows VFIO encodings
// (which fd is which device, which offset is which field); it does not know states or
// rules. The tracker and the checker consume these.

import type { Source } from '../record/types.js';
import type { V1Field } from '../protocol/v1.js';

/** Identity of a device as the decoder resolved it. */
export interface DeviceRef {
  /** Stable id used in every output: the device name when known, else "pid:fd". */
  readonly id: string;
  readonly pid: number | undefined;
  readonly fd: number;
  /** Where the name came from. */
  /**
   * openat: a /dev/vfio/devices cdev (named by the PCI address the capture resolved, else
   * vfioN); path: any other path the fd was opened by (a host-local name: never paired
   * across hosts, and QEMU's name for the device replaces it as it replaces pid:fd).
   */
  readonly naming: 'group-get-device-fd' | 'openat' | 'flag' | 'qemu' | 'qmp' | 'path' | 'pid-fd';
}

/**
 * The outcome of a syscall as far as the trace shows it. `ok` is undefined when the exit
 * was not seen (never guessed).
 */
export interface OpResult {
  readonly ok: boolean | undefined;
  /** The raw return value (bytes, fd or -errno). */
  readonly ret: number | undefined;
  /** Positive errno on failure. */
  readonly errno: number | undefined;
}

export interface OpBase {
  readonly device: DeviceRef;
  readonly tsNs: bigint | undefined;
  readonly tid: number | undefined;
  readonly comm: string | undefined;
  /** Evidence: the record(s) this op was decoded from. */
  readonly src: Source;
}

/** device_state written (v1). value undefined when the tracer did not see the buffer. */
export interface V1StateWriteOp extends OpBase {
  readonly op: 'v1-state-write';
  readonly value: number | undefined;
  readonly result: OpResult;
}

/** device_state read (v1). value undefined when unseen or when the read failed. */
export interface V1StateReadOp extends OpBase {
  readonly op: 'v1-state-read';
  readonly value: number | undefined;
  readonly result: OpResult;
}

/** A correctly sized, aligned access to one of the other header fields (v1). */
export interface V1FieldOp extends OpBase {
  readonly op: 'v1-field';
  readonly field: Exclude<V1Field, 'device_state'>;
  readonly write: boolean;
  readonly value: bigint | undefined;
  readonly result: OpResult;
}

/**
 * A header access that is not exactly one field at its native width and alignment
 * (V1-WIDTH): mis-sized, misaligned or straddling fields.
 */
export interface V1BadAccessOp extends OpBase {
  readonly op: 'v1-bad-access';
  readonly write: boolean;
  /** Offset within the region. */
  readonly regionOffset: number;
  readonly size: number;
  /** Fields the access overlaps, in offset order. */
  readonly fields: readonly V1Field[];
  readonly value: bigint | undefined;
  readonly result: OpResult;
}

/** An access to the data section (past the header) of the v1 region. */
export interface V1DataOp extends OpBase {
  readonly op: 'v1-data';
  readonly write: boolean;
  readonly regionOffset: bigint;
  readonly size: number;
  readonly result: OpResult;
}

/** VFIO_DEVICE_RESET on the device fd. */
export interface ResetOp extends OpBase {
  readonly op: 'reset';
  readonly result: OpResult;
}

/** The device's migration region became known (or was rejected as one). */
export interface RegionOp extends OpBase {
  readonly op: 'region';
  readonly index: number | undefined;
  readonly offset: bigint;
  readonly size: bigint | undefined;
  readonly source: 'region-info' | 'flag' | 'inferred' | 'qemu';
  /** Human-readable reason, e.g. the access pattern that led to an inference. */
  readonly evidence: string;
  /** For region-info: the TYPE cap seen (type/subtype). */
  readonly capType: number | undefined;
  readonly capSubtype: number | undefined;
  /** The GET_REGION_INFO reply the cap comes from, when it is not this op's own record (a region found otherwise). */
  readonly capSrc?: Source;
}

/** The device fd was opened (named). */
export interface OpenOp extends OpBase {
  readonly op: 'open';
}

/** The device fd was closed: the device's story ends here. */
export interface CloseOp extends OpBase {
  readonly op: 'close';
}

/**
 * A QEMU trace event about this device (log or ftrace backend), already parsed.
 * Used to name devices, to fill values syscall events lack and to see the VMM's intent
 * (migration failed/cancelled, VM running).
 */
export interface QemuEventOp extends OpBase {
  readonly op: 'qemu';
  readonly event: string;
  /** Parsed arguments by name (numbers as bigint, strings as given). */
  readonly args: Readonly<Record<string, bigint | string>>;
}

/** Events were lost in this window: state inferred across it is unreliable. */
export interface GapOp {
  readonly op: 'gap';
  readonly tsNs: bigint | undefined;
  readonly count: number | undefined;
  readonly src: Source;
}

/**
 * A traced process is gone (host mode: its exit, exec, or a registration that did not take):
 * every device it used is done, closed or not (its open ones got a close op just before this).
 * Emitted in trace order behind that process's ops, so whoever acts on it (watch drops the
 * device gauges of the process) has seen all of them.
 */
export interface ProcessExitOp {
  readonly op: 'process-exit';
  readonly pid: number;
  readonly why: 'exit' | 'exec' | 'unregistered';
  readonly tsNs: bigint | undefined;
  readonly src: Source;
}

export type DeviceOp =
  | V1StateWriteOp
  | V1StateReadOp
  | V1FieldOp
  | V1BadAccessOp
  | V1DataOp
  | ResetOp
  | RegionOp
  | OpenOp
  | CloseOp
  | QemuEventOp;

// ---- Protocol v2 (spec §5): VFIO_DEVICE_FEATURE, the data_fd, PRECOPY_INFO -------------
//
// Decoded from the argument words a tracer read at ioctl exit (IoctlRecord.argWords).
// Without them (ftrace, trace-cmd) the struct is invisible: the ioctl becomes a
// `v2-feature` op with undefined fields, never a guess. QEMU's own events (spec §4.3)
// arrive as `qemu` ops and are read by the tracker and checker.

/** The struct vfio_device_feature header of one VFIO_DEVICE_FEATURE ioctl (spec §5.2). */
export interface V2FeatureCall {
  /** argsz @0; undefined when the tracer did not read the struct. */
  readonly argsz: number | undefined;
  /** flags @4: feature index in bits 0–15, GET 1<<16, SET 1<<17, PROBE 1<<18. */
  readonly flags: number | undefined;
}

/**
 * A VFIO_DEVICE_FEATURE ioctl that is not one of the migration calls decoded below: the
 * struct was not seen, a PROBE, another feature (DMA logging, low power, …), or a
 * malformed call (V2-FEATURE-ARGS).
 */
export interface V2FeatureOp extends OpBase {
  readonly op: 'v2-feature';
  readonly call: V2FeatureCall;
  readonly result: OpResult;
}

/** MIGRATION (1) GET: the device's migration flags (STOP_COPY, P2P, PRE_COPY). */
export interface V2MigFlagsOp extends OpBase {
  readonly op: 'v2-mig-flags';
  readonly call: V2FeatureCall;
  /** vfio_device_feature_migration.flags from the reply; undefined when the call failed. */
  readonly migFlags: number | undefined;
  /** The whole u64 flags word as read (migFlags is its low 32 bits). */
  readonly migFlagsRaw?: bigint;
  readonly result: OpResult;
}

/** MIG_DEVICE_STATE (2) SET: a requested state, and the data_fd the kernel returned. */
export interface V2SetStateOp extends OpBase {
  readonly op: 'v2-set-state';
  readonly call: V2FeatureCall;
  /** device_state @8 as the caller set it (raw enum vfio_device_mig_state value). */
  readonly requested: number;
  /** data_fd @12 as read at exit (−1: none); undefined when the word was not read. */
  readonly dataFd: number | undefined;
  /** When dataFd ≥ 0 on success: the decoder's serial of the new data session for this device. */
  readonly session: number | undefined;
  readonly result: OpResult;
}

/** MIG_DEVICE_STATE (2) GET: the current state. */
export interface V2GetStateOp extends OpBase {
  readonly op: 'v2-get-state';
  readonly call: V2FeatureCall;
  /** undefined when the call failed. */
  readonly state: number | undefined;
  readonly dataFd: number | undefined;
  readonly result: OpResult;
}

/** MIG_DATA_SIZE (9) GET: the driver's estimate of the STOP_COPY data size. */
export interface V2DataSizeOp extends OpBase {
  readonly op: 'v2-data-size';
  readonly call: V2FeatureCall;
  readonly stopCopyLength: bigint | undefined;
  readonly result: OpResult;
}

/** What ties a data_fd op to its session: the fd and the decoder's serial for it. */
export interface V2DataFdRef {
  readonly dataFd: number;
  /** 1, 2, … per device, in the order the SETs returned data fds. */
  readonly session: number;
}

/** VFIO_MIG_GET_PRECOPY_INFO (0x3b79) on a data_fd (spec §5.4). */
export interface V2PrecopyInfoOp extends OpBase, V2DataFdRef {
  readonly op: 'v2-precopy-info';
  readonly argsz: number | undefined;
  readonly flags: number | undefined;
  /** undefined when the call failed or the struct was not read. */
  readonly initialBytes: bigint | undefined;
  readonly dirtyBytes: bigint | undefined;
  readonly result: OpResult;
}

/** read() (saving) or write() (resuming) on a data_fd. */
export interface V2DataOp extends OpBase, V2DataFdRef {
  readonly op: 'v2-data';
  readonly write: boolean;
  /** Requested byte count. */
  readonly size: number;
  /** ret = bytes moved (0 on a read: end of stream), or −errno. */
  readonly result: OpResult;
}

/** close() of a data_fd. */
export interface V2DataCloseOp extends OpBase, V2DataFdRef {
  readonly op: 'v2-data-close';
}

/** pread/pwrite on a v2 device's fd (BARs, config space; spec §6.2 V2-STOPPED-ACCESS). */
export interface V2DeviceAccessOp extends OpBase {
  readonly op: 'v2-device-access';
  readonly write: boolean;
  readonly offset: bigint;
  /** vfio-pci region index (offset >> 40, spec §1.4): BARs 0–5, ROM 6, config 7, VGA 8. */
  readonly regionIndex: number;
  readonly size: number;
  readonly result: OpResult;
}

/** Ops that only a protocol-v2 device produces. Kept apart from DeviceOp so v1 rules never see them. */
export type V2Op =
  | V2FeatureOp
  | V2MigFlagsOp
  | V2SetStateOp
  | V2GetStateOp
  | V2DataSizeOp
  | V2PrecopyInfoOp
  | V2DataOp
  | V2DataCloseOp
  | V2DeviceAccessOp;

/** Every op that concerns one device. */
export type AnyDeviceOp = DeviceOp | V2Op;

export function isV2Op(o: AnyDeviceOp): o is V2Op {
  return o.op.startsWith('v2-');
}

/** What the decoder emits: per-device ops, gaps that concern every device, and processes that are gone. */
export type ProtocolOp = DeviceOp | V2Op | GapOp | ProcessExitOp;
