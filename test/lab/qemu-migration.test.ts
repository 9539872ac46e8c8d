// A real QEMU migration (issue 11's lab): two QEMUs on this machine (Debian's
// qemu-system-x86, 7.2, under TCG; scripts/test.sh installs it), the source and an
// `-incoming unix:` destination, traced with the log backend (`-msg timestamp=on -trace
// migration_* …  -D log`) and driven over QMP with the `events` capability
// (capture/lab/qemu-migration.ts). migscope reads both hosts' logs and transcripts and
// must report one completed migration per host, paired, with QEMU's downtime and the
// phases. No timing values are asserted: only that they are there.
//
// The same run, recorded, is test/fixtures/qemu-lab/timestamped; its migrations section is
// diffed against a reviewed golden file (migrations.golden.json) so a fresh clone checks
// the whole chain without QEMU.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { qemuAvailable, qemuVersion, runQemuMigrationLab } from '../../capture/lab/qemu-migration.js';
import { FORMATS } from '../../parsers/index.js';
import { analyzeInputs } from '../../src/cli/pipeline.js';
import { renderJson } from '../../src/report/json.js';

const root = resolve(import.meta.dirname, '../..');
const tmp = mkdtempSync(join(tmpdir(), 'migscope-qemu-lab-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const avail = qemuAvailable();
if (!avail) console.warn('SKIPPED live part of test/lab/qemu-migration.test.ts: qemu-system-x86_64 not installed (scripts/test.sh installs qemu-system-x86)');

describe.skipIf(!avail)(`real QEMU migration (${qemuVersion() ?? 'qemu'})`, () => {
  it('both hosts\' logs and QMP transcripts: one completed migration per host, paired, with downtime and phases', async () => {
    const r = await runQemuMigrationLab(join(tmp, 'run'));
    expect(r.finalStatus).toBe('completed');
    const a = await analyzeInputs(
      [r.sourceLog, r.sourceQmp, r.destinationLog, r.destinationQmp].map((path) => ({ path })),
      { formats: FORMATS },
    );
    expect(a.input.files.map((f) => [f.format, f.clock])).toEqual([
      ['qemu-log', 'realtime'],
      ['qmp', 'realtime'],
      ['qemu-log', 'realtime'],
      ['qmp', 'realtime'],
    ]);
    expect(a.input.malformed).toBe(0);
    const ms = a.migrations ?? [];
    expect(ms.map((m) => [m.side, m.outcome, m.inputs.length, m.peer])).toEqual([
      ['source', 'completed', 2, 'destination-1'],
      ['destination', 'completed', 2, 'source-1'],
    ]);
    const src = ms[0];
    expect(src?.statuses.map((s) => s.status)).toEqual(['setup', 'active', 'completed']);
    expect(src?.downtimeMs).toBeTypeOf('number');
    expect(src?.totalTimeMs).toBeTypeOf('number');
    expect(src?.downtimeLimitMs).toBe(300);
    expect(src?.ramTotalBytes).toBe(16n * 1024n * 1024n);
    expect(src?.phases.map((p) => p.name)).toEqual(['setup', 'precopy', 'stop-copy']);
    expect(src?.vmStopNs).toBeDefined();
    expect(ms[1]?.phases.map((p) => p.name)).toEqual(['load']);
  }, 120_000);
});

describe('the recorded lab run (test/fixtures/qemu-lab/timestamped)', () => {
  it('gives the reviewed migrations section (golden file)', async () => {
    const dir = join(root, 'test/fixtures/qemu-lab/timestamped');
    const files = ['source.log', 'source-qmp.jsonl', 'destination.log', 'destination-qmp.jsonl'].map((f) => relative(root, join(dir, f)));
    const a = await analyzeInputs(
      files.map((path) => ({ path: join(root, path) })),
      { formats: FORMATS },
    );
    // Paths relative to the repo so the golden file does not depend on the checkout.
    const text = renderJson({ ...a, host: undefined }).split(root + '/').join('');
    const got = JSON.stringify(JSON.parse(text).migrations, undefined, 2) + '\n';
    const goldenPath = join(root, 'test/fixtures/qemu-lab/migrations.golden.json');
    if (process.env['MIGSCOPE_UPDATE_GOLDEN'] === '1') writeFileSync(goldenPath, got);
    expect(got).toBe(readFileSync(goldenPath, 'utf8'));
  });
});
