// Host mode (`migscope watch --all`): which processes on the host are VMMs, and telling
// capture/migscope.bt to trace them. bpftrace has no regular expressions, so the decision is
// made here, by name, and handed to the kernel side through its control channel:
// getpriority(PRIO_PROCESS, P) from this process adds P to the program's @vmm map,
// getpriority(PRIO_PROCESS, -P) removes it (Node makes that call as os.getPriority; see
// the "host mode" probes in migscope.bt). The kernel side drops a process itself when it
// exits or execs, so this module only adds processes: the ones running at start (/proc)
// and the ones whose `exec` record names a VMM.

import { getPriority } from 'node:os';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';

/**
 * QEMU by name: the program (`qemu-system-x86_64`, `qemu-kvm`) or its comm, which the
 * kernel cuts to 15 bytes (`qemu-system-x86`). Matched against the thread-group leader
 * only: QEMU renames its other threads ("CPU 0/KVM", "IO mon_iothread").
 */
export const DEFAULT_VMM_MATCH = /^(qemu-system-.+|qemu-kvm)$/;

/** What a process is called: its comm (≤ 15 bytes) and the program it runs (exec path). */
export interface ProcessName {
  readonly comm: string;
  readonly exe: string | undefined;
}

/** True when the comm or the program's file name matches (a regex the user may give as --match). */
export function isVmm(match: RegExp, p: ProcessName): boolean {
  return match.test(p.comm) || (p.exe !== undefined && match.test(basename(p.exe)));
}

/** `<ts> exec pid=P tid=T comm=C path=PATH` (migscope.bt, host mode). */
const EXEC_LINE = /^\d+ exec pid=(\d+) tid=\d+ comm=(.*?) path=(.*)$/;

export function parseExecLine(line: string): ({ readonly pid: number } & ProcessName) | undefined {
  const m = EXEC_LINE.exec(line);
  if (m === null) return undefined;
  return { pid: Number(m[1]), comm: m[2] ?? '', exe: m[3] };
}

function readName(procRoot: string, pid: number): ProcessName | undefined {
  try {
    const comm = readFileSync(`${procRoot}/${pid}/comm`, 'utf8').replace(/\n$/, '');
    let exe: string | undefined;
    try {
      exe = readlinkSync(`${procRoot}/${pid}/exe`);
    } catch {
      exe = undefined; // a kernel thread, or gone
    }
    return { comm, exe };
  } catch {
    return undefined;
  }
}

/** Processes running now whose name matches, except the ones in `exclude` (migscope, bpftrace). */
export function runningVmms(match: RegExp, exclude: ReadonlySet<number>, procRoot = '/proc'): ({ readonly pid: number } & ProcessName)[] {
  const out: ({ readonly pid: number } & ProcessName)[] = [];
  for (const e of readdirSync(procRoot)) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (exclude.has(pid)) continue;
    const n = readName(procRoot, pid);
    if (n !== undefined && isVmm(match, n)) out.push({ pid, ...n });
  }
  return out;
}

/** Ask the kernel side to trace `pid`; false if the process is gone (the call failed). */
export function registerVmm(pid: number): boolean {
  try {
    getPriority(pid);
    return true;
  } catch {
    return false;
  }
}

/** Ask the kernel side to stop tracing `pid` (it exited before its registration took effect). */
export function unregisterVmm(pid: number): void {
  try {
    getPriority(-pid);
  } catch {
    // the call always fails (no process -P); the probe saw it at entry
  }
}
