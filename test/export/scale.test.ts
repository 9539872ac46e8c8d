// 100,000 sessions: every span reaches the collector (the SDK's batch processor would keep
// 2,048 and drop the rest without backpressure), none twice.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { exportAnalysis } from '../../src/export/index.js';
import { startHttpReceiver, type Receiver } from './otlp-receiver.js';
import { manySessionsAnalysis, spansFor } from './fixtures.js';

let r: Receiver | undefined;

afterEach(async () => {
  vi.unstubAllEnvs();
  await r?.close();
});

describe('scale', () => {
  it('exports all spans of 100,000 sessions with the default queue of 2,048', async () => {
    const n = 100_000;
    r = await startHttpReceiver(0, { countOnly: true });
    vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', r.endpoint);
    vi.stubEnv('OTEL_NODE_RESOURCE_DETECTORS', 'env');
    const s = await exportAnalysis(manySessionsAnalysis(n));
    expect(s.spansFailed).toBe(0);
    expect(s.spansExported).toBe(spansFor(n));
    expect(s.sessions).toBe(n);
    expect(s.ok).toBe(true);
    expect(r.counts.spans).toBe(spansFor(n));
    expect(r.counts.uniqueSpanIds).toBe(spansFor(n));
    expect(r.counts.byName.get('vfio.migration.save')).toBe(n);
  }, 300_000);
});
