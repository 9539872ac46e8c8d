// The golden form (normalize.ts) keeps what a verdict is made of and drops only what is
// documented as dropped: a changed verdict must change it, a new release must not.

import { describe, expect, it } from 'vitest';
import { normalizeAnalysis } from './normalize.js';

const root = '/repo';
function analysis(over: { severity?: string; state?: string; version?: string; host?: string; extra?: Record<string, unknown> } = {}): unknown {
  return {
    schema: 'migscope.analysis/1',
    tool: { name: 'migscope', version: over.version ?? '0.1.0' },
    host: over.host ?? 'box-a',
    input: {
      files: [{ path: '/repo/test/fixtures/x.txt', format: 'bpftrace', clock: 'mono' }],
      records: 3,
      malformed: 1,
      lostEvents: 0,
      gaps: [{ tsNs: '5', count: 7, file: '/repo/test/fixtures/x.txt', line: 2 }],
      problems: [{ src: { file: '/repo/test/fixtures/x.txt', line: 9 }, message: 'bad line' }],
      problemsDropped: 0,
    },
    devices: [
      {
        id: '0000:65:00.0',
        naming: 'group-get-device-fd',
        protocol: 'v1',
        region: { index: 9, offset: '9895604649984', size: '1048576', source: 'region-info', evidence: 'GET_REGION_INFO' },
        timeline: [{ state: over.state ?? 'RUNNING', raw: 1, certainty: 'known', startNs: '1', endNs: '2', bytes: 0, src: { file: '/repo/test/fixtures/x.txt', line: 4 } }],
        stateWrites: [{ tsNs: '1', from: 'RUNNING', to: 'PRE_COPY', toRaw: 3, result: 'failed', errno: 5, src: { file: '/repo/test/fixtures/x.txt', byteOffset: 4096 } }],
        sessions: [{ kind: 'save', outcome: 'failed', iterations: 1, bytes: 8192, pending: [{ tsNs: '1', bytes: '0' }], src: { file: '/repo/test/fixtures/x.txt', line: 4 }, ...over.extra }],
      },
    ],
    findings: [
      { rule: 'V1-SAVE-DRAIN', severity: over.severity ?? 'error', blame: 'vmm', device: '0000:65:00.0', certainty: 'certain', message: 'words', evidence: [{ src: { file: '/repo/test/fixtures/x.txt', line: 4 }, what: 'more words' }] },
    ],
  };
}

describe('golden form of an analysis', () => {
  it('is one line per interval, write, gap and problem, with repo-relative file:line, hex region and sample counts', () => {
    const n = normalizeAnalysis(analysis(), root) as Record<string, unknown>;
    expect(n).toEqual({
      schema: 'migscope.analysis/1',
      input: {
        files: [{ path: 'test/fixtures/x.txt', format: 'bpftrace', clock: 'mono' }],
        records: 3,
        malformed: 1,
        lostEvents: 0,
        gaps: ['tsNs=5 count=7 file=test/fixtures/x.txt line=2'],
        problems: ['test/fixtures/x.txt:9 bad line'],
        problemsDropped: 0,
      },
      devices: [
        {
          id: '0000:65:00.0',
          naming: 'group-get-device-fd',
          protocol: 'v1',
          region: 'index=9 offset=0x90000000000 size=0x100000 source=region-info',
          timeline: ['state=RUNNING raw=1 certainty=known startNs=1 endNs=2 bytes=0 @test/fixtures/x.txt:4'],
          stateWrites: ['tsNs=1 from=RUNNING to=PRE_COPY toRaw=3 result=failed errno=5 @test/fixtures/x.txt@4096'],
          sessions: [{ kind: 'save', outcome: 'failed', iterations: 1, bytes: 8192, pendingSamples: 1, src: 'test/fixtures/x.txt:4' }],
        },
      ],
      findings: [{ rule: 'V1-SAVE-DRAIN', severity: 'error', blame: 'vmm', device: '0000:65:00.0', certainty: 'certain', evidence: ['test/fixtures/x.txt:4'] }],
    });
  });

  it('does not change with the tool version or the host', () => {
    expect(normalizeAnalysis(analysis({ version: '9.9.9', host: 'box-b' }), root)).toEqual(normalizeAnalysis(analysis(), root));
  });

  it('changes when a verdict changes: a severity, a state, a field the code adds later', () => {
    const base = normalizeAnalysis(analysis(), root);
    expect(normalizeAnalysis(analysis({ severity: 'warning' }), root)).not.toEqual(base);
    expect(normalizeAnalysis(analysis({ state: 'PRE_COPY' }), root)).not.toEqual(base);
    const extra = {
      reason: 'transition refused',
      reasonSrc: { file: '/repo/test/fixtures/x.txt', line: 7 },
      drain: { status: 'drained', evidence: [{ src: { file: '/repo/test/fixtures/x.txt', line: 8 }, what: 'pending_bytes 0' }] },
    };
    const withReason = normalizeAnalysis(analysis({ extra }), root) as { devices: { sessions: Record<string, unknown>[] }[] };
    const s = withReason.devices[0]?.sessions[0];
    expect(s?.['reason']).toBe('transition refused');
    // citations anywhere become one string each
    expect(s?.['reasonSrc']).toBe('test/fixtures/x.txt:7');
    expect(s?.['drain']).toEqual({ status: 'drained', evidence: ['test/fixtures/x.txt:8 pending_bytes 0'] });
  });
});
