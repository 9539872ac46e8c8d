// The `migrations` section as OpenTelemetry spans (src/export/migration-plan.ts), over real
// OTLP/HTTP to the loopback receiver: the recorded QEMU 7.2 lab run (both hosts) gives a
// source and a destination root span with their phases as children, status events at the
// exact wall-clock times, QEMU's figures as attributes; a failed migration is an error span.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FORMATS } from '../../parsers/index.js';
import { analyzeInputs } from '../../src/cli/pipeline.js';
import { exportAnalysis } from '../../src/export/index.js';
import { MIGRATION_ATTR } from '../../src/export/migration-plan.js';
import { useHttpReceiver } from './use-receiver.js';

const root = resolve(import.meta.dirname, '../..');
const lab = (n: string): string => join(root, 'test/fixtures/qemu-lab/timestamped', n);
const tmp = mkdtempSync(join(tmpdir(), 'migscope-migspans-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const receiver = useHttpReceiver();

describe('migration spans', () => {
  it('both hosts of the lab run: root span per side, phase children, status events, figures', async () => {
    const a = await analyzeInputs(['source.log', 'source-qmp.jsonl', 'destination.log', 'destination-qmp.jsonl'].map((f) => ({ path: lab(f) })), { formats: FORMATS });
    const summary = await exportAnalysis(a);
    expect(summary.ok).toBe(true);
    expect(receiver().spans.map((s) => s.name).sort()).toEqual([
      'qemu.migration.destination',
      'qemu.migration.phase.load',
      'qemu.migration.phase.precopy',
      'qemu.migration.phase.setup',
      'qemu.migration.phase.stop-copy',
      'qemu.migration.source',
    ]);
    const [m] = a.migrations ?? [];
    const src = receiver().spans.find((s) => s.name === 'qemu.migration.source');
    expect(src?.startNs).toBe(m?.startNs);
    expect(src?.endNs).toBe(m?.endNs);
    expect(src?.status.code).toBe(0);
    expect(src?.attributes).toMatchObject({ [MIGRATION_ATTR.outcome]: 'completed', [MIGRATION_ATTR.side]: 'source', [MIGRATION_ATTR.downtimeLimitMs]: 300n, [MIGRATION_ATTR.peer]: 'destination-1' });
    expect(typeof src?.attributes[MIGRATION_ATTR.downtimeMs]).toBe('bigint'); // OTLP int
    expect(src?.events.map((e) => e.name)).toEqual(['qemu.migration.status', 'qemu.migration.status', 'qemu.migration.status']);
    for (const name of ['qemu.migration.phase.setup', 'qemu.migration.phase.precopy', 'qemu.migration.phase.stop-copy']) {
      expect(receiver().spans.find((s) => s.name === name)?.parentSpanId).toBe(src?.spanId);
    }
  });

  it('a failed migration is an error span with QEMU\'s error text; an untimed one is not exported', async () => {
    const ev = (us: number, status: string): string => JSON.stringify({ timestamp: { seconds: 1753123408, microseconds: us }, event: 'MIGRATION', data: { status } });
    const f = join(tmp, 'failed.jsonl');
    writeFileSync(f, [ev(100, 'setup'), ev(200, 'active'), ev(300, 'failed'), '{"execute": "query-migrate"}', '{"return": {"status": "failed", "error-desc": "socket closed"}}'].join('\n') + '\n');
    const bare = join(root, 'test/fixtures/qemu-lab/bare/source.log');
    const a = await analyzeInputs([{ path: f }, { path: bare }], { formats: FORMATS });
    expect(a.migrations?.length).toBe(2);
    await exportAnalysis(a);
    const roots = receiver().spans.filter((s) => s.parentSpanId === '');
    expect(roots.map((s) => [s.name, s.status.code, s.status.message])).toEqual([['qemu.migration.source', 2, 'migration failed: socket closed']]);
  });
});
