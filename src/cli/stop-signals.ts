// SIGINT / SIGTERM handling shared by every command (issue 14: "never hang").
//
// The first signal asks the command to stop: it stops reading or tracing, finishes its
// output and export, prints its summary, and exits with its usual status. A second signal
// (the operator pressing Ctrl-C again, or systemd's stop after its own timeout) stops at
// once: the 'exit' hooks still run (capture/ftrace.ts guardCleanup removes the tracefs
// state synchronously), and the status says the work was not finished (exit-codes.ts).

import { EXIT_EXPORT_FAILED, EXIT_USAGE } from './exit-codes.js';

export interface StopSignals {
  /** True once a first signal came. */
  readonly requested: boolean;
  /** Resolves at the first signal. */
  readonly stopped: Promise<NodeJS.Signals>;
  /** Remove the handlers (the command is done). */
  dispose(): void;
}

export interface StopSignalOptions {
  readonly command: string;
  /** Called once, at the first signal. */
  readonly onStop?: (signal: NodeJS.Signals) => void;
  /** An export would be abandoned by a forced exit: exit 3 (data lost) instead of 2. */
  readonly exporting?: () => boolean;
}

export function handleStopSignals(o: StopSignalOptions): StopSignals {
  let count = 0;
  let resolveStopped: (s: NodeJS.Signals) => void = () => undefined;
  const stopped = new Promise<NodeJS.Signals>((r) => (resolveStopped = r));
  const onSignal = (sig: NodeJS.Signals): void => {
    count++;
    if (count === 1) {
      resolveStopped(sig);
      o.onStop?.(sig);
      return;
    }
    const status = o.exporting?.() === true ? EXIT_EXPORT_FAILED : EXIT_USAGE;
    process.stderr.write(`\nmigscope ${o.command}: second ${sig}: stopping now, without finishing (exit ${status})\n`);
    process.exit(status);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    get requested() {
      return count > 0;
    },
    stopped,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
