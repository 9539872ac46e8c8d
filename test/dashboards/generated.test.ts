// The committed dashboards are what the code generates, and they hold together without a
// Grafana to load them (dashboards/validate.ts); the provisioning files match them.

import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DASHBOARDS, DASHBOARD_UIDS, PROVISIONED, STATE_NAMES, stateMapping, buildDashboard, dashboardJson } from '../../dashboards/index.js';
import { generatedFiles } from '../../dashboards/generate.js';
import { queriesOf } from '../../dashboards/queries.js';
import { TRACEQL } from '../../dashboards/traces.js';
import { promqlProblems, validateDashboard, variablesIn } from '../../dashboards/validate.js';
import { ATTR } from '../../src/export/conventions.js';

const root = resolve(import.meta.dirname, '../../dashboards');
const read = (rel: string): string => readFileSync(join(root, rel), 'utf8');

describe('generated dashboards', () => {
  it('the committed JSON is exactly what dashboards/*.ts generate (run: npm run build && npm run dashboards)', () => {
    for (const d of DASHBOARDS) expect(read(join('json', d.file)), d.file).toBe(dashboardJson(d));
    expect(read('queries.json')).toBe(generatedFiles().get('queries.json'));
  });

  it('dashboards/json holds no file the code does not generate (provisioning would load it)', () => {
    expect(readdirSync(join(root, 'json')).sort()).toEqual(DASHBOARDS.map((d) => d.file).sort());
  });

  it('the comparison can fail: one changed character is a difference', () => {
    const d = DASHBOARDS[0]!;
    expect(dashboardJson(d).replace('"migscope-fleet"', '"migscope-fleeT"')).not.toBe(read(join('json', d.file)));
  });

  it('generates the same text twice (no time, random id or map order in it)', () => {
    for (const d of DASHBOARDS) expect(dashboardJson(d)).toBe(dashboardJson(d));
  });
});

describe('dashboard structure', () => {
  for (const d of DASHBOARDS) {
    it(`${d.file} passes the structural checks`, () => {
      expect(validateDashboard(JSON.parse(read(join('json', d.file))))).toEqual([]);
    });
  }

  it('the checks find the problems they look for', () => {
    const good = JSON.parse(read('json/fleet.json')) as Record<string, unknown>;
    const bad = structuredClone(good) as { panels: { type: string; targets?: { datasource?: { uid?: string }; expr?: string }[] }[]; templating: { list: { name: string }[] } };
    const panel = bad.panels.find((p) => p.type === 'timeseries')!;
    panel.targets![0]!.datasource!.uid = '${DS_PROMETHEUS}';
    panel.targets![0]!.expr = 'sum by (colour) (rate(migscope_nonsense_total{host=~"$hots"}[5m]))';
    bad.panels.push({ type: 'graph-9000' });
    bad.templating.list = bad.templating.list.filter((v) => v.name !== 'ds_tempo');
    const problems = validateDashboard(bad).join('\n');
    expect(problems).toMatch(/\$\{DS_… \}|\$\{DS_…\}/);
    expect(problems).toMatch(/data source uid \$\{DS_PROMETHEUS\} is not \$\{ds_prometheus\}/);
    expect(problems).toMatch(/undefined variable \$hots/);
    expect(problems).toMatch(/unknown metric migscope_nonsense_total/);
    expect(problems).toMatch(/label colour/);
    expect(problems).toMatch(/unknown type graph-9000/);
    expect(problems).toMatch(/datasource variable ds_tempo missing/);
  });

  it('reads variables in every Grafana form', () => {
    expect(variablesIn('a $host ${device} ${ds_tempo:queryparam} ${__value.raw} $__range')).toEqual(['host', 'device', 'ds_tempo', '__value', '__range']);
  });

  it('the PromQL check passes real expressions and catches wrong labels', () => {
    expect(promqlProblems('histogram_quantile(0.5, sum by (le, kind) (rate(migscope_migration_not_running_seconds_bucket{host=~"$host"}[5m])))')).toEqual([]);
    expect(promqlProblems('sum by (rule) (migscope_migrations_total)')).toEqual(['label rule is not a label of migscope_migrations_total']);
  });

  it('every dashboard chooses its data sources through datasource variables defaulting to the provisioned uids', () => {
    for (const d of DASHBOARDS) {
      const b = buildDashboard(d);
      const vars = b.templating?.list ?? [];
      expect(vars.find((v) => v.name === 'ds_prometheus')).toMatchObject({ type: 'datasource', query: 'prometheus', current: { value: PROVISIONED.prometheus.uid } });
      expect(vars.find((v) => v.name === 'ds_tempo')).toMatchObject({ type: 'datasource', query: 'tempo', current: { value: PROVISIONED.tempo.uid } });
      expect(vars.find((v) => v.name === 'host')).toMatchObject({ type: 'query', includeAll: true, multi: true, allValue: '.*' });
      expect(vars.find((v) => v.name === 'device')).toMatchObject({ type: 'query', includeAll: true, multi: true, allValue: '.*' });
    }
  });

  it('reads the device state from the state label, one panel for v1 and v2, each state named and coloured', () => {
    // Every name the state set can carry has a mapping of 1 to that name (no raw numbers).
    expect(STATE_NAMES).toEqual(expect.arrayContaining(['STOP', 'RUNNING', 'SAVING', 'PRE_COPY', 'RESUMING', 'ERROR', 'STOP_COPY', 'RUNNING_P2P', 'PRE_COPY_P2P', 'UNKNOWN', 'INVALID']));
    const device = JSON.parse(read('json/device.json')) as {
      panels: { type: string; title: string; targets?: { expr?: string; legendFormat?: string }[]; fieldConfig?: { overrides?: { matcher: { id: string; options: string }; properties: { id: string; value: unknown }[] }[] } }[];
    };
    const timelines = device.panels.filter((p) => p.type === 'state-timeline');
    expect(timelines).toHaveLength(1);
    const p = timelines[0]!;
    expect(p.targets?.[0]?.expr).toMatch(/^max by \(host, device, protocol, state\) \(migscope_device_state\{[^}]*\} == 1\)$/);
    expect(p.targets?.[0]?.expr).not.toContain('protocol=');
    expect(p.targets?.[0]?.legendFormat).toMatch(/\{\{state\}\}$/);
    const overrides = p.fieldConfig?.overrides ?? [];
    for (const name of STATE_NAMES) {
      const o = overrides.find((x) => x.matcher.id === 'byRegexp' && x.matcher.options === `.* ${name}$`);
      expect(o?.properties, name).toEqual([{ id: 'mappings', value: stateMapping(name) }]);
    }
    // The regexps cannot mix up STOP and STOP_COPY, PRE_COPY and PRE_COPY_P2P.
    expect(new RegExp('.* STOP$').test('h 0000:65:00.0 STOP_COPY')).toBe(false);
    expect(new RegExp('.* PRE_COPY$').test('h d PRE_COPY_P2P')).toBe(false);
  });

  it('the TraceQL searches use span attributes migscope writes', () => {
    const known = new Set<string>(Object.values(ATTR));
    const traces = buildDashboard(DASHBOARDS.find((d) => d.file === 'traces.json')!);
    const queries = queriesOf(traces).filter((q) => q.language === 'traceql');
    expect(queries.map((q) => q.expr)).toEqual(expect.arrayContaining(Object.values(TRACEQL)));
    for (const q of queries) {
      for (const m of q.expr.matchAll(/\bspan\.([a-z0-9_.]+)/g)) expect(known.has(m[1]!), `${m[1]} in ${q.expr}`).toBe(true);
    }
    expect(TRACEQL.failed).toContain(`span.${ATTR.outcome} = "failed"`);
    expect(TRACEQL.withFindings).toContain(`span.${ATTR.findingsCount} > 0`);
  });

  it('every query is listed in queries.json, with its dashboard, panel and refId', () => {
    const listed = JSON.parse(read('queries.json')) as { dashboard: string; panel: string; language: string; expr: string }[];
    const promql = listed.filter((q) => q.language === 'promql');
    expect(promql.length).toBeGreaterThan(15);
    expect(new Set(listed.map((q) => q.dashboard))).toEqual(new Set(Object.values(DASHBOARD_UIDS)));
    for (const d of DASHBOARDS) {
      const text = read(join('json', d.file));
      for (const q of listed.filter((x) => x.dashboard === buildDashboard(d).uid)) expect(text).toContain(JSON.stringify(q.expr));
    }
  });
});

describe('provisioning', () => {
  const datasources = read('provisioning/datasources/migscope.yaml');
  const providers = read('provisioning/dashboards/migscope.yaml');

  it('creates the data sources the dashboards default to, on loopback', () => {
    for (const ds of [PROVISIONED.prometheus, PROVISIONED.tempo]) {
      const block = datasources.split(/\n  - /).find((b) => b.includes(`uid: ${ds.uid}\n`));
      expect(block, ds.uid).toBeDefined();
      expect(block).toContain(`name: ${ds.name}\n`);
      expect(block).toContain(`url: ${ds.url}\n`);
    }
    expect(datasources).toMatch(/^apiVersion: 1$/m);
    expect(datasources).toContain('type: prometheus\n');
    expect(datasources).toContain('type: tempo\n');
  });

  it('points a file provider at the generated JSON', () => {
    expect(providers).toMatch(/^apiVersion: 1$/m);
    expect(providers).toContain('type: file\n');
    expect(providers).toMatch(/path: \$\{MIGSCOPE_DASHBOARDS\}\n/);
    // No tabs: YAML forbids them for indentation.
    expect(providers + datasources).not.toContain('\t');
  });
});
