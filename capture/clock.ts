// Pairs the trace clock with the wall clock for the clock-sync record (DESIGN.md "Time").
//
// The trace clock of every migscope capture is CLOCK_MONOTONIC: bpftrace's `nsecs` is
// bpf_ktime_get_ns(), and Node's process.hrtime.bigint() is libuv's uv_hrtime(), which on
// Linux reads clock_gettime(CLOCK_MONOTONIC) (checked on this machine by bracketing
// Python's time.clock_gettime_ns(CLOCK_MONOTONIC) between two hrtime reads, and by the lab
// test, which asserts clock-sync.trace_ns < every record < the closing clock-sync).
//
// Node only exposes the wall clock in whole milliseconds (Date.now()). Reading it once
// would leave up to 1 ms of error, so we wait for Date.now() to tick: the instant the
// millisecond changes lies between the last hrtime read before the change and the first
// one after it, which are typically a few hundred nanoseconds apart. The midpoint is the
// trace time of wall time `ms * 1e6` exactly; half the bracket is the uncertainty.

export interface ClockPair {
  /** CLOCK_MONOTONIC, ns. */
  readonly traceNs: bigint;
  /** Unix epoch, ns. */
  readonly wallNs: bigint;
  /** Half-width of the interval traceNs is known to lie in. */
  readonly uncertaintyNs: bigint;
}

/** Spins for at most ~4 ms. */
export function readClockPair(): ClockPair {
  let best: ClockPair | undefined;
  // Four tries (≤ 4 ms): the first is slow while the code warms up, and a preemption
  // between the reads only widens the bracket, so keep the narrowest.
  for (let attempt = 0; attempt < 4; attempt++) {
    // The millisecond ticks between the previous iteration's Date.now() and this one's,
    // so after the previous `now` read (prev) and before the `after` read.
    let prev = process.hrtime.bigint();
    const start = Date.now();
    let now = prev;
    let ms = start;
    while (ms === start) {
      prev = now;
      now = process.hrtime.bigint();
      ms = Date.now();
    }
    const after = process.hrtime.bigint();
    const pair: ClockPair = {
      traceNs: (prev + after) / 2n,
      wallNs: BigInt(ms) * 1_000_000n,
      uncertaintyNs: (after - prev + 1n) / 2n,
    };
    if (best === undefined || pair.uncertaintyNs < best.uncertaintyNs) best = pair;
  }
  if (best === undefined) throw new Error('unreachable');
  return best;
}
