// Bounded `device` label values. A device's id is its PCI address when the trace names it,
// but under ftrace or trace-cmd, where openat paths are often not recorded, it is
// "<pid>:<fd>" or "?:<fd>" (decode/fd-table.ts pidFdKey): every VMM restart and every fd
// reuse makes a new one, and each would be a new Prometheus series forever (series are
// never forgotten by the cumulative SDK nor by Prometheus' index until retention). So each
// host keeps at most `maxDevicesPerHost` distinct device labels; measurements of any further
// device go to the single series device="_overflow" and are counted
// (migscope_device_label_overflow_total), and the export summary says so. The same rule
// as OTel's metric cardinality limit (sdk-metrics aggregationCardinalityLimit, whose
// overflow series carries otel.metric.overflow=true), but per host and on the label that
// actually grows, so the ordinary devices of a host keep their own series.

/** The device label of every measurement beyond the cap. */
export const OVERFLOW_DEVICE = '_overflow';

/** Default cap: far above the VFIO devices one host can hold (an SR-IOV PF has at most a few hundred VFs). */
export const DEFAULT_MAX_DEVICES_PER_HOST = 256;

export interface DeviceLabeler {
  /** The label for `id` on `host`: the id itself while under the cap (or already admitted), else OVERFLOW_DEVICE. */
  label(host: string, id: string): string;
  /** The id's own label if it was admitted, else undefined; admits nothing and counts nothing. */
  admitted(host: string, id: string): string | undefined;
  /** Distinct device ids folded into OVERFLOW_DEVICE so far, per host (counted once each while remembered, see below). */
  folded(): ReadonlyMap<string, number>;
}

/**
 * `onFold(host)` is called for each measurement that lands in the overflow series. The ids
 * folded are remembered up to `maxDevicesPerHost` again, so "distinct ids folded" is exact
 * up to that and a lower bound beyond (memory stays bounded either way).
 */
export function createDeviceLabeler(maxDevicesPerHost: number, onFold?: (host: string) => void): DeviceLabeler {
  const admitted = new Map<string, Set<string>>();
  const foldedIds = new Map<string, Set<string>>();
  const foldedCount = new Map<string, number>();
  return {
    label(host, id): string {
      let set = admitted.get(host);
      if (set === undefined) {
        set = new Set();
        admitted.set(host, set);
      }
      if (set.has(id)) return id;
      if (set.size < maxDevicesPerHost) {
        set.add(id);
        return id;
      }
      let f = foldedIds.get(host);
      if (f === undefined) {
        f = new Set();
        foldedIds.set(host, f);
      }
      if (!f.has(id) && f.size < maxDevicesPerHost) {
        f.add(id);
        foldedCount.set(host, (foldedCount.get(host) ?? 0) + 1);
      }
      onFold?.(host);
      return OVERFLOW_DEVICE;
    },
    admitted(host, id): string | undefined {
      return admitted.get(host)?.has(id) === true ? id : undefined;
    },
    folded(): ReadonlyMap<string, number> {
      return foldedCount;
    },
  };
}
