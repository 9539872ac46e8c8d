// Export configuration from the standard OTEL_* environment variables
// (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/),
// with the OTel defaults. What the official exporters read themselves — endpoints, headers,
// certificates, compression — is left to them, so it behaves exactly as in any other OTel
// SDK program; this file reads only what decides WHICH exporters exist and the limits
// migscope's bookkeeping needs (timeouts, queue sizes). Bad values are reported, never thrown.

export type TracesExporterName = 'otlp' | 'console' | 'none';
export type MetricsExporterName = 'otlp' | 'console' | 'prometheus' | 'none';
export type OtlpProtocol = 'http/protobuf' | 'grpc' | 'http/json';

export type Env = Readonly<Record<string, string | undefined>>;

export interface ExportConfig {
  /** Empty: no trace export. */
  readonly traces: readonly Exclude<TracesExporterName, 'none'>[];
  readonly metrics: readonly Exclude<MetricsExporterName, 'none'>[];
  readonly tracesProtocol: OtlpProtocol;
  readonly metricsProtocol: OtlpProtocol;
  /** Per export, retries included (OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT, default 10 s). */
  readonly tracesTimeoutMs: number;
  readonly metricsTimeoutMs: number;
  /** Batch span processor (OTEL_BSP_*), OTel defaults. */
  readonly maxQueueSize: number;
  readonly maxExportBatchSize: number;
  readonly scheduledDelayMs: number;
  readonly bspExportTimeoutMs: number;
  /** Periodic metric reader (OTEL_METRIC_EXPORT_*), OTel defaults. */
  readonly metricExportIntervalMs: number;
  readonly metricExportTimeoutMs: number;
  readonly serviceName: string | undefined;
  readonly problems: readonly string[];
}

export const DEFAULT_SERVICE_NAME = 'migscope';

const PROTOCOLS: readonly OtlpProtocol[] = ['http/protobuf', 'grpc', 'http/json'];

function str(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

function positiveInt(env: Env, name: string, fallback: number, problems: string[]): number {
  const v = str(env, name);
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v) || Number(v) < 1) {
    problems.push(`${name}="${v}" is not a positive integer; using ${fallback}`);
    return fallback;
  }
  return Number(v);
}

function protocol(env: Env, names: readonly string[], problems: string[]): OtlpProtocol {
  for (const name of names) {
    const v = str(env, name);
    if (v === undefined) continue;
    const p = PROTOCOLS.find((x) => x === v);
    if (p !== undefined) return p;
    problems.push(`${name}="${v}" is not one of ${PROTOCOLS.join(', ')}; using http/protobuf`);
    return 'http/protobuf';
  }
  return 'http/protobuf';
}

function exporterList<T extends string>(env: Env, name: string, allowed: readonly T[], problems: string[]): (T | 'none')[] {
  const v = str(env, name);
  if (v === undefined) return allowed.filter((a) => a === 'otlp');
  const out: (T | 'none')[] = [];
  for (const raw of v.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    if (raw === 'none') {
      out.push('none');
      continue;
    }
    const hit = allowed.find((a) => a === raw);
    if (hit === undefined) problems.push(`${name}: "${raw}" is not supported (use ${[...allowed, 'none'].join(', ')}); ignored`);
    else if (!out.includes(hit)) out.push(hit);
  }
  return out;
}

export interface ConfigOverrides {
  readonly traces?: readonly TracesExporterName[] | undefined;
  readonly metrics?: readonly MetricsExporterName[] | undefined;
  readonly exportTimeoutMs?: number | undefined;
  readonly maxQueueSize?: number | undefined;
  readonly maxExportBatchSize?: number | undefined;
}

function withoutNone<T extends string>(list: readonly (T | 'none')[]): Exclude<T, 'none'>[] {
  // "none" alone disables the signal; "none" beside real exporters is ignored (as sdk-node does).
  return list.filter((x): x is Exclude<T, 'none'> => x !== 'none');
}

export function readExportConfig(env: Env, overrides: ConfigOverrides = {}): ExportConfig {
  const problems: string[] = [];
  const disabled = str(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true';
  if (disabled) problems.push('OTEL_SDK_DISABLED=true: no spans or metrics are exported');
  const traces = disabled ? [] : overrides.traces ?? exporterList<TracesExporterName>(env, 'OTEL_TRACES_EXPORTER', ['otlp', 'console'], problems);
  const metrics = disabled ? [] : overrides.metrics ?? exporterList<MetricsExporterName>(env, 'OTEL_METRICS_EXPORTER', ['otlp', 'console', 'prometheus'], problems);
  const generalTimeout = positiveInt(env, 'OTEL_EXPORTER_OTLP_TIMEOUT', 10_000, problems);
  const maxQueueSize = overrides.maxQueueSize ?? positiveInt(env, 'OTEL_BSP_MAX_QUEUE_SIZE', 2048, problems);
  let maxExportBatchSize = overrides.maxExportBatchSize ?? positiveInt(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 512, problems);
  if (maxExportBatchSize > maxQueueSize) {
    problems.push(`the export batch size (${maxExportBatchSize}) exceeds the queue size (${maxQueueSize}); using ${maxQueueSize}`);
    maxExportBatchSize = maxQueueSize;
  }
  const metricExportIntervalMs = positiveInt(env, 'OTEL_METRIC_EXPORT_INTERVAL', 60_000, problems);
  const metricExportTimeoutMs = Math.min(positiveInt(env, 'OTEL_METRIC_EXPORT_TIMEOUT', 30_000, problems), metricExportIntervalMs);
  return {
    traces: withoutNone(traces),
    metrics: withoutNone(metrics),
    tracesProtocol: protocol(env, ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL'], problems),
    metricsProtocol: protocol(env, ['OTEL_EXPORTER_OTLP_METRICS_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL'], problems),
    tracesTimeoutMs: overrides.exportTimeoutMs ?? positiveInt(env, 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', generalTimeout, problems),
    metricsTimeoutMs: overrides.exportTimeoutMs ?? positiveInt(env, 'OTEL_EXPORTER_OTLP_METRICS_TIMEOUT', generalTimeout, problems),
    maxQueueSize,
    maxExportBatchSize,
    scheduledDelayMs: positiveInt(env, 'OTEL_BSP_SCHEDULE_DELAY', 5000, problems),
    bspExportTimeoutMs: positiveInt(env, 'OTEL_BSP_EXPORT_TIMEOUT', 30_000, problems),
    metricExportIntervalMs,
    metricExportTimeoutMs,
    serviceName: str(env, 'OTEL_SERVICE_NAME'),
    problems,
  };
}
