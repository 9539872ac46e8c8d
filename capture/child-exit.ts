// Waiting for a child process's exit, bounded: a capture reports a started command's exit
// status, but must not wait forever for a command that outlives the capture (issue 14).

import type { ChildProcess } from 'node:child_process';

/** Resolves true once `c` has exited (or when there is none), false after `maxMs` (undefined: no limit). */
export function childExited(c: ChildProcess | undefined, maxMs?: number): Promise<boolean> {
  if (c === undefined || c.exitCode !== null || c.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = maxMs !== undefined ? setTimeout(() => resolve(false), maxMs) : undefined;
    t?.unref();
    c.once('exit', () => {
      if (t !== undefined) clearTimeout(t);
      resolve(true);
    });
  });
}
