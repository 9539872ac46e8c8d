// Every reader collects observable gauges as delta: the device gauges (metrics.ts) report
// only the devices still live, and sdk-metrics forgets a series that a callback stopped
// reporting only under delta temporality (under cumulative it exports the last value of
// every attribute set ever observed: opentelemetry-js#4096). A gauge's temporality never
// reaches the wire: an OTLP Gauge has no aggregation_temporality, a Prometheus gauge is a
// value; so this changes which series exist, not how any value reads. Counters and
// histograms keep the temporality the exporter chose.

import { AggregationTemporality, InstrumentType, type AggregationTemporalitySelector } from '@opentelemetry/sdk-metrics';

export function liveGaugeTemporality(inner: AggregationTemporalitySelector | undefined): AggregationTemporalitySelector {
  return (t: InstrumentType): AggregationTemporality => (t === InstrumentType.OBSERVABLE_GAUGE ? AggregationTemporality.DELTA : (inner?.(t) ?? AggregationTemporality.CUMULATIVE));
}
