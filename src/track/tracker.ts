// The tracker: per device, the state timeline, the state writes, and the migration
// sessions, rebuilt from ProtocolOps. It knows states (src/protocol), not encodings.
// What the trace does not show stays unknown (DESIGN.md "Knowing versus guessing").

import type { DeviceOp, ProtocolOp } from '../decode/ops.js';
import { assertNever } from '../protocol/assert-never.js';
import type { Source } from '../record/types.js';
import type { DeviceTimeline, MigrationSession, Protocol } from './types.js';
import { createDeviceState, type DeviceState } from './device-state.js';

export interface TrackerOptions {
  /** Called when a session ends (watch mode exports sessions as they end). */
  readonly onSessionEnd?: (device: DeviceTimeline, session: MigrationSession) => void;
  /** Called whenever a device's state changes (watch mode's current-state gauge). */
  readonly onStateChange?: (deviceId: string, raw: number | undefined, state: string, protocol: Protocol) => void;
  /** Cap on the pending_bytes samples kept per session. */
  readonly maxPendingSamples?: number;
  /** Cap on timeline intervals and state writes kept per device (older ones are counted, not kept). */
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
  const devices = new Map<string, DeviceState>();
  let lastTs: bigint | undefined;

  function device(o: DeviceOp): DeviceState {
    let d = devices.get(o.device.id);
    if (d === undefined) {
      d = createDeviceState(o.device, {
        maxPendingSamples: opts.maxPendingSamples ?? 10_000,
        maxIntervals: opts.maxIntervalsPerDevice ?? 100_000,
        onSessionEnd: opts.onSessionEnd,
        onStateChange: opts.onStateChange,
      });
      devices.set(o.device.id, d);
    }
    return d;
  }

  function gap(ts: bigint | undefined, src: Source): void {
    for (const d of devices.values()) d.gap(ts, src);
  }

  return {
    op(o: ProtocolOp): void {
      if (o.tsNs !== undefined && (lastTs === undefined || o.tsNs > lastTs)) lastTs = o.tsNs;
      if (o.op === 'gap') {
        gap(o.tsNs, o.src);
        return;
      }
      const d = device(o);
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
    },
    end(): void {
      for (const d of devices.values()) d.end(lastTs);
    },
    devices(): DeviceTimeline[] {
      return [...devices.values()].map((d) => d.snapshot());
    },
    stateOf(id: string) {
      return devices.get(id)?.current();
    },
  };
}
