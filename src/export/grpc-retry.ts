// Retrying OTLP/gRPC exports.
//
// The OTLP spec (protocol/exporter.md "Retry", otlp.md "Failures") says UNAVAILABLE and the
// other transient gRPC codes must be retried with exponential backoff. The official JS
// gRPC exporters (@opentelemetry/otlp-grpc-exporter-base 0.223, grpc-exporter-transport.js)
// map EVERY gRPC error to a non-retryable "failure", so the shared RetryingTransport never
// retries them: a collector restart loses the batch. The HTTP transports do retry (429,
// 502, 503, 504 and connection errors, honouring Retry-After). So for gRPC only, the
// accounting exporter retries around the official exporter with the same policy the HTTP
// transport uses (otlp-exporter-base retrying-transport.js): 5 retries, 1 s initial backoff,
// ×1.5, capped at 5 s, ±20 % jitter, never past the export timeout.

/** gRPC status codes the OTLP spec lists as retryable (RESOURCE_EXHAUSTED only with RetryInfo, which the JS client does not surface). */
const RETRYABLE_GRPC_CODES: ReadonlySet<number> = new Set([
  1, // CANCELLED
  4, // DEADLINE_EXCEEDED
  10, // ABORTED
  11, // OUT_OF_RANGE
  14, // UNAVAILABLE
  15, // DATA_LOSS
]);

export function isRetryableGrpcError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null || !('code' in error)) return false;
  const code = error.code;
  return typeof code === 'number' && RETRYABLE_GRPC_CODES.has(code);
}

export interface RetryPolicy {
  readonly maxRetries: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly multiplier: number;
  readonly jitter: number;
  readonly isRetryable: (error: unknown) => boolean;
}

export const GRPC_RETRY_POLICY: RetryPolicy = {
  maxRetries: 5,
  initialBackoffMs: 1000,
  maxBackoffMs: 5000,
  multiplier: 1.5,
  jitter: 0.2,
  isRetryable: isRetryableGrpcError,
};

/** Backoff before retry number `attempt` (0-based). */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.initialBackoffMs * policy.multiplier ** attempt, policy.maxBackoffMs);
  return Math.max(0, base * (1 + (random() * 2 - 1) * policy.jitter));
}
