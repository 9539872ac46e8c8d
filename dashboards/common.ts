// What every migscope dashboard shares: the data source variables, the host and device
// variables, label matchers, query builders and the state value mappings.
//
// Data sources are chosen through datasource-TYPE variables (`ds_prometheus`, `ds_tempo`),
// never `${DS_…}` __inputs: those are resolved only by the manual import dialog, so a
// dashboard loaded by file provisioning would keep the literal `${DS_PROMETHEUS}` and break.
// The variables default to the uids that provisioning/datasources/migscope.yaml creates.

import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as tempo from '@grafana/grafana-foundation-sdk/tempo';
import type * as common from '@grafana/grafana-foundation-sdk/common';
import { LABEL, METRICS, UNKNOWN_STATE } from '../src/export/metric-names.js';
import { v1StateName } from '../src/protocol/v1.js';
import { V2_STATES } from '../src/protocol/v2.js';

export const DS_PROMETHEUS_VAR = 'ds_prometheus';
export const DS_TEMPO_VAR = 'ds_tempo';

/** The data sources provisioning/datasources/migscope.yaml creates (names and uids). */
export const PROVISIONED = {
  prometheus: { name: 'migscope Prometheus', uid: 'migscope-prometheus', url: 'http://127.0.0.1:9090' },
  tempo: { name: 'migscope Tempo', uid: 'migscope-tempo', url: 'http://127.0.0.1:3200' },
} as const;

export const DASHBOARD_UIDS = {
  fleet: 'migscope-fleet',
  device: 'migscope-device',
  traces: 'migscope-traces',
} as const;

export const TAGS = ['migscope', 'vfio', 'migration'];

export const prometheusDs: common.DataSourceRef = { type: 'prometheus', uid: `\${${DS_PROMETHEUS_VAR}}` };
export const tempoDs: common.DataSourceRef = { type: 'tempo', uid: `\${${DS_TEMPO_VAR}}` };

function datasourceVariable(name: string, label: string, pluginId: string, ds: { readonly name: string; readonly uid: string }): dashboard.DatasourceVariableBuilder {
  // current.value is the uid, text the name: Grafana matches the saved current value against
  // either, so the provisioned source is picked and any other source of the type can be chosen.
  return new dashboard.DatasourceVariableBuilder(name).label(label).type(pluginId).current({ text: ds.name, value: ds.uid });
}

export function prometheusVariable(): dashboard.DatasourceVariableBuilder {
  return datasourceVariable(DS_PROMETHEUS_VAR, 'Prometheus', 'prometheus', PROVISIONED.prometheus);
}

export function tempoVariable(): dashboard.DatasourceVariableBuilder {
  return datasourceVariable(DS_TEMPO_VAR, 'Tempo', 'tempo', PROVISIONED.tempo);
}

/**
 * A multi-value label variable from label_values(). "All" is `.*` (a custom all value is
 * passed through unescaped), not the list of every value, which grows with the fleet.
 */
function labelVariable(name: string, label: string, query: string): dashboard.QueryVariableBuilder {
  return new dashboard.QueryVariableBuilder(name)
    .label(label)
    .datasource(prometheusDs)
    // The plain string form: every Grafana version reads it (and migrates it in its editor).
    .query(query)
    .definition(query)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .current({ text: 'All', value: '$__all' });
}

/** Every host that reported input counts (each analysis and each watch reports them, per host). */
export const HOST_VARIABLE_QUERY = `label_values(${METRICS.records.prometheus}, ${LABEL.host})`;
/** Every device with a state gauge on the chosen hosts. */
export const DEVICE_VARIABLE_QUERY = `label_values(${METRICS.deviceState.prometheus}{${LABEL.host}=~"$host"}, ${LABEL.device})`;

export function hostVariable(): dashboard.QueryVariableBuilder {
  return labelVariable('host', 'Host', HOST_VARIABLE_QUERY);
}

export function deviceVariable(): dashboard.QueryVariableBuilder {
  return labelVariable('device', 'Device', DEVICE_VARIABLE_QUERY);
}

/** Label matchers for the host and device variables, plus any extra matchers. */
export function sel(...extra: string[]): string {
  return [`${LABEL.host}=~"$host"`, `${LABEL.device}=~"$device"`, ...extra].join(', ');
}

/** Label matcher for the host variable alone (input counters have no device label). */
export function hostSel(): string {
  return `${LABEL.host}=~"$host"`;
}

export interface PromTarget {
  readonly expr: string;
  readonly legend?: string;
  /** An instant query (one value per series: stat, bar gauge, table panels). */
  readonly instant?: boolean;
  readonly table?: boolean;
  readonly refId?: string;
}

export function promTarget(t: PromTarget, index: number): prometheus.DataqueryBuilder {
  const q = new prometheus.DataqueryBuilder()
    .datasource(prometheusDs)
    .refId(t.refId ?? String.fromCharCode(65 + index))
    .expr(t.expr)
    .editorMode(prometheus.QueryEditorMode.Code);
  if (t.legend !== undefined) q.legendFormat(t.legend);
  if (t.instant === true) q.instant();
  else q.range();
  if (t.table === true) q.format(prometheus.PromQueryFormat.Table);
  return q;
}

export function tempoSearch(refId: string, traceql: string, limit: number): tempo.DataqueryBuilder {
  return new tempo.DataqueryBuilder()
    .datasource(tempoDs)
    .refId(refId)
    .queryType('traceql')
    .query(traceql)
    .limit(limit)
    .tableType(tempo.SearchTableType.Traces);
}

/**
 * Grafana's built-in "Annotations & Alerts" query. Dashboards without it get it added on
 * load, but only if `annotations.list` exists; an empty `annotations` object breaks that.
 */
export function builtInAnnotation(): dashboard.AnnotationQueryBuilder {
  return new dashboard.AnnotationQueryBuilder()
    .name('Annotations & Alerts')
    .builtIn(1)
    .datasource({ type: 'grafana', uid: '-- Grafana --' })
    .enable(true)
    .hide(true)
    .iconColor('rgba(0, 211, 255, 1)')
    .type('dashboard');
}

/** A trace looked up by id (a TraceQL query that is a trace id opens that trace). */
export function tempoTrace(refId: string, traceId: string): tempo.DataqueryBuilder {
  return new tempo.DataqueryBuilder().datasource(tempoDs).refId(refId).queryType('traceql').query(traceId).limit(1);
}

// ---------------------------------------------------------------------------------------
// State colours. The state set (metric-names.ts deviceState) carries the state NAME in its
// `state` label, so one panel serves v1 and v2 devices alike: each (device, state) series
// is a row that is filled while the device is in that state, coloured per state.

export const STATE_COLORS: Readonly<Record<string, string>> = {
  RUNNING: 'green',
  RUNNING_P2P: 'light-green',
  PRE_COPY: 'blue',
  PRE_COPY_P2P: 'light-blue',
  SAVING: 'orange',
  STOP_COPY: 'orange',
  STOP: 'yellow',
  RESUMING: 'purple',
  ERROR: 'red',
  INVALID_101: 'dark-red',
  INVALID_111: 'dark-red',
  INVALID: 'dark-red',
  [UNKNOWN_STATE]: 'text',
};

/** Every `state` label value the state set can carry: v1 (§2.2), v2 (§5.3), INVALID, UNKNOWN. */
export const STATE_NAMES: readonly string[] = [...new Set([...[0, 1, 2, 3, 4, 5, 6, 7].map((raw) => v1StateName(raw)), ...V2_STATES, 'INVALID', UNKNOWN_STATE])];

/** A value mapping showing 1 ("in this state") as the state's name in its colour. */
export function stateMapping(name: string): dashboard.ValueMapping[] {
  return [{ type: dashboard.MappingType.ValueToText, options: { '1': { text: name, color: STATE_COLORS[name] ?? 'text', index: 0 } } }];
}
