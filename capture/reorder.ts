// Puts tracer lines back in timestamp order before they are written.
//
// bpftrace hands records over through one perf ring buffer per CPU and drains whichever
// buffers are ready, so a thread that moved to another CPU between two syscalls can have
// its second record printed before its first (seen in the lab: a device_state write
// printed after the read that followed it). Records carry their syscall-entry time on
// CLOCK_MONOTONIC, the same clock as process.hrtime.bigint() (capture/clock.ts), so a
// line can be held until the trace clock has moved `holdNs` past its timestamp and then
// released in timestamp order. A thread's next syscall cannot enter before its previous one
// returned, so per-thread order is exact as long as a record reaches us within `holdNs` of
// its syscall's exit; records that arrive later than that are released at once.
//
// Lines without a timestamp (comments, "Lost N events", bpftrace chatter) keep their
// place relative to arrival: they get the arrival time as their key.

export interface LineSource {
  /** The trace-clock time of a line, when it has one. */
  readonly tsOf: (line: string) => bigint | undefined;
}

interface Held {
  readonly key: bigint;
  readonly seq: number;
  readonly line: string;
}

export interface Reorderer {
  push(line: string): void;
  /** Release what is old enough; call periodically. */
  tick(): void;
  /** Release everything (end of capture). */
  flush(): void;
}

export function createReorderer(
  src: LineSource,
  emit: (line: string) => void,
  holdNs: bigint,
  now: () => bigint = () => process.hrtime.bigint(),
): Reorderer {
  const held: Held[] = []; // sorted by (key, seq)
  let seq = 0;
  let releasedUpTo = -1n;

  const insert = (h: Held): void => {
    // usually in order: append; otherwise binary search
    const last = held[held.length - 1];
    if (last === undefined || last.key <= h.key) {
      held.push(h);
      return;
    }
    let lo = 0;
    let hi = held.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = held[mid];
      if (m !== undefined && m.key <= h.key) lo = mid + 1;
      else hi = mid;
    }
    held.splice(lo, 0, h);
  };

  const release = (limit: bigint | undefined): void => {
    let n = 0;
    while (n < held.length) {
      const h = held[n];
      if (h === undefined || (limit !== undefined && h.key > limit)) break;
      emit(h.line);
      if (h.key > releasedUpTo) releasedUpTo = h.key;
      n++;
    }
    if (n > 0) held.splice(0, n);
  };

  return {
    push(line) {
      const arrival = now();
      const key = src.tsOf(line) ?? arrival;
      if (key <= releasedUpTo || key < arrival - holdNs) {
        // too late to be put in order (or nothing to wait for): out now, behind what is due
        release(key < arrival - holdNs ? arrival - holdNs : key);
        emit(line);
        return;
      }
      insert({ key, seq: seq++, line });
    },
    tick() {
      release(now() - holdNs);
    },
    flush() {
      release(undefined);
    },
  };
}

const TEXT_TS = /^(\d+) [a-z]/;
const JSON_TS = /^\{"type": ?"printf", ?"data": ?"(\d+) [a-z]/;

/** Timestamps of migscope.bt record lines, text or JSON. */
export const bpftraceLineSource: LineSource = {
  tsOf(line) {
    const m = TEXT_TS.exec(line) ?? JSON_TS.exec(line);
    return m?.[1] !== undefined ? BigInt(m[1]) : undefined;
  },
};
