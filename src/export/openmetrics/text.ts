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
 * A timestamp: OpenMetrics timestamps are seconds since the epoch; migscope writes whole
 * milliseconds (Prometheus' resolution). Prometheus reads them back with
 * `int64(seconds * 1000)`: the decimal "s.mmm" parses to within 2.4e-7 s and the product
 * rounds to the exact integer at these magnitudes, so each sample lands on its millisecond
 * (checked with promtool on about 20 000 random millisecond timestamps).
 */
export function formatTimestampMs(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`timestamp ${ms} ms is not a non-negative integer`);
  const s = Math.floor(ms / 1000);
  const frac = ms % 1000;
  return `${s}.${String(frac).padStart(3, '0')}`;
}

export type Labels = readonly (readonly [string, string])[];

export function formatLabels(labels: Labels): string {
  if (labels.length === 0) return '';
  return `{${labels.map(([k, v]) => `${k}="${escapeOm(v)}"`).join(',')}}`;
}

export function sampleLine(name: string, labels: string, value: number, ms: number): string {
  return `${name}${labels} ${formatValue(value)} ${formatTimestampMs(ms)}\n`;
}
