// What every capture back end (bpftrace today; ftrace and trace-cmd later) offers to
// `migscope capture` and to the lab. A new tracer is one new file implementing `Tracer`
// plus one line in capture/tracers.ts.

/** What to trace: a running process, or a command the capture starts (and stops with). */
export type CaptureTarget =
  | { readonly kind: 'pid'; readonly pid: number }
  | { readonly kind: 'command'; readonly argv: readonly string[] }
  /**
   * Host mode: every process whose thread-group leader's comm or program name matches,
   * those that start later included, each dropped when it exits (capture/vmm-registry.ts).
   * One tracer for all; bpftrace only.
   */
  | { readonly kind: 'all'; readonly match: RegExp };

export interface CaptureOptions {
  readonly target: CaptureTarget;
  /** File to write; created or truncated. */
  readonly output: string;
  /** Tracer output flavour; tracers that have only one ignore it. */
  readonly format: 'text' | 'json';
  /** Also record read()/write() (v2 data_fd traffic). */
  readonly readWrite: boolean;
  /** Diagnostics for a human (stderr of the tracer, progress). */
  readonly log?: (message: string) => void;
  /** Every complete line written to the output, in order (for live summaries). */
  readonly onLine?: (line: string) => void;
  /** Where sysfs is (default /sys): iommufd cdevs are named by the PCI address found there (capture/vfio-cdev.ts). Tests pass a fake tree. */
  readonly sysfsRoot?: string;
  /**
   * After stop(), how long `done` waits for a started command to exit so that its status
   * can be reported (default: forever). The command is never killed by the capture once it
   * runs: like `trace-cmd record -- CMD` it gets the terminal's Ctrl-C itself (same process
   * group); a SIGTERM to migscope alone leaves it running, untraced (README "Exit status, signals, colours").
   */
  readonly commandWaitMs?: number;
}

export interface CaptureResult {
  readonly output: string;
  /** Lines written to the output file. */
  readonly lines: number;
  /** Exit status of the started command (command targets), when it exited normally. */
  readonly commandExitCode: number | undefined;
  /** Signal that ended the started command, if any. */
  readonly commandSignal: string | undefined;
  /** How the tracer itself ended: 0 = clean. */
  readonly tracerExitCode: number | undefined;
  /** Why the capture stopped. */
  readonly stoppedBy: 'target-exited' | 'stop-requested' | 'tracer-exited';
  /** A started command still ran when `done` resolved (commandWaitMs passed): it runs on, untraced. */
  readonly commandRunning?: boolean;
}

export interface CaptureHandle {
  /** The traced process (for command targets: the command's pid, known before it runs); undefined in host mode. */
  readonly pid: number | undefined;
  /** Resolves once the tracer is attached and the target is being traced. */
  readonly attached: Promise<void>;
  /** Resolves when the output file is complete. */
  readonly done: Promise<CaptureResult>;
  /** Stop tracing (e.g. on SIGINT); the output is completed, then `done` resolves. */
  stop(): void;
}

export interface Availability {
  readonly ok: boolean;
  /** Why not, in words a user can act on. */
  readonly reason?: string;
}

export interface Tracer {
  readonly name: string;
  /** One line for --help. */
  readonly description: string;
  available(): Promise<Availability>;
  start(options: CaptureOptions): Promise<CaptureHandle>;
}

/** A capture that could not start (missing tool, no permission, bad target): CLI exit 2. */
export class CaptureSetupError extends Error {
  override readonly name = 'CaptureSetupError';
}
