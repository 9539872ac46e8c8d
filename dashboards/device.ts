// Device view: what an on-call engineer looks at for one device (or a few): its state over
// time, its sessions and how long it was not running, what went through its data path, and
// the rules it broke, and how much migration data it still held (pending bytes).
//
// The device state is a state set (metric-names.ts deviceState): a `state` label with the
// spec's state name, 1 while the device is in it. So one state-timeline panel shows v1 and
// v2 devices alike (the raw numbering differs: v1 §2.2 1 = RUNNING, v2 §5.3 1 = STOP, and
// the dashboard never needs to know it): `== 1` keeps only the time in each state, and each
// (device, state) row is coloured per state by an override on its name.

import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import * as statetimeline from '@grafana/grafana-foundation-sdk/statetimeline';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { LABEL, METRICS } from '../src/export/metric-names.js';
import {
  DASHBOARD_UIDS,
  builtInAnnotation,
  TAGS,
  STATE_NAMES,
  stateMapping,
  deviceVariable,
  hostVariable,
  prometheusVariable,
  promTarget,
  sel,
  tempoVariable,
  type PromTarget,
} from './common.js';
import { dashboardLinks } from './links.js';

const M = METRICS;

function targets<T extends { withTarget(t: ReturnType<typeof promTarget>): T }>(panel: T, list: readonly PromTarget[]): T {
  list.forEach((t, i) => panel.withTarget(promTarget(t, i)));
  return panel;
}

function statePanel(): statetimeline.PanelBuilder {
  const panel = new statetimeline.PanelBuilder()
    .title('Device state')
    .description('Each device\'s migration state over time: one row per device and state, filled while the device is in that state (v1 and v2 alike; the state is the label, not a number). UNKNOWN: the trace could not show the state.')
    .span(24)
    .height(10)
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.Thresholds))
    .thresholds(new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([{ value: null, color: 'text' }]))
    .showValue(common.VisibilityMode.Auto)
    .mergeValues(true)
    .alignValue(common.TimelineValueAlignment.Left)
    .rowHeight(0.8)
    .fillOpacity(80)
    .lineWidth(0)
    .legend(new common.VizLegendOptionsBuilder().showLegend(false).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom))
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Single).sort(common.SortOrder.None));
  // The row name ends in the state: colour and text per state.
  for (const name of STATE_NAMES) panel.overrideByRegexp(`.* ${name}$`, [{ id: 'mappings', value: stateMapping(name) }]);
  // max by: one row per device and state even when several Prometheus jobs/instances scrape it.
  return targets(panel, [{ expr: `max by (host, device, protocol, state) (${M.deviceState.prometheus}{${sel()}} == 1)`, legend: '{{host}} {{device}} {{state}}' }]);
}

export function deviceDashboard(): dashboard.DashboardBuilder {
  const migrations = `${M.migrations.prometheus}{${sel()}}`;
  const findings = `${M.findings.prometheus}{${sel()}}`;
  const bytes = `${M.transferredBytes.prometheus}{${sel()}}`;
  const notRunningBucket = `${M.notRunning.prometheus}_bucket{${sel()}}`;
  const stateSum = `${M.stateDuration.prometheus}_sum{${sel()}}`;
  const stateCount = `${M.stateDuration.prometheus}_count{${sel()}}`;

  return new dashboard.DashboardBuilder('migscope / Device')
    .uid(DASHBOARD_UIDS.device)
    .description('One VFIO device (or a few): migration state timeline, sessions, time not running, data moved and findings.')
    .tags(TAGS)
    .editable()
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .time({ from: 'now-1h', to: 'now' })
    .timezone('browser')
    .refresh('30s')
    .links(dashboardLinks())
    .annotation(builtInAnnotation())
    .withVariable(prometheusVariable())
    .withVariable(tempoVariable())
    .withVariable(hostVariable())
    .withVariable(deviceVariable())

    .withRow(new dashboard.RowBuilder('State'))
    .withPanel(statePanel())
    .withPanel(
      targets(
        new table.PanelBuilder()
          .title('Current state')
          .description('The state each device is in now (the state set series that is 1), with its protocol.')
          .span(24)
          .height(6)
          .decimals(0),
        [{ expr: `max by (host, device, protocol, state) (${M.deviceState.prometheus}{${sel()}} == 1)`, instant: true, table: true }],
      ),
    )
    .withPanel(
      targets(
        new timeseries.PanelBuilder()
          .title('Pending bytes')
          .description(
            'Migration data the device still holds during a save, as the VMM read it: v1 pending_bytes (spec §2.5), v2 PRECOPY_INFO initial + dirty bytes (§5.4). ' +
              'A completed save drains to 0; the value stays at the last sample after the session ends.',
          )
          .span(24)
          .height(8)
          .unit('bytes')
          .min(0)
          // A gauge set at each sample: steps, not slopes between them.
          .lineInterpolation(common.LineInterpolation.StepAfter),
        [{ expr: `${M.pendingBytes.prometheus}{${sel()}}`, legend: '{{host}} {{device}}' }],
      ),
    )

    .withRow(new dashboard.RowBuilder('Sessions'))
    .withPanel(
      targets(
        new table.PanelBuilder()
          .title('Sessions in the range')
          .description('Save and resume sessions that ended in the time range, per device, direction and outcome.')
          .span(12)
          .height(8)
          .decimals(0),
        [{ expr: `sum by (host, device, kind, outcome) (increase(${migrations}[$__range]))`, instant: true, table: true }],
      ),
    )
    .withPanel(
      targets(
        new timeseries.PanelBuilder().title('Time not running per session, p95').span(12).height(8).unit('s').min(0),
        [{ expr: `histogram_quantile(0.95, sum by (le, host, device, kind) (rate(${notRunningBucket}[$__rate_interval])))`, legend: '{{host}} {{device}} {{kind}}' }],
      ),
    )
    .withPanel(
      targets(
        new bargauge.PanelBuilder()
          .title('Mean time per state interval in the range')
          .description('Average length of one stay in each state, inside sessions.')
          .span(12)
          .height(8)
          .unit('s')
          .min(0)
          .orientation(common.VizOrientation.Horizontal)
          .displayMode(common.BarGaugeDisplayMode.Basic)
          .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false)),
        [
          {
            expr: `sum by (device, state) (increase(${stateSum}[$__range])) / sum by (device, state) (increase(${stateCount}[$__range]))`,
            legend: '{{device}} {{state}}',
            instant: true,
          },
        ],
      ),
    )
    .withPanel(
      targets(new timeseries.PanelBuilder().title('Migration data rate').span(12).height(8).unit('Bps').min(0), [
        { expr: `sum by (host, device, kind) (rate(${bytes}[$__rate_interval]))`, legend: '{{host}} {{device}} {{kind}}' },
      ]),
    )

    .withRow(new dashboard.RowBuilder('Findings'))
    .withPanel(
      targets(
        new table.PanelBuilder()
          .title('Findings in the range')
          .description('Rule violations per device: rule id, severity, who is at fault (vmm or driver) and whether the trace can be sure (certain) or lost events in the window (uncertain).')
          .span(12)
          .height(8)
          .decimals(0),
        [{ expr: `sum by (host, device, rule, severity, blame, certainty) (increase(${findings}[$__range]))`, instant: true, table: true }],
      ),
    )
    .withPanel(
      targets(new timeseries.PanelBuilder().title('Findings over time').span(12).height(8).unit('none').min(0), [
        { expr: `sum by (device, rule) (increase(${findings}[$__rate_interval]))`, legend: '{{device}} {{rule}}' },
      ]),
    );
}
