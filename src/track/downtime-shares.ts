// Each device's share of a migration's downtime, settled after the last input (like
// stream-pairing.ts): a save's stop-copy against the other devices' stop-copies that
// overlapped it (the longest of them, and which device dominated), and QEMU's own downtime
// figure (query-migrate) of the migration the stop-copy fell in. Times of different inputs
// are compared only on one clock: wall-clock, or one input's own trace clock.

import type { Migration } from './migration-types.js';
import type { DeviceTimeline, MigrationSession, SessionConvergence } from './types.js';

export interface ClockContext {
  /** The clock each input reported. */
  readonly clockOf: (file: string) => string | undefined;
  /** wall = trace + offset (clock-sync record or --clock-offset). */
  readonly traceOffsetNs: bigint | undefined;
}

interface Window {
  readonly device: string;
  readonly file: string | undefined;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly durNs: bigint;
}

function windowOf(device: string, s: MigrationSession): Window | undefined {
  const c = s.convergence;
  if (c?.stopCopyStartNs === undefined || c.stopCopyEndNs === undefined || c.actualStopCopyNs === undefined) return undefined;
  return { device, file: s.src?.file, startNs: c.stopCopyStartNs, endNs: c.stopCopyEndNs, durNs: c.actualStopCopyNs };
}

/** The window on wall-clock time, or undefined when its input's clock cannot be put there. */
function wall(w: Window, ctx: ClockContext): { start: bigint; end: bigint } | undefined {
  if (w.file === undefined) return undefined;
  if (ctx.clockOf(w.file) === 'realtime') return { start: w.startNs, end: w.endNs };
  if (ctx.traceOffsetNs !== undefined && ctx.clockOf(w.file) !== 'order-only' && ctx.clockOf(w.file) !== undefined) return { start: w.startNs + ctx.traceOffsetNs, end: w.endNs + ctx.traceOffsetNs };
  return undefined;
}

function overlaps(a: Window, b: Window, ctx: ClockContext): boolean {
  if (a.file !== undefined && a.file === b.file) return a.startNs <= b.endNs && b.startNs <= a.endNs;
  const wa = wall(a, ctx);
  const wb = wall(b, ctx);
  return wa !== undefined && wb !== undefined && wa.start <= wb.end && wb.start <= wa.end;
}

/** The source-side migration whose span holds the stop-copy window, on a clock both share. */
function migrationOf(w: Window, migrations: readonly Migration[], ctx: ClockContext): Migration | undefined {
  const found = migrations.filter((m) => {
    if (m.side === 'destination' || m.startNs === undefined || m.endNs === undefined) return false;
    if (m.clock === 'wall') {
      const ww = wall(w, ctx);
      return ww !== undefined && ww.start >= m.startNs && ww.end <= m.endNs;
    }
    // A trace-clock migration is comparable only with its own input's times.
    return m.clock === 'trace' && w.file !== undefined && m.inputs.includes(w.file) && w.startNs >= m.startNs && w.endNs <= m.endNs;
  });
  return found.length === 1 ? found[0] : undefined;
}

/** The devices with each save's downtime split filled in (otherDevicesNs, dominantDevice, migrationDowntimeMs). */
export function withDowntimeShares(devices: readonly DeviceTimeline[], migrations: readonly Migration[], ctx: ClockContext): DeviceTimeline[] {
  const windows: Window[] = [];
  for (const d of devices) for (const s of d.sessions) {
    const w = windowOf(d.id, s);
    if (w !== undefined) windows.push(w);
  }
  if (windows.length === 0) return [...devices];
  return devices.map((d) => {
    let changed = false;
    const sessions = d.sessions.map((s) => {
      const w = windowOf(d.id, s);
      const c = s.convergence;
      if (w === undefined || c === undefined) return s;
      const others = windows.filter((o) => o.device !== d.id && overlaps(w, o, ctx));
      const longest = others.reduce<Window | undefined>((a, b) => (a === undefined || b.durNs > a.durNs ? b : a), undefined);
      const m = migrationOf(w, migrations, ctx);
      const downtime: SessionConvergence['downtime'] = {
        ...c.downtime,
        ...(longest !== undefined ? { otherDevicesNs: longest.durNs } : {}),
        ...(m?.downtimeMs !== undefined ? { migrationDowntimeMs: m.downtimeMs } : {}),
        dominantDevice: longest !== undefined && longest.durNs > w.durNs ? longest.device : d.id,
      };
      changed = true;
      return { ...s, convergence: { ...c, downtime } };
    });
    return changed ? { ...d, sessions } : d;
  });
}
