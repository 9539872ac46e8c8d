// The recorded bpftrace fixture of every lab scenario (test/fixtures/lab/bpftrace/) against
// the scenario's own truth in capture/lab/scenarios.json, offline: the same checks as
// test/lab/scenarios-e2e.test.ts and v2-scenarios.test.ts make on a live capture, so that
// a fresh clone without root, FUSE or bpftrace still checks every scenario's verdict
// against what a correct analyzer reports (not only against the last reviewed output, as
// golden.test.ts does).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { labScenarios } from '../../capture/lab/run.js';
import { runAnalysis } from '../../src/cli/analyze.js';
import type { Analysis } from '../../src/analysis/types.js';
import { labFixtures, REPO_ROOT } from './inputs.js';

const blameOf = { U: 'vmm', D: 'driver' } as const;

/** Raw state values a device went through, consecutive duplicates collapsed, unknowns left out. */
function stateSequence(a: Analysis, device: string): number[] {
  const out: number[] = [];
  for (const iv of a.devices.find((x) => x.id === device)?.timeline ?? []) {
    if (iv.raw !== undefined && out[out.length - 1] !== iv.raw) out.push(iv.raw);
  }
  return out;
}

describe('recorded lab fixtures (bpftrace) report what scenarios.json says a correct analyzer reports', () => {
  for (const s of [...labScenarios('v1'), ...labScenarios('v2')]) {
    const file = join(REPO_ROOT, 'test', 'fixtures', 'lab', 'bpftrace', `${s.name}.txt`);
    it(`${s.name}: ${s.expect.findings.length === 0 ? 'no finding' : s.expect.findings.map((f) => f.rule).join(', ')}`, async () => {
      expect(existsSync(file), `${file}: record it with scripts/record-lab-fixtures.sh`).toBe(true);
      const a = await runAnalysis([file], { failOn: 'error', eagainLimit: '3', quiet: true, ...(s.analyze?.downtimeLimit !== undefined ? { downtimeLimit: s.analyze.downtimeLimit } : {}) });
      const got = a.findings.map((f) => `${f.rule} ${f.blame} ${f.severity} ${f.device}`).sort();
      const want = s.expect.findings.map((f) => `${f.rule} ${blameOf[f.blame]} ${f.severity} ${f.device}`).sort();
      expect(got, a.findings.map((f) => `${f.rule}: ${f.message}`).join('\n')).toEqual(want);
      expect(a.findings.every((f) => f.certainty === 'certain')).toBe(true);
      expect(a.input.malformed).toBe(0);
      expect(a.input.lostEvents).toBe(0);
      expect(a.devices.map((d) => d.id).sort()).toEqual(Object.keys(s.expect.states).sort());
      for (const [device, states] of Object.entries(s.expect.states)) {
        const d = a.devices.find((x) => x.id === device);
        expect(d?.protocol, `protocol of ${device}`).toBe(s.expect.protocols?.[device] ?? s.protocol);
        expect(stateSequence(a, device), `states of ${device}`).toEqual(states);
        // 4-byte v1 writes (a 2-byte one is an access, not a state write) and every v2 SET
        const writes = (d?.stateWrites ?? []).map((w) => `${w.toRaw ?? '?'}${w.errno !== undefined ? `/${w.errno}` : ''}`);
        const wantWrites = (s.expect.stateWrites[device] ?? []).filter((w) => (w.width ?? 4) === 4).map((w) => `${w.value}${w.errno !== undefined ? `/${w.errno}` : ''}`);
        expect(writes, `state writes of ${device}`).toEqual(wantWrites);
        expect(d?.resets ?? 0, `resets of ${device}`).toBe(s.expect.resets?.[device] ?? 0);
        const wantSessions = s.expect.sessions?.[device];
        if (wantSessions !== undefined) {
          const sessions = (d?.sessions ?? []).map((x) => ({ kind: x.kind, outcome: x.outcome, bytes: x.bytes }));
          expect(sessions, `sessions of ${device}`).toEqual(wantSessions.map((x) => ({ kind: x.kind, outcome: x.outcome, bytes: x.bytes ?? sessions[0]?.bytes })));
        }
      }
      for (const [device, want] of Object.entries(s.expect.convergence ?? {})) {
        const c = a.devices.find((x) => x.id === device)?.sessions.find((x) => x.kind === 'save')?.convergence;
        if (want.verdict !== undefined) expect(c?.verdict, `convergence verdict of ${device}`).toBe(want.verdict);
        if (want.fits !== undefined) expect(c?.fits, `downtime fit of ${device}`).toBe(want.fits);
      }
      for (const f of a.findings) {
        expect(f.evidence.length).toBeGreaterThan(0);
        expect(f.evidence.every((e) => e.src.file === file && (e.src.line ?? 0) > 0)).toBe(true);
      }
    });
  }
});

// ftrace and trace-cmd cannot see read values, v2 structs or GET_DEVICE_FD's name, so they
// may miss findings and name devices pid:fd; but what they report must be in the truth
// (test/lab/tracers-e2e.test.ts: "never a wrong verdict"). bpftrace JSON sees what text does.
describe('recorded lab fixtures of the other tracers: never a finding the scenario does not have, one device per device', () => {
  const scenarios = new Map([...labScenarios('v1'), ...labScenarios('v2')].map((s) => [s.name, s]));
  const others = labFixtures().filter((f) => !f.startsWith('test/fixtures/lab/bpftrace/'));
  it('there are such fixtures', () => expect(others.length).toBeGreaterThan(0));
  for (const f of others) {
    const name = f.replace(/^.*\//, '').replace(/\.(txt|json|dat)$/, '');
    it(f, async () => {
      const s = scenarios.get(name);
      expect(s, `${f}: no scenario ${name} in scenarios.json`).toBeDefined();
      if (s === undefined) return;
      const a = await runAnalysis([join(REPO_ROOT, f)], { failOn: 'error', eagainLimit: '3', quiet: true });
      const allowed = new Set(s.expect.findings.map((x) => `${x.rule} ${blameOf[x.blame]} ${x.severity}`));
      for (const x of a.findings) expect(allowed.has(`${x.rule} ${x.blame} ${x.severity}`), `${x.rule} on ${x.device}: ${x.message}`).toBe(true);
      expect(a.input.malformed).toBe(0);
      expect(a.devices.length, a.devices.map((d) => d.id).join(', ')).toBe(Object.keys(s.expect.states).length);
    });
  }
});
