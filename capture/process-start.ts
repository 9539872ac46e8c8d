// A process's start time, which with its pid names one process for good: a pid alone may
// be reused. Owner marks of tracefs state (tracefs.ts ownerMark) and of the event-defs lock
// (event-defs-lock.ts) use it to tell a dead owner from a live one.

import { readFileSync } from 'node:fs';

/** Start time of a process (clock ticks since boot), or undefined when it is gone. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after the comm (which may hold spaces and parentheses): state is field 3
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = rest[19];
    return start !== undefined && /^\d+$/.test(start) ? start : undefined;
  } catch {
    return undefined;
  }
}
