// The shipped Prometheus alert rules (deploy/prometheus/migscope-alerts.yml): promtool checks
// their syntax and runs their unit tests (each alert fires on a violating series and stays
// quiet on clean ones: deploy/prometheus/migscope-alerts.test.yml); and every metric and
// label they name is one migscope exports. Skips, saying why, when promtool is missing.

import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { promqlProblems } from '../../dashboards/validate.js';
import { PROMTOOL, toolAvailable } from '../helpers/prometheus.js';

const DIR = join(import.meta.dirname, '../../deploy/prometheus');
const RULES = join(DIR, 'migscope-alerts.yml');
const TESTS = join(DIR, 'migscope-alerts.test.yml');
const havePromtool = toolAvailable(PROMTOOL);
if (!havePromtool) console.warn(`SKIPPED promtool part of test/deploy/alerts.test.ts: ${PROMTOOL} is missing (Debian package "prometheus")`);

interface Rule {
  readonly alert?: string;
  readonly expr: string;
}

function rules(): Rule[] {
  const doc = parse(readFileSync(RULES, 'utf8')) as { groups: { rules: Rule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

describe('alert rules', () => {
  it('ship the four the issue asks for, plus lost events and label overflow, on exported metrics and labels only', () => {
    const all = rules();
    expect(all.map((r) => r.alert)).toEqual(['MigscopeErrorFinding', 'MigscopeSessionFailed', 'MigscopeDowntimeOverLimit', 'MigscopePreCopyStalled', 'MigscopeLostEvents', 'MigscopeDeviceLabelOverflow']);
    for (const r of all) expect(promqlProblems(r.expr.replace(/\s+/g, ' ')), `${r.alert}: ${r.expr}`).toEqual([]);
    // The check can fail: a label the metric does not have.
    expect(promqlProblems('sum by (pid) (migscope_findings_total)')).not.toEqual([]);
  });

  it.skipIf(!havePromtool)('pass promtool check rules', () => {
    const r = spawnSync(PROMTOOL, ['check', 'rules', RULES], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS: 6 rules found/);
  });

  it.skipIf(!havePromtool)('pass their promtool unit tests, which fail when a rule is broken', () => {
    const ok = spawnSync(PROMTOOL, ['test', 'rules', TESTS], { encoding: 'utf8', cwd: DIR });
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    // A broken copy (error findings need more than 5) must fail the same tests.
    const tmp = mkdtempSync(join(tmpdir(), 'migscope-alerts-'));
    try {
      copyFileSync(TESTS, join(tmp, 'migscope-alerts.test.yml'));
      writeFileSync(join(tmp, 'migscope-alerts.yml'), readFileSync(RULES, 'utf8').replace('certainty="certain"}[15m])) > 0', 'certainty="certain"}[15m])) > 5'));
      const bad = spawnSync(PROMTOOL, ['test', 'rules', 'migscope-alerts.test.yml'], { encoding: 'utf8', cwd: tmp });
      expect(bad.status).toBe(1);
      expect(bad.stdout + bad.stderr).toMatch(/MigscopeErrorFinding/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
