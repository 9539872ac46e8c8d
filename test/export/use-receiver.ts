// A fresh loopback OTLP/HTTP receiver for each test of a file, with the OTEL_* variables
// that point migscope's exporter at it (the set-up export tests repeated by hand).
import { afterEach, beforeEach, vi } from 'vitest';
import { startHttpReceiver, type Receiver } from './otlp-receiver.js';

/**
 * Registers the per-test hooks; returns the current test's receiver. `env` adds or
 * overrides variables (default: the endpoint, only the env resource detector, a 5 s timeout).
 */
export function useHttpReceiver(env: Readonly<Record<string, string>> = {}): () => Receiver {
  let r: Receiver | undefined;
  beforeEach(async () => {
    r = await startHttpReceiver();
    const vars = { OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint, OTEL_NODE_RESOURCE_DETECTORS: 'env', OTEL_EXPORTER_OTLP_TIMEOUT: '5000', ...env };
    for (const [k, v] of Object.entries(vars)) vi.stubEnv(k, v);
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await r?.close();
    r = undefined;
  });
  return () => {
    if (r === undefined) throw new Error('useHttpReceiver: no receiver outside a test');
    return r;
  };
}
