// The official exporters, chosen the way @opentelemetry/sdk-node chooses them
// (utils.js getOtlpExporterFromEnv / getOtlpMetricExporterFromEnv): OTLP over
// http/protobuf by default, grpc or http/json on request, or the console exporters.
// Endpoint, headers, TLS files and compression come from the OTEL_EXPORTER_OTLP_* variables,
// which the exporters read themselves.

import { ConsoleSpanExporter, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ConsoleMetricExporter, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as GrpcMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { assertNever } from '../protocol/assert-never.js';
import type { OtlpProtocol } from './config.js';

export function createOtlpSpanExporter(protocol: OtlpProtocol, timeoutMillis: number): SpanExporter {
  switch (protocol) {
    case 'http/protobuf':
      return new ProtoTraceExporter({ timeoutMillis });
    case 'http/json':
      return new JsonTraceExporter({ timeoutMillis });
    case 'grpc':
      return new GrpcTraceExporter({ timeoutMillis });
    default:
      return assertNever(protocol);
  }
}

export function createOtlpMetricExporter(protocol: OtlpProtocol, timeoutMillis: number): PushMetricExporter {
  switch (protocol) {
    case 'http/protobuf':
      return new ProtoMetricExporter({ timeoutMillis });
    case 'http/json':
      return new JsonMetricExporter({ timeoutMillis });
    case 'grpc':
      return new GrpcMetricExporter({ timeoutMillis });
    default:
      return assertNever(protocol);
  }
}

export function createConsoleSpanExporter(): SpanExporter {
  return new ConsoleSpanExporter();
}

export function createConsoleMetricExporter(): PushMetricExporter {
  return new ConsoleMetricExporter();
}
