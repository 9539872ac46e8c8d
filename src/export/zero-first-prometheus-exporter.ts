// Watch mode's /metrics endpoint (issue 5): the OpenTelemetry Prometheus exporter with new
// counter and histogram series shown at zero on their first scrape.

import { PrometheusExporter, type ExporterConfig } from '@opentelemetry/exporter-prometheus';
import { DataPointType, type AggregationTemporality, type CollectionResult, type InstrumentType, type MetricData } from '@opentelemetry/sdk-metrics';
import { liveGaugeTemporality } from './live-gauge-temporality.js';

/**
 * The /metrics endpoint, with one change to what the OpenTelemetry exporter serves: a
 * counter or histogram series is shown at zero the first time it is scraped, and with its
 * value from the next scrape on.
 *
 * Why: the SDK creates a series at its first increment, so a scraper first sees it at 1 (a
 * session, a finding) and increase()/rate() — every dashboard query — cannot count that
 * first increment: they need a sample before it. Prometheus recommends initialising series
 * at zero; migscope cannot list its series in advance (devices, rules, outcomes appear as
 * they happen), so the zero is shown on the series' first scrape instead. It also makes a
 * restarted watch read as a counter reset. The cost: a new series' value appears one scrape
 * interval late. With two scrapers, only the first sees the zero.
 */
export class ZeroFirstPrometheusExporter extends PrometheusExporter {
  private readonly exposed = new Set<string>();

  constructor(config: ExporterConfig, callback?: (error: Error | void) => void) {
    super(config, callback);
  }

  /** Cumulative (Prometheus), except observable gauges: delta, so a gone device's gauge series leave /metrics (live-gauge-temporality.ts). */
  override selectAggregationTemporality(t: InstrumentType): AggregationTemporality {
    return liveGaugeTemporality((x) => super.selectAggregationTemporality(x))(t);
  }

  override async collect(options?: Parameters<PrometheusExporter['collect']>[0]): Promise<CollectionResult> {
    const result = await super.collect(options);
    for (const scope of result.resourceMetrics.scopeMetrics) {
      scope.metrics = scope.metrics.map((m) => this.zeroFirst(m));
    }
    return result;
  }

  private zeroFirst(m: MetricData): MetricData {
    const key = (attrs: object): string => `${m.descriptor.name}\0${JSON.stringify(Object.entries(attrs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))}`;
    const isNew = (attrs: object): boolean => {
      const k = key(attrs);
      if (this.exposed.has(k)) return false;
      this.exposed.add(k);
      return true;
    };
    switch (m.dataPointType) {
      case DataPointType.SUM:
        if (!m.isMonotonic) return m;
        return { ...m, dataPoints: m.dataPoints.map((dp) => (isNew(dp.attributes) ? { ...dp, value: 0 } : dp)) };
      case DataPointType.HISTOGRAM:
        return {
          ...m,
          dataPoints: m.dataPoints.map((dp) =>
            isNew(dp.attributes)
              ? { ...dp, value: { buckets: { boundaries: dp.value.buckets.boundaries, counts: dp.value.buckets.counts.map(() => 0) }, sum: 0, count: 0 } }
              : dp,
          ),
        };
      case DataPointType.GAUGE:
      case DataPointType.EXPONENTIAL_HISTOGRAM:
        return m;
    }
  }
}

