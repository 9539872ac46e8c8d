// The migscope dashboards: builders, the files they are generated into, their queries.

import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { deviceDashboard } from './device.js';
import { fleetDashboard } from './fleet.js';
import { tracesDashboard } from './traces.js';
import { queriesOf, type DashboardQuery } from './queries.js';

export interface DashboardSource {
  /** File name under dashboards/json/. */
  readonly file: string;
  readonly build: () => dashboard.DashboardBuilder;
}

export const DASHBOARDS: readonly DashboardSource[] = [
  { file: 'fleet.json', build: fleetDashboard },
  { file: 'device.json', build: deviceDashboard },
  { file: 'traces.json', build: tracesDashboard },
];

/**
 * A built dashboard with every panel numbered 1, 2, … in layout order (rows included): the
 * builders leave ids unset (rows at 0), and Grafana keys panel state, links (viewPanel) and
 * repeats by id.
 */
export function buildDashboard(source: DashboardSource): dashboard.Dashboard {
  const d = source.build().build();
  let id = 0;
  for (const p of d.panels ?? []) {
    p.id = ++id;
    if ('panels' in p) for (const inner of p.panels) inner.id = ++id;
  }
  return d;
}

/** The exact text of a generated dashboard file (2-space JSON, trailing newline). */
export function dashboardJson(source: DashboardSource): string {
  return `${JSON.stringify(buildDashboard(source), null, 2)}\n`;
}

/** Every query of every dashboard (PromQL, TraceQL, label_values), as in dashboards/queries.json. */
export function allDashboardQueries(): DashboardQuery[] {
  return DASHBOARDS.flatMap((d) => queriesOf(buildDashboard(d)));
}

export { fleetDashboard, deviceDashboard, tracesDashboard };
export * from './common.js';
export * from './queries.js';
