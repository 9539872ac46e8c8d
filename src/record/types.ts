// The format-neutral trace record: what every parser in parsers/ produces and what
// src/decode consumes. Parsers know formats, not VFIO: nothing here interprets an
// offset, an ioctl number or a state value. See DESIGN.md "Data flow".

/** Where a record came from, so every finding can cite its evidence. */
export interface Source {
  readonly file: string;
  /** 1-based line number, for text formats. */
  readonly line?: number;
  /** Byte offset of the record, for binary formats (compressed trace.dat: of its chunk). */
  readonly byteOffset?: number;
  /** Compressed trace.dat: the record's offset inside the decompressed chunk at byteOffset. */
  readonly chunkOffset?: number | undefined;
  /** trace.dat: the CPU whose ring buffer held the record. */
  readonly cpu?: number | undefined;
}

/** Fields every record carries. Timestamps stay exact (bigint ns) until an edge needs another form. */
export interface RecordBase {
  /** Trace-clock time in nanoseconds (see InputClock); undefined when the format gives none. */
  readonly tsNs: bigint | undefined;
  /** Process id (tgid) when the tracer shows it; ftrace text shows only the thread id. */
  readonly pid: number | undefined;
  /** Thread id. */
  readonly tid: number | undefined;
  readonly comm: string | undefined;
  readonly cpu: number | undefined;
  readonly src: Source;
}

/**
 * A positioned read or write on a file descriptor. `pread64`/`pwrite64` have an offset;
 * plain `read`/`write` (v2 data_fd traffic) have none.
 */
export interface AccessRecord extends RecordBase {
  readonly kind: 'access';
  readonly op: 'pread' | 'pwrite' | 'read' | 'write';
  readonly fd: number;
  /** File offset for pread/pwrite (exact; VFIO offsets are index << 40). */
  readonly offset: bigint | undefined;
  /** Requested byte count. */
  readonly size: number;
  /**
   * The first min(size, 8) bytes of the user buffer, little-endian: for writes as
   * written, for reads as returned. undefined when the tracer could not see the buffer
   * (ftrace syscall events) — never guessed.
   */
  readonly value: bigint | undefined;
  /** Syscall return value (bytes or -errno); undefined when the exit was not seen. */
  readonly ret: number | undefined;
}

/** An ioctl with whatever of its argument the tracer could read. */
export interface IoctlRecord extends RecordBase {
  readonly kind: 'ioctl';
  readonly fd: number;
  readonly cmd: number;
  /** The argument pointer as the tracer saw it. */
  readonly arg: bigint | undefined;
  readonly ret: number | undefined;
  /**
   * Little-endian u64 words of the argument struct as read at syscall exit (index 0 is
   * bytes 0..7). Empty when the tracer could not read user memory.
   */
  readonly argWords: readonly bigint[];
}

/** A new fd naming a device (or group/container/data fd): from openat or an fd-returning ioctl. */
export interface FdOpenRecord extends RecordBase {
  readonly kind: 'fd-open';
  readonly fd: number;
  /** How the fd came to be. */
  readonly via: 'openat' | 'group-get-device-fd';
  /** For openat: the path. For GET_DEVICE_FD: the device name passed in the argument. */
  readonly name: string;
  /** The fd the ioctl was issued on (the group fd), for group-get-device-fd. */
  readonly parentFd: number | undefined;
  /**
   * For an openat of an iommufd device cdev (/dev/vfio/devices/vfioN): the PCI address the
   * capture resolved it to through sysfs (docs/capture-format.md, `vfiodev`). Absent when
   * the capture did not say (other tracers, devices not bound while capturing).
   */
  readonly resolvedName?: string;
}

/** close(fd): the fd number may be reused for an unrelated file afterwards. */
export interface FdCloseRecord extends RecordBase {
  readonly kind: 'fd-close';
  readonly fd: number;
  readonly ret: number | undefined;
}

/** A VFIO_DEVICE_GET_REGION_INFO reply as the capture decoded it from user memory. */
export interface RegionInfoRecord extends RecordBase {
  readonly kind: 'region-info';
  readonly fd: number;
  readonly index: number;
  readonly flags: number;
  readonly offset: bigint;
  readonly size: bigint;
  /** The TYPE capability (id 2), when the reply carried one. */
  readonly capType: number | undefined;
  readonly capSubtype: number | undefined;
  readonly ret: number | undefined;
}

/** Free text written by a program into the trace (trace_marker print events, QEMU's log backend). */
export interface MarkerRecord extends RecordBase {
  readonly kind: 'marker';
  readonly text: string;
}

/** The tracer says events were lost here. */
export interface LostEventsRecord extends RecordBase {
  readonly kind: 'lost-events';
  /** How many, when the tracer says. */
  readonly count: number | undefined;
}

/** Trace-clock time paired with wall-clock time, written by `migscope capture` at start. */
export interface ClockSyncRecord extends RecordBase {
  readonly kind: 'clock-sync';
  /** Name of the trace clock (e.g. "mono", "local"). */
  readonly clock: string;
  readonly traceNs: bigint;
  /** Nanoseconds since the Unix epoch. */
  readonly wallNs: bigint;
}

/**
 * A traced process is gone (it exited, or exec'd another program): its fds are closed, and
 * its pid may be reused by an unrelated process. Written by host-mode captures
 * (`migscope watch --all`), where processes come and go while the capture runs.
 */
export interface ProcessExitRecord extends RecordBase {
  readonly kind: 'process-exit';
  readonly pid: number;
  readonly why: 'exit' | 'exec' | 'unregistered';
}

/**
 * One QEMU Monitor Protocol message (a QMP transcript, libvirt's monitor log): a command
 * sent to QEMU, its reply, an asynchronous event, or the greeting. The object is kept as
 * parsed JSON: QMP is a protocol shared by several file formats, and what a message means
 * (a migration status, a VFIO device state) is read later, field by checked field.
 */
export interface QmpRecord extends RecordBase {
  readonly kind: 'qmp';
  readonly dir: 'command' | 'reply' | 'event' | 'greeting';
  /** The JSON object as parsed (untrusted: every reader checks the fields it uses). */
  readonly message: Readonly<Record<string, unknown>>;
  /** The monitor it went through when the log names one (libvirt's `mon=0x…`), to pair commands with replies. */
  readonly monitor: string | undefined;
}

/**
 * A device on the VMM's command line: one QEMU `-device` option that names a host device
 * (`host=` or `sysfsdev=`, i.e. a passed-through one) and has an `id`, as the command line
 * libvirt writes into its per-VM log carries it. Lets QMP's device-id (the `id`) and QEMU's
 * trace and a capture's name of the device (its host address) be joined. Values as written.
 */
export interface VmDeviceRecord extends RecordBase {
  readonly kind: 'vm-device';
  /** The -device driver (e.g. "vfio-pci"). */
  readonly driver: string;
  readonly id: string;
  /** host= (a PCI address, e.g. "0000:65:00.1" or "65:00.1"). */
  readonly host: string | undefined;
  /** sysfsdev= (a sysfs path, e.g. of an mdev). */
  readonly sysfsdev: string | undefined;
  /** How the option was written: libvirt ≥ 7's JSON (`-device '{"driver":…}'`) or QEMU's key=value list. */
  readonly syntax: 'json' | 'keyval';
}

export type TraceRecord =
  | AccessRecord
  | IoctlRecord
  | FdOpenRecord
  | FdCloseRecord
  | RegionInfoRecord
  | MarkerRecord
  | LostEventsRecord
  | ClockSyncRecord
  | ProcessExitRecord
  | QmpRecord
  | VmDeviceRecord;

export type TraceRecordKind = TraceRecord['kind'];

/**
 * What is wrong with a piece of input:
 * - malformed: a line or block that could not be parsed (dropped);
 * - truncated: the input ends in the middle of a line or block (dropped);
 * - time-backwards: a record earlier than the one before it on the same CPU (ftrace,
 *   trace-cmd) or thread (bpftrace); kept in file order, its time held at the latest time
 *   of that CPU/thread so that nothing downstream sees time run backwards (parsers/stream-order.ts);
 * - duplicate: the same record a second time (overlapping captures, a repeated line); dropped.
 */
export type InputProblemKind = 'malformed' | 'truncated' | 'time-backwards' | 'duplicate';

/** Something in the input that could not be used as it is, with where it is. */
export interface InputProblem {
  readonly src: Source;
  readonly message: string;
  /** Absent means 'malformed' (the parsers that predate the kinds). */
  readonly kind?: InputProblemKind;
  /**
   * Trace time next to the problem, so that a finding whose evidence is near it can be
   * marked uncertain: the record's own time for time-backwards and duplicate (as the input
   * gave it), the time of the last good record before it for malformed and truncated.
   * Absent when no timestamped record came before it.
   */
  readonly tsNs?: bigint;
}

/**
 * What a parser talks to. Push-based so the same parser serves a file, stdin and a live
 * pipe without buffering (DESIGN.md: one direction, streaming).
 */
export interface ParserSink {
  /** A record that may matter to VFIO decoding. Counts toward input.records. */
  record(r: TraceRecord): void;
  /** A well-formed record of no interest (another syscall, another event). Counts toward input.records. */
  skipped(count?: number): void;
  /**
   * A problem with the input; parsing goes on. Counts by kind: malformed and truncated
   * toward input.malformed, duplicate toward input.duplicates, time-backwards toward
   * input.timeBackwards; every problem is listed in input.problems (first 200).
   */
  malformed(p: InputProblem): void;
  /** The trace clock this input uses, once known (e.g. "mono" for bpftrace nsecs). */
  clock(name: string): void;
  /**
   * The host the input says it was recorded on, once known: a migscope capture header's
   * `host=`, trace.dat's UNAME nodename, libvirt's `hostname:` line. `name` has passed
   * parsers/text/host-name.ts (a bad one is reported through malformed instead); `how`
   * says where it was read, with file:line or byte offset. Optional: a sink that does not
   * care leaves it out. Inputs merge by it (src/cli/input-merge.ts).
   */
  host?(name: string, how: string): void;
}

/** A line-oriented parser: fed one line at a time (without the newline), 1-based numbers. */
export interface LineParser {
  /**
   * `unterminated` is true for a last line the input ended without a newline after: the
   * file was probably cut in the middle of it (a killed capture, a full disk), so a parser
   * that cannot read it reports it as truncated rather than malformed.
   */
  line(text: string, lineNo: number, unterminated?: boolean): void;
  /**
   * Optional fast path (parsers/lines.ts): the line as bytes b[start, end) of pure-ASCII
   * input, without its newline (and "\r"), before any string is made. Returns true when the
   * parser has dealt with the line (e.g. counted a line of no interest as skipped); false
   * to be given it through line() as usual, with the same lineNo, right after.
   */
  lineBytes?(b: Uint8Array, start: number, end: number, lineNo: number): boolean;
  /**
   * Optional, with lineBytes: `count` lines in a row that lineBytes would have dealt with
   * (returned true for), found so by a filter that ran the parser's own byte test ahead of
   * it on another thread (parsers/line-filter.ts); they never reach the parser.
   */
  skipLines?(count: number): void;
  /**
   * Optional, with lineBytes: an event line of interest whose prefix the same filter
   * scanned: scan[at, at + 8) is its kind and PrefixScan fields (parsers/line-filter.ts
   * SCAN_INTS); as line(), without scanning the prefix again.
   */
  lineScanned?(text: string, lineNo: number, scan: Int32Array, at: number): void;
  /** End of input: flush anything pending (e.g. a syscall entry that never saw its exit). */
  end(): void;
  /** Per-stream entries (threads, CPUs) the parser holds now (tests of host mode's memory: bounded by live processes). */
  liveEntries?(): number;
}
