// V1-GROUP-RECOVER (migscope's own rule, issue 2; the principle of spec §6.1
// V1-FAIL-RECOVER and §2.7 [REV: Dave Gilbert / Alex 2020-01-07] applied to a VM with
// several devices): when one device of a process fails a transition during a migration,
// the migration fails for all of them, so every other device of that process that the
// migration moved out of RUNNING must be taken back to RUNNING as well.
//
// Devices belong together when they share a pid; without a pid (ftrace text without
// tgid) devices are not grouped and the rule stays quiet.

import type { DeviceOp, V1StateWriteOp } from '../../decode/ops.js';
import { V1_STATE_MASK } from '../../protocol/v1.js';
import { gapSince, stateEvidence, type DeviceContext } from '../../track/device-view.js';
import { evidence, isHardFailure, resultText, stateText } from '../format.js';
import type { ActiveMigration } from '../../track/migration-episode.js';
import type { GlobalRuleDef } from '../rule.js';
import type { Evidence } from '../types.js';

interface GroupFailure {
  readonly device: DeviceContext;
  readonly write: V1StateWriteOp;
  readonly fromRaw: number | undefined;
  readonly gapSerial: number;
  /** The process group (see groupOf). */
  readonly group: string;
}

function entersMigration(raw: number): boolean {
  const low = raw & V1_STATE_MASK;
  return low === 2 || low === 3 || low === 4;
}

export const v1GroupRecover: GlobalRuleDef = {
  scope: 'global',
  id: 'V1-GROUP-RECOVER',
  title: 'Other devices of the VM not returned to RUNNING',
  severities: ['warning'],
  blames: ['vmm'],
  specRef: 'migscope rule (issue 2), extending spec §6.1 V1-FAIL-RECOVER; §2.7 [REV: Dave Gilbert / Alex 2020-01-07]',
  description:
    'When one device of a process (same pid) fails a device_state transition during a migration, the migration fails for the whole VM: every other device of that process that the migration moved out of RUNNING must be taken back to RUNNING (001b) too. A VMM warning, reported for each such device whose migration ends (QEMU\'s notifier reports failed/cancelled, QEMU resumes the VM, the device is closed, or the trace ends) while it is still in another state. Quiet for devices that failed themselves (V1-FAIL-RECOVER) or whose state is unknown. Without a pid (trace-cmd records, ftrace without tgid), devices whose device_state the same thread wrote are of one process: a thread belongs to exactly one process.',
  uncertainWhen: 'Events were lost after the failure: the write that took the device back to RUNNING may have been among them.',
  create(env) {
    // Live devices per pid, the open failure per pid, and which device migrations were
    // running when it happened. All bounded by the number of live devices: emptied as each
    // device finishes, and a gone process's entries dropped at its eviction (host mode).
    // Maps rather than WeakMaps keyed by the tracker's views: they are iterated (the
    // siblings of a process), and counted by liveEntries.
    // A group is a process: `pid:N`, or without a pid `tid:FILE:T`, the thread that wrote
    // the device's device_state (QEMU's migration thread writes every device's).
    const byPid = new Map<string, Map<string, DeviceContext>>();
    const failures = new Map<string, GroupFailure>();
    const threadGroup = new Map<string, string>(); // device key → tid group, for devices without a pid
    /** "pid:N" by N: made once per process, not on every op (this rule sees every op of the trace). */
    const pidGroups = new Map<number, string>();
    const pidGroup = (pid: number): string => {
      let g = pidGroups.get(pid);
      if (g === undefined) {
        if (pidGroups.size >= 4096) pidGroups.clear(); // bounded however many processes a host sees
        g = `pid:${pid}`;
        pidGroups.set(pid, g);
      }
      return g;
    };
    const groupOf = (o: DeviceOp, ctx: DeviceContext): string | undefined => {
      if (ctx.device.pid !== undefined) return pidGroup(ctx.device.pid);
      const had = threadGroup.get(ctx.key);
      if (o.op !== 'v1-state-write' || o.tid === undefined) return had;
      const now = `tid:${o.src.file}:${o.tid}`;
      if (had !== undefined && had !== now) byPid.get(had)?.delete(ctx.key);
      threadGroup.set(ctx.key, now);
      return now;
    };
    const groupText = (group: string, ctx: DeviceContext): string =>
      group.startsWith('pid:') ? `of the same process (pid ${ctx.device.pid})` : `of the same process (the trace names no pid; thread ${group.slice(group.lastIndexOf(':') + 1)} wrote the device_state of both)`;
    const affected = new Map<string, { readonly failure: GroupFailure; readonly migration: ActiveMigration }>();

    const attach = (pid: string, f: GroupFailure): void => {
      for (const other of byPid.get(pid)?.values() ?? []) {
        const m = other.migration.active;
        if (other.key === f.device.key || m === undefined || affected.has(other.key)) continue;
        affected.set(other.key, { failure: f, migration: m });
      }
    };

    const forget = (ctx: DeviceContext): void => {
      const pid = ctx.device.pid !== undefined ? `pid:${ctx.device.pid}` : threadGroup.get(ctx.key);
      if (pid === undefined) return;
      const anyActive = [...(byPid.get(pid)?.values() ?? [])].some((d) => d.key !== ctx.key && d.migration.active !== undefined);
      if (!anyActive) failures.delete(pid);
    };

    return {
      op(o, ctx) {
        const pid = groupOf(o, ctx);
        if (pid === undefined) return;
        // Written only when they change (every op of the trace passes here; setting an
        // existing key to the same value changes nothing, not even the order).
        let devs = byPid.get(pid);
        if (devs === undefined) {
          devs = new Map<string, DeviceContext>();
          byPid.set(pid, devs);
        }
        if (devs.get(ctx.key) !== ctx) devs.set(ctx.key, ctx);
        const open = failures.get(pid);
        // A device whose migration started after the failure of a sibling is in the same boat.
        if (open !== undefined && open.device.key !== ctx.key && ctx.migration.active !== undefined && !affected.has(ctx.key)) {
          affected.set(ctx.key, { failure: open, migration: ctx.migration.active });
        }
        if (o.op !== 'v1-state-write' || !isHardFailure(o.result)) return;
        if (ctx.migration.active === undefined && !(o.value !== undefined && entersMigration(o.value))) return;
        if (open !== undefined) return; // the first failure tells the story
        const f: GroupFailure = { device: ctx, write: o, fromRaw: ctx.state?.raw, gapSerial: ctx.gaps.count, group: pid };
        failures.set(pid, f);
        attach(pid, f);
      },
      migrationEnd(end, ctx) {
        const a = affected.get(ctx.key);
        if (a !== undefined && a.migration === end.migration) {
          affected.delete(ctx.key);
          const s = ctx.state;
          const moved = end.migration.movedOutOfRunning;
          if (!end.backToRunning && end.migration.failure === undefined && moved !== undefined && s !== undefined && (s.raw & V1_STATE_MASK) !== 1) {
            const f = a.failure;
            const ev: Evidence[] = [
              evidence(f.write, `device ${f.device.device.id} failed`),
              { src: moved.src, what: `${moved.what} (the migration moved this device out of RUNNING)` },
              stateEvidence(s, 'state this device was left in'),
            ];
            if (end.src !== undefined) ev.push({ src: end.src, what: `migration over: ${end.reason}` });
            const arc = f.fromRaw === undefined ? '' : ` ${stateText(f.fromRaw)} →`;
            env.report(ctx, {
              severity: 'warning',
              blame: 'vmm',
              tsNs: end.tsNs ?? s.tsNs,
              message: `Device ${f.device.device.id} ${groupText(f.group, ctx)} failed the transition${arc} ${f.write.value === undefined ? '(value not seen)' : stateText(f.write.value)} (write ${resultText(f.write.result)}) during the migration. This device, ${ctx.device.id}, had been moved out of RUNNING by the migration and was left in ${stateText(s.raw)} when its migration ended (${end.reason}). When one device fails, the VMM must take every device it moved out of RUNNING back to RUNNING (001b).`,
              evidence: ev,
              uncertain: gapSince(ctx, f.gapSerial),
            });
          }
        }
        forget(ctx);
      },
      processEvicted(f) {
        // Nothing left to decide: each device of the process had its migration end (where
        // this rule reports a sibling left out of RUNNING) and its finish at its close, and
        // the decoder closes every fd of a process before its exit. So finish() emptied these
        // already; this drops whatever a device seen only without its close would leave.
        const pid = `pid:${f.pid}`;
        pidGroups.delete(f.pid);
        byPid.delete(pid);
        failures.delete(pid);
        for (const d of f.devices) {
          threadGroup.delete(d.key);
          affected.delete(d.key);
        }
      },
      liveEntries: () => [...byPid.values()].reduce((n, m) => n + m.size, 0) + failures.size + threadGroup.size + affected.size,
      finish(_reason, _at, ctx) {
        const pid = ctx.device.pid !== undefined ? `pid:${ctx.device.pid}` : threadGroup.get(ctx.key);
        threadGroup.delete(ctx.key);
        affected.delete(ctx.key);
        if (pid === undefined) return;
        const devs = byPid.get(pid);
        devs?.delete(ctx.key);
        if (devs !== undefined && devs.size === 0) {
          byPid.delete(pid);
          failures.delete(pid);
        }
      },
    };
  },
};
