// A save's stop-copy window (convergence.ts: when the device left pre-copy for stop-copy and
// when that ended) as downtime-shares.ts compares it with the other devices' windows, and
// the same window as a short text: a spilled session list keeps that text before each
// session (session-list.ts, spilled-list.ts SpillHead), so the pass that gathers every
// window reads a few bytes a session instead of decoding it.

import type { MigrationSession } from './types.js';

export interface Window {
  readonly device: string;
  readonly file: string | undefined;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly durNs: bigint;
}

export function windowOf(device: string, s: MigrationSession): Window | undefined {
  const c = s.convergence;
  if (c?.stopCopyStartNs === undefined || c.stopCopyEndNs === undefined || c.actualStopCopyNs === undefined) return undefined;
  return { device, file: s.src?.file, startNs: c.stopCopyStartNs, endNs: c.stopCopyEndNs, durNs: c.actualStopCopyNs };
}

/** The window of `s` as text ('' when it has none): what windowFromHead reads back. */
export function windowHead(s: MigrationSession): string {
  const w = windowOf('', s);
  return w === undefined ? '' : JSON.stringify([w.file ?? null, String(w.startNs), String(w.endNs), String(w.durNs)]);
}

/** The window windowHead wrote, for `device`; undefined for '' (no window). */
export function windowFromHead(device: string, head: string): Window | undefined {
  if (head === '') return undefined;
  const [file, start, end, dur] = JSON.parse(head) as [string | null, string, string, string];
  return { device, file: file ?? undefined, startNs: BigInt(start), endNs: BigInt(end), durNs: BigInt(dur) };
}
