// The OpenMetrics text format, the parts migscope writes
// (https://github.com/prometheus/OpenMetrics/blob/v1.0.0/specification/OpenMetrics.md,
// "Text format"): escaping, numbers, timestamps, metric lines.

/** HELP text and label values: backslash, double quote and newline are escaped (ABNF `escaped-char`). */
export function escapeOm(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/**
 * A sample value. Integers print as integers; other finite doubles in JavaScript's shortest
 * round-trip form (Go's strconv.ParseFloat, which Prometheus uses, reads both).
 */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/**
 * A timestamp: OpenMetrics timestamps are seconds since the epoch. Prometheus' parser
 * turns them into milliseconds with `int64(seconds * 1000)`, which TRUNCATES: "….123"
 * can come out as …122 ms when the double lands just below. Writing the middle of the
 * millisecond ("….1235") makes the truncation land on the intended millisecond whatever
 * the rounding (a double near 2e9 s is exact to ~2.4e-7 s, far from the 5e-4 s margin).
 */
export function formatTimestampMs(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`timestamp ${ms} ms is not a non-negative integer`);
  const s = Math.floor(ms / 1000);
  const frac = ms % 1000;
  return `${s}.${String(frac).padStart(3, '0')}5`;
}

export type Labels = readonly (readonly [string, string])[];

export function formatLabels(labels: Labels): string {
  if (labels.length === 0) return '';
  return `{${labels.map(([k, v]) => `${k}="${escapeOm(v)}"`).join(',')}}`;
}

export function sampleLine(name: string, labels: string, value: number, ms: number): string {
  return `${name}${labels} ${formatValue(value)} ${formatTimestampMs(ms)}\n`;
}
