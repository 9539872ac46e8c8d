// Structural checks of a dashboard JSON, for where no Grafana runs (this repository's CI):
// known panel types, every query's data source chosen through a datasource variable, every
// variable used is defined, no `${DS_…}` import placeholders, panel ids unique and the grid
// not overlapping, and every PromQL metric and label one that migscope exports
// (src/export/metric-names.ts). Returns the problems found, one string each.

import { METRICS } from '../src/export/metric-names.js';

/** Panel plugins that ship with Grafana and that these dashboards use. */
export const KNOWN_PANEL_TYPES: ReadonlySet<string> = new Set(['row', 'timeseries', 'bargauge', 'stat', 'piechart', 'table', 'state-timeline', 'traces']);

/** Variables Grafana defines itself. */
const BUILT_IN_VARIABLES: ReadonlySet<string> = new Set([
  '__range',
  '__range_s',
  '__range_ms',
  '__rate_interval',
  '__interval',
  '__interval_ms',
  '__url_time_range',
  '__value',
  '__from',
  '__to',
  '__all',
  '__dashboard',
  '__org',
  '__user',
  '__timeFilter',
]);

const DS_VARIABLE_FOR_TYPE: Readonly<Record<string, string>> = { prometheus: 'ds_prometheus', tempo: 'ds_tempo' };

function get(o: unknown, key: string): unknown {
  return typeof o === 'object' && o !== null ? Reflect.get(o, key) : undefined;
}

function arr(o: unknown, key: string): unknown[] {
  const v = get(o, key);
  return Array.isArray(v) ? v : [];
}

function strOf(o: unknown, key: string): string | undefined {
  const v = get(o, key);
  return typeof v === 'string' ? v : undefined;
}

/** Every `$name`, `${name}` and `${name:format}` (and `${__value.raw}`) in a string. */
export function variablesIn(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/\$\{([A-Za-z0-9_]+)(?:[.:][^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g)) out.push(m[1] ?? m[2] ?? '');
  return out;
}

/** Metric name → the labels a query may use on it. */
function exportedSeries(): ReadonlyMap<string, ReadonlySet<string>> {
  const out = new Map<string, ReadonlySet<string>>();
  for (const m of Object.values(METRICS)) {
    const labels = new Set<string>(m.labels);
    if (m.kind === 'histogram') {
      out.set(`${m.prometheus}_bucket`, new Set([...labels, 'le']));
      out.set(`${m.prometheus}_sum`, labels);
      out.set(`${m.prometheus}_count`, labels);
    } else out.set(m.prometheus, labels);
  }
  return out;
}

const PROMQL_WORDS: ReadonlySet<string> = new Set(['sum', 'by', 'without', 'rate', 'increase', 'histogram_quantile', 'max', 'min', 'avg', 'count', 'label_values', 'on', 'ignoring', 'group_left', 'group_right']);

/** Metrics and labels a PromQL expression names that migscope does not export. */
export function promqlProblems(expr: string): string[] {
  const series = exportedSeries();
  const problems: string[] = [];
  const noStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const metrics = [...noStrings.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?=\{|\[|\)|$)/g)].map((m) => m[1] ?? '').filter((n) => n.startsWith('migscope_'));
  const allowed = new Set<string>();
  for (const name of metrics) {
    const labels = series.get(name);
    if (labels === undefined) problems.push(`unknown metric ${name}`);
    else for (const l of labels) allowed.add(l);
  }
  if (metrics.length === 0 && !/^label_values\(/.test(expr)) problems.push('names no migscope metric');
  const used = new Set<string>();
  for (const m of noStrings.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) for (const l of (m[1] ?? '').split(',')) used.add(l.trim());
  for (const m of noStrings.matchAll(/\{([^}]*)\}/g)) for (const mm of (m[1] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) used.add(mm[1] ?? '');
  const lv = /^label_values\((?:.*,\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec(expr.trim());
  if (lv?.[1] !== undefined) used.add(lv[1]);
  for (const l of used) if (l !== '' && !PROMQL_WORDS.has(l) && !allowed.has(l)) problems.push(`label ${l} is not a label of ${metrics.join(', ') || 'any named metric'}`);
  return problems;
}

export function validateDashboard(d: unknown): string[] {
  const problems: string[] = [];
  const uid = strOf(d, 'uid') ?? '(no uid)';
  const say = (what: string): void => {
    problems.push(`${uid}: ${what}`);
  };
  const text = JSON.stringify(d);
  if (text.includes('${DS_')) say('contains a ${DS_…} import placeholder (breaks file provisioning)');
  if (get(d, '__inputs') !== undefined) say('has __inputs (only the manual import dialog reads them)');
  if (!Array.isArray(get(get(d, 'annotations'), 'list'))) say('annotations.list is missing');

  const variables = arr(get(d, 'templating'), 'list');
  const defined = new Set<string>();
  for (const v of variables) {
    const name = strOf(v, 'name');
    if (name === undefined) say('a variable has no name');
    else if (defined.has(name)) say(`variable ${name} defined twice`);
    else defined.add(name);
    if (strOf(v, 'type') === 'datasource' && !Object.values(DS_VARIABLE_FOR_TYPE).includes(name ?? '')) say(`unexpected datasource variable ${name}`);
  }
  for (const [type, name] of Object.entries(DS_VARIABLE_FOR_TYPE)) {
    const v = variables.find((x) => strOf(x, 'name') === name);
    if (v === undefined) say(`datasource variable ${name} missing`);
    else if (strOf(v, 'type') !== 'datasource' || strOf(v, 'query') !== type) say(`variable ${name} is not a datasource variable of type ${type}`);
  }
  for (const v of variables) {
    const ds = get(v, 'datasource');
    if (ds !== undefined) checkDs(ds, `variable ${strOf(v, 'name')}`);
  }
  const checkVars = (s: string, where: string): void => {
    for (const name of variablesIn(s)) if (!defined.has(name) && !BUILT_IN_VARIABLES.has(name)) say(`${where} uses undefined variable $${name}`);
  };
  for (const v of variables) {
    const q = get(v, 'query');
    if (typeof q === 'string') checkVars(q, `variable ${strOf(v, 'name')}`);
  }

  function checkDs(ds: unknown, where: string): void {
    const type = strOf(ds, 'type');
    const dsUid = strOf(ds, 'uid');
    const variable = type !== undefined ? DS_VARIABLE_FOR_TYPE[type] : undefined;
    if (variable === undefined) say(`${where}: data source type ${type} is not one of ${Object.keys(DS_VARIABLE_FOR_TYPE).join(', ')}`);
    else if (dsUid !== `\${${variable}}`) say(`${where}: data source uid ${dsUid} is not \${${variable}}`);
  }

  const ids = new Set<number>();
  const cells: { x: number; y: number; w: number; h: number; title: string }[] = [];
  const panels: unknown[] = [];
  for (const p of arr(d, 'panels')) {
    panels.push(p);
    panels.push(...arr(p, 'panels'));
  }
  if (panels.length === 0) say('has no panels');
  for (const p of panels) {
    const title = strOf(p, 'title') ?? '(untitled)';
    const type = strOf(p, 'type') ?? '';
    if (!KNOWN_PANEL_TYPES.has(type)) say(`panel "${title}" has unknown type ${type}`);
    const id = get(p, 'id');
    if (typeof id !== 'number' || id < 1) say(`panel "${title}" has no id`);
    else if (ids.has(id)) say(`panel id ${id} used twice`);
    else ids.add(id);
    const g = get(p, 'gridPos');
    const x = get(g, 'x');
    const y = get(g, 'y');
    const w = get(g, 'w');
    const h = get(g, 'h');
    if (typeof x !== 'number' || typeof y !== 'number' || typeof w !== 'number' || typeof h !== 'number') say(`panel "${title}" has no gridPos`);
    else {
      if (x < 0 || w < 1 || x + w > 24) say(`panel "${title}" does not fit the 24-column grid`);
      for (const c of cells) if (x < c.x + c.w && c.x < x + w && y < c.y + c.h && c.y < y + h) say(`panels "${title}" and "${c.title}" overlap`);
      cells.push({ x, y, w, h, title });
    }
    checkVars(title, `panel "${title}" title`);
    if (type === 'row') continue;
    const panelDs = get(p, 'datasource');
    if (panelDs !== undefined) checkDs(panelDs, `panel "${title}"`);
    const targets = arr(p, 'targets');
    if (targets.length === 0) say(`panel "${title}" has no query`);
    const refIds = new Set<string>();
    for (const t of targets) {
      const refId = strOf(t, 'refId') ?? '';
      if (refId === '' || refIds.has(refId)) say(`panel "${title}": missing or repeated refId "${refId}"`);
      refIds.add(refId);
      const ds = get(t, 'datasource');
      if (ds === undefined) say(`panel "${title}" query ${refId} has no data source`);
      else checkDs(ds, `panel "${title}" query ${refId}`);
      const expr = strOf(t, 'expr');
      const query = strOf(t, 'query');
      if (strOf(ds, 'type') === 'prometheus') {
        if (expr === undefined || expr === '') say(`panel "${title}" query ${refId} has no expr`);
        else {
          checkVars(expr, `panel "${title}" query ${refId}`);
          for (const pr of promqlProblems(expr)) say(`panel "${title}" query ${refId}: ${pr}`);
        }
      }
      if (strOf(ds, 'type') === 'tempo') {
        if (query === undefined || query === '') say(`panel "${title}" query ${refId} has no TraceQL`);
        else checkVars(query, `panel "${title}" query ${refId}`);
      }
    }
    for (const o of arr(get(p, 'fieldConfig'), 'overrides')) {
      for (const prop of arr(o, 'properties')) {
        if (strOf(prop, 'id') !== 'links') continue;
        for (const l of arr(prop, 'value')) checkVars(strOf(l, 'url') ?? '', `panel "${title}" link`);
      }
    }
  }
  return problems;
}
