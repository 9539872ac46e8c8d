// Series as a backfill needs them: a value that changes at known instants (a counter's
// increments, a histogram's observations, a gauge's new state), sampled like a scraper
// would sample it. Prometheus looks back at most 5 minutes for an instant query's sample
// (the lookback delta), so a series written only when it changes would vanish from the
// dashboards between two migrations; repeating the current value on a fixed grid keeps it
// visible until the trace ends, as a live /metrics endpoint scraped every interval does.

/** Changes at one series, in any order; `ms` is wall-clock milliseconds since the epoch. */
export interface Change<T> {
  readonly ms: number;
  readonly apply: (before: T | undefined) => T;
}

export interface SampledSeries<T> {
  /** Value before the first change; undefined: the series starts at its first change. */
  readonly initial: T | undefined;
  /** Time of the initial sample (ignored without `initial`). */
  readonly initialMs: number;
  readonly changes: readonly Change<T>[];
  /** Last sample time (inclusive). */
  readonly endMs: number;
  /** Grid of repeated samples, ms (> 0). */
  readonly stepMs: number;
}

/**
 * Every (ms, value) sample of a series in strictly increasing time: the initial value, the
 * value after each millisecond that has changes (several changes in one millisecond give
 * ONE sample: the TSDB rejects two different values at one timestamp), and the current
 * value at each multiple of stepMs up to endMs, and at endMs itself.
 */
export function* sampleSeries<T>(s: SampledSeries<T>): Generator<readonly [number, T]> {
  const changes = [...s.changes].sort((a, b) => a.ms - b.ms);
  let value: T | undefined = s.initial;
  let i = 0;
  let t: number;
  if (value !== undefined) t = s.initialMs;
  else {
    const first = changes[0];
    if (first === undefined) return;
    t = first.ms;
  }
  if (t > s.endMs) return;
  for (;;) {
    // Everything up to and including t.
    while (i < changes.length) {
      const c = changes[i];
      if (c === undefined || c.ms > t) break;
      value = c.apply(value);
      i++;
    }
    if (value !== undefined) yield [t, value];
    if (t >= s.endMs) return;
    // Next instant: the next change or the next grid point, whichever comes first.
    const nextGrid = (Math.floor(t / s.stepMs) + 1) * s.stepMs;
    const nextChange = changes[i]?.ms ?? Infinity;
    t = Math.min(nextGrid, nextChange, s.endMs);
  }
}
