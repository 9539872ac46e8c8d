// Where a save's downtime limit comes from (issue 12): migrate-set-parameters in a QMP input
// read before the trace, or --downtime-limit, which wins. The recorded lab run
// early-switchover predicts a stop-copy of about 180 ms.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeInputs } from '../../src/cli/pipeline.js';
import { FORMATS } from '../../parsers/index.js';
import type { Analysis } from '../../src/analysis/types.js';

const ROOT = join(import.meta.dirname, '..', '..');
const QMP = join(ROOT, 'test', 'fixtures', 'qemu', 'qmp-transcript.jsonl'); // downtime-limit 500
const TRACE = join(ROOT, 'test', 'fixtures', 'lab', 'bpftrace', 'early-switchover.txt');

const conv = (a: Analysis) => a.devices.find((d) => d.id === '0000:65:00.0')?.sessions.find((s) => s.kind === 'save')?.convergence;

describe('the downtime limit of the convergence account', () => {
  it('comes from migrate-set-parameters when the QMP input is read first', async () => {
    const a = await analyzeInputs([{ path: QMP }, { path: TRACE }], { formats: FORMATS });
    expect(conv(a)).toMatchObject({ downtimeLimitMs: 500, downtimeLimitFrom: 'qmp', fits: 'yes' });
    expect(a.findings.filter((f) => f.rule === 'MIG-EARLY-SWITCHOVER')).toEqual([]);
  });

  it('--downtime-limit overrides it, and the early switchover is reported', async () => {
    const a = await analyzeInputs([{ path: QMP }, { path: TRACE }], { formats: FORMATS, downtimeLimitMs: 20 });
    expect(conv(a)).toMatchObject({ downtimeLimitMs: 20, downtimeLimitFrom: 'flag', fits: 'no' });
    expect(a.findings.filter((f) => f.rule === 'MIG-EARLY-SWITCHOVER').map((f) => f.blame)).toEqual(['vmm']);
  });

  it('is unknown without either (fits unknown, quiet)', async () => {
    const a = await analyzeInputs([{ path: TRACE }], { formats: FORMATS });
    expect(conv(a)?.fits).toBe('unknown');
    expect(conv(a)?.downtimeLimitMs).toBeUndefined();
    expect(a.findings.filter((f) => f.rule === 'MIG-EARLY-SWITCHOVER')).toEqual([]);
  });
});
