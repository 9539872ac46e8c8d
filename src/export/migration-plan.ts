// What one migration (the `migrations` section, track/migration-types.ts) becomes in
// OpenTelemetry (docs/telemetry.md "Migration spans"): a root span `qemu.migration.source`
// or `.destination` over the migration, one child span per phase (setup, precopy,
// stop-copy, load), an event per status step, QEMU's figures as attributes, an error
// status when it failed. Names and attributes are migscope's own (`qemu.migration.*`):
// OpenTelemetry has no semantic conventions for VM migration.

import { SpanKind } from '@opentelemetry/api';
import type { Attributes, HrTime } from '@opentelemetry/api';
import type { ClockMapping } from '../analysis/types.js';
import type { Migration } from '../track/migration-types.js';
import type { SessionPlan, StatePlan } from './session-plan.js';
import { nsToHrTime, toWallNs, wallClockOf } from './time.js';
import { ATTR } from './conventions.js';

export const MIGRATION_SPAN = {
  root: (side: Migration['side']): string => `qemu.migration.${side}`,
  phase: (name: string): string => `qemu.migration.phase.${name}`,
  statusEvent: 'qemu.migration.status',
} as const;

export const MIGRATION_ATTR = {
  id: 'qemu.migration.id',
  side: 'qemu.migration.side',
  outcome: 'qemu.migration.outcome',
  statuses: 'qemu.migration.statuses',
  status: 'qemu.migration.status',
  errorDesc: 'qemu.migration.error_desc',
  setupTimeMs: 'qemu.migration.setup_time_ms',
  downtimeMs: 'qemu.migration.downtime_ms',
  totalTimeMs: 'qemu.migration.total_time_ms',
  downtimeLimitMs: 'qemu.migration.downtime_limit_ms',
  observedDowntimeMs: 'qemu.migration.observed_downtime_ms',
  ramBytes: 'qemu.migration.ram.transferred_bytes',
  vfioBytes: 'qemu.migration.vfio.transferred_bytes',
  passes: 'qemu.migration.passes',
  devices: 'qemu.migration.devices',
  peer: 'qemu.migration.peer',
  inputs: 'migscope.inputs',
  clock: 'migscope.migration.clock',
  via: 'migscope.evidence',
} as const;

/** undefined when the migration has no time at all (order-only inputs): nothing to place on a trace. */
export function planMigration(m: Migration, clock: ClockMapping, host: string | undefined): SessionPlan | undefined {
  if (m.startNs === undefined || m.endNs === undefined) return undefined;
  // Wall-clock migrations carry Unix-epoch ns already; trace-clock ones go through the analysis' mapping.
  const wall = wallClockOf(clock);
  const t = (ns: bigint): HrTime => nsToHrTime(m.clock === 'wall' ? ns : toWallNs(ns, wall));
  const attributes: Attributes = {
    [MIGRATION_ATTR.id]: m.id,
    [MIGRATION_ATTR.side]: m.side,
    [MIGRATION_ATTR.outcome]: m.outcome,
    [MIGRATION_ATTR.statuses]: m.statuses.map((s) => s.status),
    [MIGRATION_ATTR.inputs]: [...m.inputs],
    [MIGRATION_ATTR.clock]: m.clock === 'wall' ? 'wall' : wall.source,
    [MIGRATION_ATTR.devices]: m.devices.map((d) => d.id),
  };
  const put = (k: string, v: number | bigint | string | undefined): void => {
    if (v !== undefined) attributes[k] = typeof v === 'bigint' ? Number(v) : v;
  };
  put(MIGRATION_ATTR.errorDesc, m.errorDesc);
  put(MIGRATION_ATTR.setupTimeMs, m.setupTimeMs);
  put(MIGRATION_ATTR.downtimeMs, m.downtimeMs);
  put(MIGRATION_ATTR.totalTimeMs, m.totalTimeMs);
  put(MIGRATION_ATTR.downtimeLimitMs, m.downtimeLimitMs);
  put(MIGRATION_ATTR.observedDowntimeMs, m.observedDowntimeMs);
  put(MIGRATION_ATTR.ramBytes, m.ramTransferredBytes);
  put(MIGRATION_ATTR.vfioBytes, m.vfioTransferredBytes);
  put(MIGRATION_ATTR.passes, m.passes);
  put(MIGRATION_ATTR.peer, m.peer);
  if (host !== undefined) attributes[ATTR.hostName] = host;
  const events = m.statuses
    .filter((s) => s.tsNs !== undefined)
    .map((s) => ({ name: MIGRATION_SPAN.statusEvent, time: t(s.tsNs ?? 0n), attributes: { [MIGRATION_ATTR.status]: s.status, [MIGRATION_ATTR.via]: [...new Set(s.seen.map((e) => e.via))] } }));
  const root = {
    name: MIGRATION_SPAN.root(m.side),
    kind: SpanKind.INTERNAL,
    start: t(m.startNs),
    end: t(m.endNs),
    attributes,
    events,
    error: m.outcome === 'failed' ? `migration failed${m.errorDesc !== undefined ? `: ${m.errorDesc}` : ''}` : m.outcome === 'cancelled' ? 'migration cancelled' : undefined,
  };
  const states: StatePlan[] = m.phases.map((p) => ({
    name: MIGRATION_SPAN.phase(p.name),
    kind: SpanKind.INTERNAL,
    start: t(p.startNs),
    end: t(p.endNs),
    attributes: { [MIGRATION_ATTR.id]: m.id },
    events: [],
    error: undefined,
    state: p.name,
    durationNs: p.endNs - p.startNs,
    clipped: false,
  }));
  return { root, states, timed: true };
}
