// One delivery of a batch through an official exporter: call it, and when a retry policy
// applies (gRPC, grpc-retry.ts) retry transient failures with backoff until the export
// timeout. Never throws: an exporter that throws synchronously counts as a failed attempt.

import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { backoffMs, type RetryPolicy } from './grpc-retry.js';

export interface DeliveryResult {
  readonly ok: boolean;
  readonly error: unknown;
  readonly attempts: number;
}

export interface DeliveryOptions {
  readonly retry: RetryPolicy | undefined;
  /** Retries stop when the next one would start after this long since the first attempt. */
  readonly timeoutMs: number;
  /** Checked before each retry: true stops retrying (shutdown deadline passed). */
  readonly cancelled: () => boolean;
}

function attempt(send: (cb: (r: ExportResult) => void) => void): Promise<ExportResult> {
  return new Promise((resolve) => {
    try {
      send(resolve);
    } catch (error) {
      resolve({ code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) });
    }
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function deliver(send: (cb: (r: ExportResult) => void) => void, opts: DeliveryOptions): Promise<DeliveryResult> {
  const started = Date.now();
  let tries = 0;
  for (;;) {
    const r = await attempt(send);
    tries++;
    if (r.code === ExportResultCode.SUCCESS) return { ok: true, error: undefined, attempts: tries };
    const p = opts.retry;
    if (p === undefined || tries > p.maxRetries || !p.isRetryable(r.error) || opts.cancelled()) {
      return { ok: false, error: r.error, attempts: tries };
    }
    const wait = backoffMs(p, tries - 1);
    if (Date.now() + wait - started > opts.timeoutMs) return { ok: false, error: r.error, attempts: tries };
    await sleep(wait);
    if (opts.cancelled()) return { ok: false, error: r.error, attempts: tries };
  }
}

/** A short, printable description of an export error. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = 'code' in error && (typeof error.code === 'number' || typeof error.code === 'string') ? ` (code ${String(error.code)})` : '';
    return `${error.message}${code}`;
  }
  return error === undefined ? 'export failed' : String(error);
}
