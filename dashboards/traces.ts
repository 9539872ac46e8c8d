// Traces view: migscope's spans in Tempo (docs/telemetry.md "Spans";
// src/export/conventions.ts for the names). TraceQL searches find the failed sessions and
// the sessions with findings; a trace id from the tables opens the trace below (or in
// Explore, Tempo's own link on the trace id column).
//
// Root spans carry migscope.host only when the trace named its host; the host filter uses
// it, so with a host chosen, sessions from traces without a host do not show.

import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as table from '@grafana/grafana-foundation-sdk/table';
import { ATTR, SPAN } from '../src/export/conventions.js';
import { DASHBOARD_UIDS, DS_TEMPO_VAR, builtInAnnotation, TAGS, deviceVariable, hostVariable, prometheusVariable, tempoDs, tempoSearch, tempoTrace, tempoVariable } from './common.js';
import { dashboardLinks } from './links.js';

export const TRACE_ID_VAR = 'trace_id';
/** The orchestrator's migration id (--migration-id): sessions of both hosts carry it. */
export const MIGRATION_ID_VAR = 'migration_id';

// Multi-value variables in TraceQL: Grafana's default format for them is the Graphite glob
// `{a,b}`, which TraceQL reads as no match (grafana/grafana#69841, #72735); `:pipe` gives
// `a|b`. Not `:regex`: its backslash escapes are invalid inside a TraceQL "string". The
// custom all value `.*` is passed through unformatted. A dot of a PCI address then matches
// any character, which cannot select a wrong device in practice.
const DEVICE = '${device:pipe}';
const HOST = '${host:pipe}';

/** Filters of a session root span for the host and device variables. */
function sessionFilter(...conditions: string[]): string {
  return `{ ${[...conditions, `span.${ATTR.deviceId} =~ "${DEVICE}"`, `span.${ATTR.hostName} =~ "${HOST}"`].join(' && ')} }`;
}

/** TraceQL searches of the dashboard, by panel (exported for tests and docs). */
export const TRACEQL = {
  // migscope.session.outcome is set on session root spans only.
  failed: sessionFilter(`span.${ATTR.outcome} = "failed"`),
  withFindings: sessionFilter(`span.${ATTR.findingsCount} > 0`),
  deviceErrorState: `{ name = "${SPAN.state('ERROR')}" && span.${ATTR.deviceId} =~ "${DEVICE}" }`,
  outsideSessions: `{ name = "${SPAN.finding}" && span.${ATTR.deviceId} =~ "${DEVICE}" }`,
  // Every session of one migration, source and destination (its root span carries the id too).
  migration: `{ span.${ATTR.migrationId} = "$${MIGRATION_ID_VAR}" }`,
} as const;

/** A link from a trace id cell to the trace panel of this dashboard, keeping time and data source. */
function traceLink(): dashboard.DynamicConfigValue {
  return {
    id: 'links',
    value: [
      {
        title: 'Show this trace below',
        url: `/d/${DASHBOARD_UIDS.traces}?\${__url_time_range}&\${${DS_TEMPO_VAR}:queryparam}&\${host:queryparam}&\${device:queryparam}&var-${TRACE_ID_VAR}=\${__value.raw}`,
      },
    ],
  };
}

function searchPanel(title: string, description: string, traceql: string): table.PanelBuilder {
  return (
    new table.PanelBuilder()
      .title(title)
      .description(description)
      .datasource(tempoDs)
      .span(12)
      .height(9)
      .withTarget(tempoSearch('A', traceql, 50))
      // Tempo names the column traceID and displays it as "Trace ID"; match either.
      .overrideByRegexp('^(traceID|Trace ID)$', [traceLink()])
  );
}

export function tracesDashboard(): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder('migscope / Traces')
    .uid(DASHBOARD_UIDS.traces)
    .description('Migration sessions as traces in Tempo: failed sessions, sessions with findings, and the trace of one session.')
    .tags(TAGS)
    .editable()
    .time({ from: 'now-24h', to: 'now' })
    .timezone('browser')
    .links(dashboardLinks())
    .annotation(builtInAnnotation())
    .withVariable(prometheusVariable())
    .withVariable(tempoVariable())
    .withVariable(hostVariable())
    .withVariable(deviceVariable())
    .withVariable(new dashboard.TextBoxVariableBuilder(TRACE_ID_VAR).label('Trace ID').defaultValue(''))
    .withVariable(new dashboard.TextBoxVariableBuilder(MIGRATION_ID_VAR).label('Migration ID').defaultValue(''))

    .withRow(new dashboard.RowBuilder('Searches'))
    .withPanel(
      searchPanel(
        'Failed sessions',
        `Save and resume sessions whose outcome is failed (a transition failed or the device hit its error state): TraceQL ${TRACEQL.failed}`,
        TRACEQL.failed,
      ),
    )
    .withPanel(
      searchPanel(
        'Sessions with findings',
        `Sessions during which a protocol rule was broken (findings are events on the session span): TraceQL ${TRACEQL.withFindings}`,
        TRACEQL.withFindings,
      ),
    )
    .withPanel(searchPanel('Devices in the error state', `State spans of the ERROR state: TraceQL ${TRACEQL.deviceErrorState}`, TRACEQL.deviceErrorState))
    .withPanel(
      searchPanel('Findings outside any session', `Findings on a device with no session around them: TraceQL ${TRACEQL.outsideSessions}`, TRACEQL.outsideSessions),
    )

    .withPanel(
      searchPanel(
        'Sessions of migration $migration_id',
        `Every span carrying the migration id typed in the Migration ID box (--migration-id; one trace, both hosts): TraceQL ${TRACEQL.migration}`,
        TRACEQL.migration,
      ).span(24),
    )

    .withRow(new dashboard.RowBuilder('Trace'))
    .withPanel(
      new dashboard.PanelBuilder()
        .type('traces')
        .title('Trace $trace_id')
        .description('Pick a trace id in a table above (or type one in the Trace ID box).')
        .datasource(tempoDs)
        .span(24)
        .height(16)
        .withTarget(tempoTrace('A', `$${TRACE_ID_VAR}`)),
    );
}
