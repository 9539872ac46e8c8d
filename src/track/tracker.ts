// The tracker: per device, the state timeline, the state writes, and the migration
// sessions, rebuilt from ProtocolOps. It knows states (src/protocol), not encodings.
// What the trace does not show stays unknown (DESIGN.md "Knowing versus guessing").
//
// Protocol dispatch: a device starts on the v1 state machine (device-state.ts). While its
// protocol is still unknown (only open, reset, close, QEMU events seen), its ops are kept
// (bounded); the first v2 op (or a QEMU event with a v2 state name) moves it to the v2
// state machine (v2-device-state.ts), which replays them. A device already shown to be
// v1 keeps the v1 machine: its v2 ops are not tracked (the checker still sees them).

import { isV2Op, type AnyDeviceOp, type DeviceOp, type ProtocolOp } from '../decode/ops.js';
import { isV2QemuEvent } from '../decode/v2-qemu.js';
import { assertNever } from '../protocol/assert-never.js';
import type { Source } from '../record/types.js';
import type { DeviceTimeline, MigrationSession, Protocol } from './types.js';
import { createDeviceState, type DeviceState, type DeviceStateOptions } from './device-state.js';
import { createV2DeviceState, type V2DeviceState } from './v2-device-state.js';

/** Ops kept per device while its protocol is unknown, for the v2 machine to replay. */
const MAX_UNDECIDED_OPS = 1000;

type Undecided = { readonly kind: 'op'; readonly op: DeviceOp } | { readonly kind: 'gap'; readonly ts: bigint | undefined; readonly src: Source };

interface Entry {
  readonly v1: DeviceState;
  v2: V2DeviceState | undefined;
  /** Ops seen while the protocol is unknown; undefined once decided (or past the bound). */
  undecided: Undecided[] | undefined;
  /** The protocol last reported through onProtocol. */
  reported: Protocol;
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
  /** Cap on the pending_bytes samples kept per session. */
  readonly maxPendingSamples?: number;
  /** Cap on timeline intervals and state writes kept per device (those past it are counted, not kept). */
  readonly maxIntervalsPerDevice?: number;
}

export interface Tracker {
  op(o: ProtocolOp): void;
  /** End of input: close what is open, at the last timestamp seen. */
  end(): void;
  devices(): DeviceTimeline[];
  /** The device's state just before the op being processed (for the checker's view). */
  stateOf(deviceId: string): { raw: number | undefined; certainty: string } | undefined;
}

export function createTracker(opts: TrackerOptions = {}): Tracker {
  const devices = new Map<string, Entry>();
  let lastTs: bigint | undefined;
  const stateOpts: DeviceStateOptions = {
    maxPendingSamples: opts.maxPendingSamples ?? 10_000,
    maxIntervals: opts.maxIntervalsPerDevice ?? 100_000,
    onSessionEnd: opts.onSessionEnd,
    onStateChange: opts.onStateChange,
    onPending: opts.onPending,
  };

  function entry(o: AnyDeviceOp): Entry {
    let e = devices.get(o.device.id);
    if (e === undefined) {
      e = { v1: createDeviceState(o.device, stateOpts), v2: undefined, undecided: [], reported: 'unknown' };
      devices.set(o.device.id, e);
    }
    return e;
  }

  function gap(ts: bigint | undefined, src: Source): void {
    for (const e of devices.values()) {
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
    const v2 = createV2DeviceState(o.device, stateOpts);
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
        d.touch(o);
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
    if (opts.onProtocol === undefined || e.reported !== 'unknown') return;
    const p: Protocol = e.v2 !== undefined ? 'v2' : e.v1.protocol();
    if (p === 'unknown') return;
    e.reported = p;
    opts.onProtocol(id, p);
  }

  return {
    op(o: ProtocolOp): void {
      if (o.tsNs !== undefined && (lastTs === undefined || o.tsNs > lastTs)) lastTs = o.tsNs;
      if (o.op === 'gap') {
        gap(o.tsNs, o.src);
        return;
      }
      const e = entry(o);
      deviceOp(e, o);
      reportProtocol(o.device.id, e);
    },
    end(): void {
      for (const e of devices.values()) (e.v2 ?? e.v1).end(lastTs);
    },
    devices(): DeviceTimeline[] {
      return [...devices.values()].map((e) => (e.v2 ?? e.v1).snapshot());
    },
    stateOf(id: string) {
      const e = devices.get(id);
      return (e?.v2 ?? e?.v1)?.current();
    },
  };
}
