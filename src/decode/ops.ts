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
  readonly naming: 'group-get-device-fd' | 'openat' | 'flag' | 'qemu' | 'pid-fd';
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

/** What the decoder emits: per-device ops, and gaps that concern every device. */
export type ProtocolOp = DeviceOp | GapOp;
