// Links between the migscope dashboards, keeping the time range and the variables.

import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { TAGS } from './common.js';

export function dashboardLinks(): dashboard.DashboardLinkBuilder[] {
  return [
    new dashboard.DashboardLinkBuilder('migscope')
      .type(dashboard.DashboardLinkType.Dashboards)
      .tags([TAGS[0] ?? 'migscope'])
      .asDropdown(false)
      .includeVars(true)
      .keepTime(true),
  ];
}
