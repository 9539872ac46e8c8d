// The checker: the rule catalogue run over what the tracker hands it (track/facts.ts): every
// device op with the device's view as it was before the op, then the facts the op
// produced. It keeps no device or migration state of its own (DESIGN.md "One model of
// each device"): the view is the tracker's, so a finding can never contradict the
// timeline it cites. What it does keep: each rule's per-device hook instance (rules'
// own memory of what they already reported), dropped when the device is finished.
// Findings go out through a callback as soon as they are known (`migscope watch`).

import { isV2Op, type AnyDeviceOp } from '../decode/ops.js';
import type { DeviceContext } from '../track/device-view.js';
import type { ProcessEvicted, TrackerFact, TrackerObserver } from '../track/facts.js';
import type { RuleDef, RuleEnv, RuleHooks, RuleInfo, RuleOptions } from './rule.js';
import { ALL_RULES, MIG_RULES, V2_RULES } from './rules/index.js';
import type { Finding, NotJudged } from './types.js';
import type { Protocol } from '../track/types.js';

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
  /** MIG-ESTIMATE-WRONG: stop-copy data above this many times the device's estimate (default 2). */
  readonly estimateFactor?: number;
}

export interface Checker {
  /** Hand this to every tracker (track/tracker.ts TrackerOptions.observer). */
  readonly observer: TrackerObserver;
  /** The trace ended (after every tracker's end()): end-of-trace findings are reported now. */
  end(): void;
  /** What the checker holds now: device lives with rule instances, and each cross-device rule's index entries (tests of host mode's memory). */
  liveEntries(): { readonly deviceLives: number; readonly rules: Readonly<Record<string, number>> };
  /** Items each rule left undecided at a cap so far (RuleEnv.notJudged), in catalogue order; empty when none. */
  notJudged(): readonly NotJudged[];
}

/** A rule's hooks with the rule they belong to (its id decides which protocols it concerns). */
interface RuleEntry {
  readonly rule: RuleInfo;
  readonly hooks: RuleHooks;
}

/**
 * The hooks to call for one device while its protocol is one value, by hook kind, in
 * catalogue order (device rules, then global ones). Worked out once per device life and
 * protocol instead of filtering every rule on every op: the checker sees every op of a
 * multi-GB trace (bench/RESULTS.md profile), so the dispatch must not allocate.
 */
interface HookLists {
  readonly op: readonly RuleHooks[];
  readonly v2Op: readonly RuleHooks[];
  readonly fact: readonly RuleHooks[];
  readonly migrationEnd: readonly RuleHooks[];
  readonly finish: readonly RuleHooks[];
}

interface Device {
  readonly hooks: readonly RuleEntry[];
  /** HookLists by the device's protocol, made when first needed. */
  readonly lists: Map<Protocol, HookLists>;
}

export const DEFAULT_EAGAIN_LIMIT = 3;
export const DEFAULT_SEGMENTS_KEPT = 4096;
export const DEFAULT_V2_HANG_SECONDS = 10;
export const DEFAULT_ESTIMATE_FACTOR = 2;

const V2_IDS = new Set(V2_RULES.map((r) => r.id));
/** Rules about a migration's convergence: they read the session-end fact of either protocol. */
const BOTH_IDS = new Set(MIG_RULES.map((r) => r.id));

export function createChecker(opts: CheckerOptions): Checker {
  const options: RuleOptions = {
    eagainLimit: opts.eagainLimit ?? DEFAULT_EAGAIN_LIMIT,
    segmentsKept: opts.segmentsKept ?? DEFAULT_SEGMENTS_KEPT,
    v2HangNs: BigInt(Math.round((opts.v2HangSeconds ?? DEFAULT_V2_HANG_SECONDS) * 1e9)),
    estimateFactor: opts.estimateFactor ?? DEFAULT_ESTIMATE_FACTOR,
  };
  const rules = opts.rules ?? ALL_RULES;
  // Device rule instances by the tracker's view object (one per device life: the tracker
  // hands a fresh view after a close, so a reopened device starts with fresh rules).
  const devices = new WeakMap<DeviceContext, Device>();
  /** Device lives in `devices` (a WeakMap cannot say). */
  let deviceLives = 0;
  let ended = false;
  /** RuleEnv.notJudged counts by rule id (only rules that left some). */
  const unjudged = new Map<string, number>();

  const envFor = (rule: RuleInfo): RuleEnv => ({
    options,
    report(ctx: DeviceContext, d): void {
      const f: Finding = {
        rule: rule.id,
        severity: d.severity,
        blame: d.blame,
        device: ctx.device.id,
        tsNs: d.tsNs,
        message: d.message,
        evidence: d.evidence,
        certainty: d.uncertain ? 'uncertain' : 'certain',
        specRef: rule.specRef,
      };
      opts.onFinding(f);
    },
    notJudged(count = 1): void {
      unjudged.set(rule.id, (unjudged.get(rule.id) ?? 0) + count);
    },
  });

  const deviceRules = rules.filter((r) => r.scope === 'device');
  const globals = rules.flatMap((r) => (r.scope === 'global' ? [{ rule: r, hooks: r.create(envFor(r)) }] : []));
  const deviceEnvs = deviceRules.map((rule) => ({ rule, env: envFor(rule) }));

  /** Does the rule concern a device of this protocol, as the tracker decided it? */
  const applies = (rule: RuleInfo, protocol: Protocol): boolean => {
    // v1 rules never concern a v2 device and v2 rules never a v1 device (spec §5: a device
    // speaks one protocol, as the tracker decided it); while it is unknown both watch.
    if (protocol === 'unknown' || BOTH_IDS.has(rule.id)) return true;
    return V2_IDS.has(rule.id) === (protocol === 'v2');
  };

  const deviceFor = (view: DeviceContext): Device => {
    let d = devices.get(view);
    if (d === undefined) {
      d = { hooks: deviceEnvs.map(({ rule, env }) => ({ rule, hooks: rule.scope === 'device' ? rule.create(env) : {} })), lists: new Map() };
      devices.set(view, d);
      deviceLives++;
    }
    return d;
  };

  const globalEntries: readonly RuleEntry[] = globals;

  /** The device's hooks (its rules', then the global rules') that run while its protocol is `protocol`. */
  const listsFor = (d: Device, protocol: Protocol): HookLists => {
    let l = d.lists.get(protocol);
    if (l === undefined) {
      const concerned = [...d.hooks, ...globalEntries].filter((e) => applies(e.rule, protocol)).map((e) => e.hooks);
      l = {
        op: concerned.filter((h) => h.op !== undefined),
        v2Op: concerned.filter((h) => h.v2Op !== undefined),
        fact: concerned.filter((h) => h.fact !== undefined),
        migrationEnd: concerned.filter((h) => h.migrationEnd !== undefined),
        finish: concerned.filter((h) => h.finish !== undefined),
      };
      d.lists.set(protocol, l);
    }
    return l;
  };

  /** The hook lists for the view's device as its protocol stands now. */
  const hooksOf = (view: DeviceContext): HookLists => listsFor(deviceFor(view), view.protocol);

  const observer: TrackerObserver = {
    op(o: AnyDeviceOp, view: DeviceContext): void {
      if (ended) return;
      const l = hooksOf(view);
      if (isV2Op(o)) {
        for (const h of l.v2Op) h.v2Op?.(o, view);
        return;
      }
      for (const h of l.op) h.op?.(o, view);
    },
    fact(f: TrackerFact, view: DeviceContext): void {
      if (ended) return;
      // The protocol as it is now (a hook only reads the view): the same lists for all three loops.
      const l = hooksOf(view);
      for (const h of l.fact) h.fact?.(f, view);
      switch (f.kind) {
        case 'migration-end':
          for (const h of l.migrationEnd) h.migrationEnd?.(f.end, view);
          return;
        case 'device-finished':
          for (const h of l.finish) h.finish?.(f.reason, f.src, view);
          if (devices.delete(view)) deviceLives--;
          return;
        case 'session-end':
        case 'read-back':
          return;
      }
    },
    processEvicted(f: ProcessEvicted): void {
      // Every rule hears it, whatever the protocol: an index entry of a v1 device and one of
      // a v2 device go the same way. The device rules' instances went at device-finished.
      for (const g of globals) g.hooks.processEvicted?.(f);
    },
  };

  return {
    observer,
    notJudged: () =>
      rules.flatMap((r) => {
        const count = unjudged.get(r.id) ?? 0;
        return count > 0 ? [{ rule: r.id, count, what: r.notJudgedWhat ?? 'items past a cap of the rule were not judged' }] : [];
      }),
    liveEntries: () => ({ deviceLives, rules: Object.fromEntries(globals.flatMap((g) => (g.hooks.liveEntries === undefined ? [] : [[g.rule.id, g.hooks.liveEntries()]]))) }),
    end(): void {
      if (ended) return;
      ended = true;
      for (const g of globals) g.hooks.end?.();
    },
  };
}
