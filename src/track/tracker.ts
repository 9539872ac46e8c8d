// The tracker: per device, the state timeline, the state writes, and the migration
// sessions, rebuilt from ProtocolOps. It knows states (src/protocol), not encodings.
// What the trace does not show stays unknown (DESIGN.md "Knowing versus guessing").
//
// It is the only place that knows a device's state (DESIGN.md "One model of each
// device"): beside each timeline it keeps the device's view (device-view.ts: last known
// state and how it became known, the migration episode, the v2 context), moved in the
// same step as the timeline. An observer (the checker) is handed every op with the view
// as it was before the op, then the facts the op produced (facts.ts); it keeps no device
// state of its own.
//
// Protocol dispatch: a device starts on the v1 state machine (device-state.ts). While its
// protocol is still unknown (only open, reset, close, QEMU events seen), its ops are kept
// (bounded); the first v2 op (or a QEMU event with a v2 state name) moves it to the v2
// state machine (v2-device-state.ts), which replays them. A device already shown to be
// v1 keeps the v1 machine: its v2 ops are not tracked (the checker still sees them).

import { isV2Op, type AnyDeviceOp, type DeviceOp, type DeviceRef, type ProcessExitOp, type ProtocolOp } from '../decode/ops.js';
import { isV2QemuEvent } from '../decode/v2-qemu.js';
import { assertNever } from '../protocol/assert-never.js';
import type { Source } from '../record/types.js';
import type { DeviceTimeline, MigrationSession, Protocol } from './types.js';
import { createDeviceState, type DeviceState, type DeviceStateOptions } from './device-state.js';
import type { SessionSpill } from './session-list.js';
import { createV2DeviceState, type V2DeviceState } from './v2-device-state.js';
import { applyOp, NO_EAGAIN, NO_RESUME, NO_ROUND, deviceKey, type DeviceContext, type DeviceContextFields, type GapCounter, type KnownState } from './device-view.js';
import { finishMigration, newMigrationState, settleBefore, updateAfter, type MigrationEnd } from './migration-episode.js';
import { applyV2, newV2Context, settleV2Before } from './v2-context.js';
import { baseName, type TrackerFact, type TrackerObserver } from './facts.js';
import type { ConvergenceOptions, DowntimeLimit } from './convergence.js';

/** Ops kept per device while its protocol is unknown, for the v2 machine to replay. */
const MAX_UNDECIDED_OPS = 1000;

type Undecided = { readonly kind: 'op'; readonly op: DeviceOp } | { readonly kind: 'gap'; readonly ts: bigint | undefined; readonly src: Source };

interface Entry {
  /** The device as rules see it (device-view.ts); replaced by a fresh one after a close. */
  view: DeviceContextFields;
  readonly stateOpts: DeviceStateOptions;
  readonly v1: DeviceState;
  v2: V2DeviceState | undefined;
  /** Ops seen while the protocol is unknown; undefined once decided (or past the bound). */
  undecided: Undecided[] | undefined;
  /** The protocol last reported through onProtocol. */
  reported: Protocol;
  /** Trace time of the first and last op, and whether the last op was the device's close (for joining by name). */
  firstNs: bigint | undefined;
  lastNs: bigint | undefined;
  closed: boolean;
  /** How this device's identity relates to another device of the same name (see devices()). */
  identity: string | undefined;
  /** The decoder's id of the device (before effectiveRef's "@pid" suffix): its key in byId. */
  readonly name: string;
}

export interface TrackerOptions {
  /** Called when a session ends (watch mode exports sessions as they end). */
  readonly onSessionEnd?: (device: DeviceTimeline, session: MigrationSession) => void;
  /** Called whenever a device's state changes (watch mode's current-state gauge). */
  readonly onStateChange?: (deviceId: string, raw: number | undefined, state: string, protocol: Protocol) => void;
  /**
   * Called on each pending-bytes sample: every pending_bytes value of a v1 save (spec §2.5)
   * and every PRECOPY_INFO reply of a v2 save, initial + dirty bytes (§5.4) — the same
   * samples MigrationSession.pending keeps (watch mode's pending-bytes gauge).
   */
  readonly onPending?: (deviceId: string, protocol: 'v1' | 'v2', bytes: bigint, tsNs: bigint | undefined) => void;
  /**
   * Called when a device's protocol becomes known (v1: its first v1 op; v2: its first v2
   * op or v2 QEMU event). onStateChange reports states seen before that with protocol
   * 'unknown' (e.g. RUNNING inferred at open); this says which protocol they belong to.
   */
  readonly onProtocol?: (deviceId: string, protocol: 'v1' | 'v2') => void;
  /**
   * Called when a traced process is gone (a process-exit op: host mode), with the ids of
   * every device it used, open or already closed and not used by another process since, in
   * the order first seen (watch mode drops
   * their gauge series: a device's state and pending bytes mean nothing once its VMM is gone).
   */
  readonly onProcessGone?: (pid: number, deviceIds: readonly string[]) => void;
  /**
   * Host mode (`watch --all`): after onProcessGone, forget the gone process's devices (every
   * device of its pid that is closed), so that an agent that sees thousands of VMM
   * lifetimes holds only the live ones; the observer is told (ProcessEvicted, facts.ts).
   * devices() then lists only the devices not evicted; evictedDevices() counts the rest.
   * Off for `analyze`, whose report lists every device of the trace.
   */
  readonly evictGoneProcesses?: boolean;
  /** Cap on the pending_bytes samples kept per session. */
  readonly maxPendingSamples?: number;
  /** Cap on timeline intervals and state writes kept per device (those past it are counted, not kept). */
  readonly maxIntervalsPerDevice?: number;
  /** Cap on finished sessions kept per device, the latest (those past it are counted): none when undefined (`analyze`). */
  readonly maxSessionsPerDevice?: number;
  /** Keep every finished session, the older ones in this spill file (session-list.ts); ignored with maxSessionsPerDevice. */
  readonly sessionSpill?: SessionSpill;
  /** The checker: every op with the device's view before it, then the facts it produced. */
  readonly observer?: TrackerObserver;
  /** The downtime limit in force when a save ends, for its convergence account (convergence.ts). */
  readonly downtimeLimit?: () => DowntimeLimit | undefined;
  /** MIG-PRECOPY-STALL's N (the convergence verdict's window). */
  readonly convergence?: ConvergenceOptions;
}

export interface Tracker {
  op(o: ProtocolOp): void;
  /** End of input: close what is open, at the last timestamp seen. */
  end(): void;
  devices(): DeviceTimeline[];
  /** The device's timeline state now (tests compare it with the view: one model). */
  stateOf(deviceId: string): { raw: number | undefined; certainty: string } | undefined;
  /** The device's view now (device-view.ts), by device id. */
  viewOf(deviceId: string): DeviceContext | undefined;
  /** Devices evicted with their gone process so far (evictGoneProcesses). */
  evictedDevices(): number;
  /** What the tracker holds now: device entries, and device names indexed (tests of host mode's memory). */
  liveEntries(): { readonly devices: number; readonly names: number };
}

export function createTracker(opts: TrackerOptions = {}): Tracker {
  const devices = new Map<string, Entry>();
  /** Entries by device id (two processes may use one name: see effectiveRef). */
  const byId = new Map<string, Entry[]>();
  /**
   * The decoder hands every op of a device the same DeviceRef: its key is worked out once
   * per ref. The key, not the entry: the decoder keeps a device's ref by name after its
   * process is gone, and a WeakMap keeps its value alive as long as its key, so an evicted
   * entry (its whole timeline) would stay with the name. After an eviction the key finds
   * no entry, and an op with that ref (a reused pid) starts a fresh one.
   */
  const byRef = new WeakMap<DeviceRef, string>();
  const gaps: GapCounter = { count: 0 };
  /** What the view knew when a device_state write failed, for its read-back fact. */
  const failedWrites = new WeakMap<AnyDeviceOp, { readonly before: KnownState | undefined; readonly beforeUncertain: boolean; readonly gapSerial: number }>();
  const observer = opts.observer;
  let lastTs: bigint | undefined;
  let evictedCount = 0;

  function freshView(ref: DeviceRef, key: string): DeviceContextFields {
    return {
      key,
      device: ref,
      protocol: 'unknown',
      region: undefined,
      state: undefined,
      lastRead: undefined,
      writeSerial: 0,
      lastValid: undefined,
      errorPossible: false,
      unreadFailure: undefined,
      round: NO_ROUND,
      saveEntry: undefined,
      offSeen: false,
      resume: NO_RESUME,
      eagain: NO_EAGAIN,
      // A device first seen after lost events may have lost its own earlier events.
      stateUncertain: gaps.count > 0,
      gaps,
      migration: newMigrationState(),
      v2: newV2Context(),
    };
  }

  function fact(e: Entry, f: TrackerFact): void {
    observer?.fact(f, e.view);
  }

  /**
   * The same name in two processes (e.g. a device handed from one VMM to the next) is one
   * device when the first process closed it before the second used it; otherwise they are
   * two devices, and the second is told apart by its pid.
   */
  function effectiveRef(ref: DeviceRef, key: string): { ref: DeviceRef; identity: string | undefined } {
    const same = byId.get(ref.id);
    if (same === undefined || same.length === 0) return { ref, identity: undefined };
    const live = same.find((x) => !x.closed);
    if (live === undefined) {
      const prev = same[same.length - 1];
      return { ref, identity: `joined by name with the device of pid ${prev?.view.device.pid ?? '?'}, which closed it before pid ${ref.pid ?? '?'} used it` };
    }
    const id = `${ref.id}@pid${ref.pid ?? key}`;
    return { ref: { ...ref, id }, identity: `a second device named ${ref.id}: pid ${live.view.device.pid ?? '?'} still had one of that name open when pid ${ref.pid ?? '?'} used it` };
  }

  function entry(o: AnyDeviceOp): Entry {
    const known = byRef.get(o.device);
    const cached = known === undefined ? undefined : devices.get(known);
    if (cached !== undefined) return cached;
    const key = known ?? deviceKey(o);
    let e = devices.get(key);
    if (e === undefined) {
      const { ref, identity } = effectiveRef(o.device, key);
      const stateOpts: DeviceStateOptions = {
        maxPendingSamples: opts.maxPendingSamples ?? 10_000,
        maxIntervals: opts.maxIntervalsPerDevice ?? 100_000,
        ...(opts.maxSessionsPerDevice !== undefined ? { maxSessions: opts.maxSessionsPerDevice } : {}),
        ...(opts.sessionSpill !== undefined ? { sessionSpill: opts.sessionSpill } : {}),
        onSessionEnd: (device, session) => {
          opts.onSessionEnd?.(device, session);
          if (created !== undefined) fact(created, { kind: 'session-end', device, session });
        },
        onStateChange: opts.onStateChange,
        onPending: opts.onPending,
        gaps,
        episode: () => created?.view.migration.active,
        ...(opts.downtimeLimit !== undefined ? { downtimeLimit: opts.downtimeLimit } : {}),
        ...(opts.convergence !== undefined ? { convergence: opts.convergence } : {}),
        onReadBack: (write, read) => {
          const at = failedWrites.get(write);
          if (created !== undefined) fact(created, { kind: 'read-back', write, read, before: at?.before, beforeUncertain: at?.beforeUncertain ?? true, gapSerial: at?.gapSerial ?? -1 });
        },
      };
      let created: Entry | undefined;
      created = { view: freshView(ref, key), stateOpts, v1: createDeviceState(ref, stateOpts), v2: undefined, undecided: [], reported: 'unknown', firstNs: o.tsNs, lastNs: o.tsNs, closed: false, identity, name: o.device.id };
      e = created;
      devices.set(key, e);
      const list = byId.get(o.device.id) ?? [];
      list.push(e);
      byId.set(o.device.id, list);
    }
    byRef.set(o.device, key);
    return e;
  }

  /** The device was closed or the trace ended: its episode ends, the observer is told, the view starts afresh. */
  function finishDevice(e: Entry, reason: 'close' | 'end-of-trace', src: Source | undefined, tsNs: bigint | undefined): void {
    const why = reason === 'close' ? 'the device was closed' : 'the trace ended';
    migrationEnded(e, finishMigration(e.view.migration, why, src, tsNs));
    fact(e, { kind: 'device-finished', reason, src });
    e.view = { ...freshView(e.view.device, e.view.key), protocol: e.reported };
  }

  /**
   * Forget the gone process's devices (evictGoneProcesses). Only closed ones: the decoder
   * closed every fd of the process just before this op, so each device's sessions have
   * ended and been reported (session-end, device-finished facts, onSessionEnd) and
   * onProcessGone has run; a device whose close the trace never showed (one the decoder
   * had no fd for) is kept until the end, where end() finishes it as before.
   */
  function evict(o: ProcessExitOp): void {
    const gone = [...devices.entries()].filter(([, e]) => e.view.device.pid === o.pid && e.closed);
    if (gone.length === 0) return;
    const goneSet = new Set(gone.map(([, e]) => e));
    for (const [key, e] of gone) {
      devices.delete(key);
      const list = byId.get(e.name)?.filter((x) => x !== e) ?? [];
      if (list.length === 0) byId.delete(e.name);
      else byId.set(e.name, list);
    }
    evictedCount += gone.length;
    const names = new Set(gone.map(([, e]) => baseName(e.view.device.id)));
    const namesInUse = new Set<string>();
    for (const e of devices.values()) {
      const n = baseName(e.view.device.id);
      if (!goneSet.has(e) && !e.closed && names.has(n)) namesInUse.add(n);
    }
    observer?.processEvicted?.({ kind: 'process-evicted', pid: o.pid, devices: gone.map(([, e]) => e.view), namesInUse, tsNs: o.tsNs, src: o.src });
  }

  function migrationEnded(e: Entry, end: MigrationEnd | undefined): void {
    if (end !== undefined) fact(e, { kind: 'migration-end', end });
  }

  function gap(ts: bigint | undefined, src: Source): void {
    gaps.count += 1;
    for (const e of devices.values()) {
      e.view.stateUncertain = true;
      if (e.v2 !== undefined) e.v2.gap(ts, src);
      else {
        e.v1.gap(ts, src);
        keep(e, { kind: 'gap', ts, src });
      }
    }
  }

  function keep(e: Entry, u: Undecided): void {
    if (e.undecided === undefined) return;
    if (e.v1.protocol() !== 'unknown' || e.undecided.length >= MAX_UNDECIDED_OPS) e.undecided = undefined;
    else e.undecided.push(u);
  }

  /** Move a device whose protocol was unknown to the v2 machine; false if it is a v1 device. */
  function toV2(e: Entry, o: AnyDeviceOp): V2DeviceState | undefined {
    if (e.v2 !== undefined) return e.v2;
    if (e.v1.protocol() !== 'unknown') return undefined;
    const v2 = createV2DeviceState(e.view.device, e.stateOpts);
    for (const u of e.undecided ?? []) {
      if (u.kind === 'gap') v2.gap(u.ts, u.src);
      else v2Common(v2, u.op);
    }
    e.v2 = v2;
    e.undecided = undefined;
    return v2;
  }

  /** The ops both protocols share, on the v2 machine; v1-only ops do not concern it. */
  function v2Common(d: V2DeviceState, o: DeviceOp): void {
    switch (o.op) {
      case 'open':
        d.open(o);
        return;
      case 'close':
        d.close(o);
        return;
      case 'reset':
        d.reset(o);
        return;
      case 'qemu':
        d.qemu(o);
        return;
      case 'region':
      case 'v1-state-write':
      case 'v1-state-read':
      case 'v1-field':
      case 'v1-bad-access':
      case 'v1-data':
        return;
      default:
        assertNever(o);
    }
  }

  /** One device op on the device's state machine (v1, or v2 once shown). */
  function deviceOp(e: Entry, o: AnyDeviceOp): void {
    if (isV2Op(o)) {
      toV2(e, o)?.v2(o);
      return;
    }
    const v2 = e.v2 ?? (o.op === 'qemu' && isV2QemuEvent(o) ? toV2(e, o) : undefined);
    if (v2 !== undefined) {
      v2Common(v2, o);
      return;
    }
    keep(e, { kind: 'op', op: o });
    const d = e.v1;
    switch (o.op) {
      case 'open':
        d.open(o);
        return;
      case 'close':
        d.close(o);
        return;
      case 'region':
        d.region(o);
        return;
      case 'v1-state-write':
        d.v1Write(o);
        return;
      case 'v1-state-read':
        d.v1Read(o);
        return;
      case 'v1-field':
        d.v1Field(o);
        return;
      case 'v1-bad-access':
        d.badAccess(o);
        return;
      case 'v1-data':
        d.v1Data(o);
        return;
      case 'reset':
        d.reset(o);
        return;
      case 'qemu':
        d.qemu(o);
        return;
      default:
        assertNever(o);
    }
  }

  /** onProtocol, once per device, when the op just handled decided its protocol. */
  function reportProtocol(id: string, e: Entry): void {
    if (e.reported !== 'unknown') return;
    const p: Protocol = e.v2 !== undefined ? 'v2' : e.v1.protocol();
    if (p === 'unknown') return;
    e.reported = p;
    e.view.protocol = p;
    opts.onProtocol?.(id, p);
  }

  /** The op on the device's model: the view (as the checker did before the redesign) and the machine, in one step. */
  function apply(e: Entry, o: AnyDeviceOp): void {
    const v = e.view;
    if (!isV2Op(o)) migrationEnded(e, settleBefore(v.migration, o));
    settleV2Before(v.v2, o);
    observer?.op(o, e.view);
    if (o.op === 'close') {
      deviceOp(e, o);
      e.closed = true;
      finishDevice(e, 'close', o.src, o.tsNs);
      return;
    }
    e.closed = false;
    if (isV2Op(o)) {
      deviceOp(e, o);
      applyV2(v.v2, o, gaps.count);
      return;
    }
    const prev = v.state;
    if (o.op === 'v1-state-write' && o.result.ok === false) failedWrites.set(o, { before: prev, beforeUncertain: v.stateUncertain, gapSerial: gaps.count });
    deviceOp(e, o);
    applyOp(v, o);
    applyV2(v.v2, o, gaps.count);
    migrationEnded(e, updateAfter(v, o, prev));
  }

  return {
    op(o: ProtocolOp): void {
      if (o.tsNs !== undefined && (lastTs === undefined || o.tsNs > lastTs)) lastTs = o.tsNs;
      if (o.op === 'gap') {
        gap(o.tsNs, o.src);
        return;
      }
      if (o.op === 'process-exit') {
        // Its open devices were closed by the ops just before this one; nothing else moves.
        // A device name another process took up after this one closed it is that process's
        // now (the same id: effectiveRef), so it is not among the gone.
        const latest = new Map<string, Entry>();
        for (const e of devices.values()) latest.set(e.view.device.id, e); // in creation order
        const ids = [...latest.values()].filter((e) => e.view.device.pid === o.pid).map((e) => e.view.device.id);
        opts.onProcessGone?.(o.pid, ids);
        if (opts.evictGoneProcesses === true) evict(o);
        return;
      }
      const e = entry(o);
      if (o.tsNs !== undefined) {
        if (e.firstNs === undefined) e.firstNs = o.tsNs;
        e.lastNs = o.tsNs;
      }
      apply(e, o);
      reportProtocol(e.view.device.id, e);
    },
    end(): void {
      for (const e of devices.values()) {
        if (!e.closed) finishDevice(e, 'end-of-trace', undefined, undefined);
        (e.v2 ?? e.v1).end(lastTs);
      }
    },
    devices(): DeviceTimeline[] {
      return [...devices.values()].map((e) => {
        const d = (e.v2 ?? e.v1).snapshot();
        return e.identity === undefined ? d : { ...d, identity: e.identity };
      });
    },
    stateOf(id: string) {
      const e = [...devices.values()].find((x) => x.view.device.id === id);
      return (e?.v2 ?? e?.v1)?.current();
    },
    viewOf(id: string) {
      return [...devices.values()].find((x) => x.view.device.id === id)?.view;
    },
    evictedDevices: () => evictedCount,
    liveEntries: () => ({ devices: devices.size, names: byId.size }),
  };
}
