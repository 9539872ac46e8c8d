// Every query the dashboards run, read back from the built dashboards themselves (so the
// list cannot drift from them): PromQL targets, TraceQL searches and the label_values()
// of the template variables. Prometheus tests run each PromQL expression through the HTTP
// API; `npm run dashboards` also writes the list to dashboards/queries.json.

import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';

export type QueryLanguage = 'promql' | 'traceql' | 'label_values';

export interface DashboardQuery {
  /** Dashboard uid. */
  readonly dashboard: string;
  /** Panel title, or `$name` for a template variable. */
  readonly panel: string;
  readonly refId: string;
  readonly language: QueryLanguage;
  readonly expr: string;
  /** PromQL: an instant query (else a range query). */
  readonly instant: boolean;
  readonly legend: string | undefined;
}

function field(o: unknown, key: string): unknown {
  return typeof o === 'object' && o !== null ? Reflect.get(o, key) : undefined;
}

function str(o: unknown, key: string): string | undefined {
  const v = field(o, key);
  return typeof v === 'string' ? v : undefined;
}

function panelsOf(d: dashboard.Dashboard): unknown[] {
  const out: unknown[] = [];
  for (const p of d.panels ?? []) {
    out.push(p);
    // A collapsed row keeps its panels inside it.
    const inner = field(p, 'panels');
    if (Array.isArray(inner)) out.push(...inner);
  }
  return out;
}

/** The queries of one built dashboard. */
export function queriesOf(d: dashboard.Dashboard): DashboardQuery[] {
  const uid = d.uid ?? '';
  const out: DashboardQuery[] = [];
  for (const v of d.templating?.list ?? []) {
    const q = v.query;
    if (v.type === 'query' && typeof q === 'string') {
      out.push({ dashboard: uid, panel: `$${v.name}`, refId: '', language: 'label_values', expr: q, instant: true, legend: undefined });
    }
  }
  for (const p of panelsOf(d)) {
    const targets = field(p, 'targets');
    if (!Array.isArray(targets)) continue;
    const title = str(p, 'title') ?? '';
    for (const t of targets) {
      const dsType = str(field(t, 'datasource'), 'type');
      const refId = str(t, 'refId') ?? '';
      if (dsType === 'prometheus') {
        const expr = str(t, 'expr');
        if (expr === undefined) continue;
        out.push({ dashboard: uid, panel: title, refId, language: 'promql', expr, instant: field(t, 'instant') === true, legend: str(t, 'legendFormat') });
      } else if (dsType === 'tempo') {
        const expr = str(t, 'query');
        if (expr === undefined) continue;
        out.push({ dashboard: uid, panel: title, refId, language: 'traceql', expr, instant: false, legend: undefined });
      }
    }
  }
  return out;
}

export interface PromVariables {
  /** Selected values of $host / $device; undefined: "All" (the custom all value `.*`). */
  readonly host?: readonly string[] | undefined;
  readonly device?: readonly string[] | undefined;
  /** Replacements for Grafana's $__range and $__rate_interval, e.g. "1h". */
  readonly range: string;
  readonly rateInterval: string;
}

/** Grafana's regex escaping for a multi-value variable in PromQL (prometheusSpecialRegexEscape). */
function regexEscape(v: string): string {
  return v
    .replace(/\\/g, '\\\\\\\\')
    .replace(/'/g, "\\\\'")
    .replace(/[$^*{}[\]+?.()|]/g, '\\\\$&');
}

function multi(values: readonly string[] | undefined): string {
  if (values === undefined) return '.*';
  const escaped = values.map(regexEscape);
  return escaped.length === 1 ? (escaped[0] ?? '') : `(${escaped.join('|')})`;
}

/**
 * A PromQL expression as Grafana sends it to Prometheus: the multi-value $host/$device
 * regex-escaped as Grafana's Prometheus data source does, the interval variables replaced.
 */
export function interpolatePromQL(expr: string, vars: PromVariables): string {
  return expr
    .replace(/\$__rate_interval/g, vars.rateInterval)
    .replace(/\$__range/g, vars.range)
    .replace(/\$\{?host\}?/g, multi(vars.host))
    .replace(/\$\{?device\}?/g, multi(vars.device));
}

/** A label_values(selector, label) variable query, split for Prometheus' /api/v1/label/<label>/values?match[]=<selector>. */
export function parseLabelValues(expr: string): { readonly selector: string | undefined; readonly label: string } | undefined {
  const m = /^label_values\((?:(.*),\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec(expr.trim());
  if (m === null || m[2] === undefined) return undefined;
  return { selector: m[1]?.trim(), label: m[2] };
}
