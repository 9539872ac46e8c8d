// The checker: ProtocolOps in (all devices interleaved, in time order), Findings out
// through a callback as soon as they are known, so `migscope watch` can print them live.
// State is per device (device-context.ts) and per rule instance; nothing grows with the
// length of the trace. Closed devices are forgotten.

import { isV2Op, type AnyDeviceOp, type ProtocolOp } from '../decode/ops.js';
import type { Source } from '../record/types.js';
import { applyOp, deviceKey, type DeviceContext, type DeviceContextFields, type GapCounter } from './device-context.js';
import { finishMigration, newMigrationState, settleBefore, updateAfter, type MigrationEnd } from './migration-context.js';
import type { FinishReason, RuleDef, RuleEnv, RuleHooks, RuleInfo, RuleOptions } from './rule.js';
import { ALL_RULES } from './rules/index.js';
import { applyV2, newV2Context, settleV2Before } from './rules/v2-context.js';
import type { Finding } from './types.js';

export interface CheckerOptions {
  /** Called for every finding, in the order they are found. */
  readonly onFinding: (f: Finding) => void;
  /** V1-EAGAIN: report after more than this many consecutive EAGAIN failures (default 3). */
  readonly eagainLimit?: number;
  /** V1-SEGMENTS: data_size values kept per save/resume session for comparison (default 4096). */
  readonly segmentsKept?: number;
  /** The rules to run (default: every rule of the registry). */
  readonly rules?: readonly RuleDef[];
  /** V2-BLOCKED-ARC: seconds after which an ioctl whose exit is not seen counts as hung (default 10). */
  readonly v2HangSeconds?: number;
}

export interface Checker {
  op(o: ProtocolOp): void;
  /** The trace ended: end-of-trace findings are reported now. Further ops are ignored. */
  end(): void;
}

interface Device {
  readonly ctx: DeviceContextFields;
  readonly hooks: readonly RuleHooks[];
}

export const DEFAULT_EAGAIN_LIMIT = 3;
export const DEFAULT_SEGMENTS_KEPT = 4096;
export const DEFAULT_V2_HANG_SECONDS = 10;

export function createChecker(opts: CheckerOptions): Checker {
  const options: RuleOptions = {
    eagainLimit: opts.eagainLimit ?? DEFAULT_EAGAIN_LIMIT,
    segmentsKept: opts.segmentsKept ?? DEFAULT_SEGMENTS_KEPT,
    v2HangNs: BigInt(Math.round((opts.v2HangSeconds ?? DEFAULT_V2_HANG_SECONDS) * 1e9)),
  };
  const rules = opts.rules ?? ALL_RULES;
  const gaps: GapCounter = { count: 0 };
  const devices = new Map<string, Device>();
  let ended = false;

  const envFor = (rule: RuleInfo): RuleEnv => ({
    options,
    report(ctx: DeviceContext, d): void {
      opts.onFinding({
        rule: rule.id,
        severity: d.severity,
        blame: d.blame,
        device: ctx.device.id,
        tsNs: d.tsNs,
        message: d.message,
        evidence: d.evidence,
        certainty: d.uncertain ? 'uncertain' : 'certain',
        specRef: rule.specRef,
      });
    },
  });

  const deviceRules = rules.filter((r) => r.scope === 'device');
  const globals = rules.flatMap((r) => (r.scope === 'global' ? [r.create(envFor(r))] : []));
  const deviceEnvs = deviceRules.map((r) => ({ rule: r, env: envFor(r) }));

  // The decoder hands every op of one device the same DeviceRef object (and one input's
  // refs never change file), so the key string is built once per ref, not once per op.
  const byRef = new WeakMap<AnyDeviceOp['device'], Device>();
  const deviceFor = (o: AnyDeviceOp): Device => {
    const cached = byRef.get(o.device);
    if (cached !== undefined) return cached;
    const key = deviceKey(o);
    const found = devices.get(key);
    if (found !== undefined) {
      byRef.set(o.device, found);
      return found;
    }
    const ctx: DeviceContextFields = {
      key,
      device: o.device,
      region: undefined,
      state: undefined,
      lastRead: undefined,
      // A device first seen after lost events may have lost its own earlier events.
      stateUncertain: gaps.count > 0,
      gaps,
      migration: newMigrationState(),
      v2: newV2Context(),
    };
    const hooks = [...deviceEnvs.map(({ rule, env }) => (rule.scope === 'device' ? rule.create(env) : {})), ...globals];
    const d = { ctx, hooks };
    devices.set(key, d);
    return d;
  };

  const migrationEnded = (d: Device, end: MigrationEnd | undefined): void => {
    if (end === undefined) return;
    for (const h of d.hooks) h.migrationEnd?.(end, d.ctx);
  };

  const finish = (d: Device, reason: FinishReason, at: Source | undefined, tsNs: bigint | undefined): void => {
    const why = reason === 'close' ? 'the device was closed' : 'the trace ended';
    migrationEnded(d, finishMigration(d.ctx.migration, why, at, tsNs));
    for (const h of d.hooks) h.finish?.(reason, at, d.ctx);
    devices.delete(d.ctx.key);
    byRef.delete(d.ctx.device); // a later op of the same name starts a fresh context, as before
  };

  return {
    op(o: ProtocolOp): void {
      if (ended) return;
      if (o.op === 'gap') {
        gaps.count += 1;
        for (const d of devices.values()) d.ctx.stateUncertain = true;
        return;
      }
      const d = deviceFor(o);
      settleV2Before(d.ctx.v2, o);
      if (isV2Op(o)) {
        // v1 rules never see v2 ops; the v1 context does not concern them.
        for (const h of d.hooks) h.v2Op?.(o, d.ctx);
        applyV2(d.ctx.v2, o, gaps.count);
        return;
      }
      migrationEnded(d, settleBefore(d.ctx.migration, o));
      for (const h of d.hooks) h.op?.(o, d.ctx);
      if (o.op === 'close') {
        finish(d, 'close', o.src, o.tsNs);
        return;
      }
      const prev = d.ctx.state;
      applyOp(d.ctx, o);
      applyV2(d.ctx.v2, o, gaps.count);
      migrationEnded(d, updateAfter(d.ctx, o, prev));
    },
    end(): void {
      if (ended) return;
      ended = true;
      for (const d of [...devices.values()]) finish(d, 'end-of-trace', undefined, undefined);
      for (const g of globals) g.end?.();
    },
  };
}
