// The migration itself, as QEMU and its management stack saw it (QMP MIGRATION events,
// query-migrate replies, migrate-set-parameters, QEMU's migration trace events): what the
// `migrations` section of every output shows. Device timelines stay in DeviceTimeline;
// this is the level above them. Plain data (DESIGN.md "Data flow").

import type { Source } from '../record/types.js';

export type MigrationSide = 'source' | 'destination' | 'unknown';

/** completed / failed / cancelled: QEMU said so. unknown: the inputs end before a final status. */
export type MigrationOutcome = 'completed' | 'failed' | 'cancelled' | 'unknown';

/** Where a fact came from. */
export type MigrationEvidence = 'qmp-event' | 'query-migrate' | 'qemu-trace';

export interface MigrationStatusStep {
  /** MigrationStatus as QEMU names it (qapi/migration.json): setup, active, device, completed, … */
  readonly status: string;
  /** Wall-clock ns since the Unix epoch; undefined when the input has no usable time. */
  readonly tsNs: bigint | undefined;
  /** Every input that showed this step, with how. */
  readonly seen: readonly { readonly via: MigrationEvidence; readonly src: Source }[];
}

export interface MigrationPhase {
  /** setup → active (source); precopy: active → VM stopped; stop-copy: VM stopped → completed; load (destination): active → end. */
  readonly name: 'setup' | 'precopy' | 'stop-copy' | 'load';
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly durationMs: number;
}

export interface MigrationDeviceState {
  readonly state: string;
  readonly tsNs: bigint | undefined;
  readonly via: MigrationEvidence;
  readonly src: Source;
}

export interface MigrationDevice {
  /** QEMU's name for it: vbasedev->name (host BDF) from trace events, device-id from QMP. */
  readonly id: string;
  readonly via: readonly MigrationEvidence[];
  /** Device states in order, as QEMU reported them (VFIO_MIGRATION, vfio_migration_set_*state). */
  readonly states: readonly MigrationDeviceState[];
  /** Findings about the device that are facts, not rule verdicts (e.g. the stop-copy size was unknown to QEMU). */
  readonly notes: readonly string[];
}

/** The host a migration's inputs are from, and what said so. */
export interface MigrationHost {
  readonly name: string;
  /** e.g. "--host qemu.log=hv-07", "its own host name: capture header host= (cap.txt:1)", "libvirt's hostname: line (vm.log:1)". */
  readonly how: string;
}

export interface Migration {
  /** "source-1", "destination-1", … in order of start. */
  readonly id: string;
  readonly side: MigrationSide;
  /**
   * The host this side ran on: the name of its inputs' host (--host, the host the merge
   * plan put them on, or the name an input gives itself); absent when no input names one.
   * Inputs of two named hosts are never one migration (migration-merge.ts).
   */
  readonly host?: MigrationHost;
  /** Why this side: the first fact that decided it, or why it is unknown. */
  readonly sideEvidence: string;
  /** Inputs that contributed, in the order given. */
  readonly inputs: readonly string[];
  /**
   * wall: times are wall-clock (QEMU/libvirt stamps, or a trace clock mapped through a
   * clock-sync record). trace: the input's own trace clock, not comparable across inputs.
   * none: the inputs carry no time (e.g. a QEMU log without -msg timestamp=on): order only.
   */
  readonly clock: 'wall' | 'trace' | 'none';
  readonly startNs: bigint | undefined;
  readonly endNs: bigint | undefined;
  readonly statuses: readonly MigrationStatusStep[];
  readonly outcome: MigrationOutcome;
  readonly errorDesc: string | undefined;
  /** From query-migrate (QEMU's own figures, ms). */
  readonly setupTimeMs: number | undefined;
  readonly downtimeMs: number | undefined;
  readonly totalTimeMs: number | undefined;
  readonly expectedDowntimeMs: number | undefined;
  /** The reply these figures came from. */
  readonly figuresFrom: Source | undefined;
  /** migrate-set-parameters downtime-limit (ms) in force when the migration started. */
  readonly downtimeLimitMs: number | undefined;
  readonly ramTransferredBytes: bigint | undefined;
  readonly ramTotalBytes: bigint | undefined;
  /** query-migrate "vfio": {"transferred"} (QEMU 8.1+). */
  readonly vfioTransferredBytes: bigint | undefined;
  /** Highest MIGRATION_PASS seen. */
  readonly passes: number | undefined;
  /** QMP STOP / migration_completion_vm_stop on this side during the migration (wall ns). */
  readonly vmStopNs: bigint | undefined;
  /** QMP RESUME on this side during or right after the migration. */
  readonly vmResumeNs: bigint | undefined;
  readonly phases: readonly MigrationPhase[];
  readonly devices: readonly MigrationDevice[];
  /** The other side's migration when both hosts' inputs were given and their times overlap. */
  readonly peer: string | undefined;
  /**
   * Destination RESUME − source STOP, across hosts: assumes the hosts' clocks agree (NTP);
   * undefined without both events. QEMU's own `downtimeMs` is the figure to trust.
   */
  readonly observedDowntimeMs: number | undefined;
  /** migrate command's uri (source) or migrate-incoming's (destination). */
  readonly uri: string | undefined;
  /** Commands like migrate_cancel seen during the migration, and other facts worth a line. */
  readonly notes: readonly string[];
}
