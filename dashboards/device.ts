// Device view: what an on-call engineer looks at for one device (or a few): its state over
// time, its sessions and how long it was not running, what went through its data path, and
// the rules it broke, and how much migration data it still held (pending bytes).
//
// The state gauge carries the RAW state value (metric-names.ts deviceState: a state-name
// label would split one device's history into several series). v1 and v2 number their
// states differently (v1 §2.2: 0 STOP, 1 RUNNING, 2 SAVING …; v2 §5.3: 0 ERROR, 1 STOP,
// 2 RUNNING …), so each protocol gets its own state-timeline panel, filtered on the
// `protocol` label, with its own value mappings. Devices whose protocol migscope could not
// tell (protocol="unknown") have no meaningful raw value and are not drawn.

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
  V1_STATE_MAPPINGS,
  V2_STATE_MAPPINGS,
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

function statePanel(protocol: 'v1' | 'v2', mappings: dashboard.ValueMapping[]): statetimeline.PanelBuilder {
  const numbering = protocol === 'v1' ? 'v1 device_state low bits (spec §2.2)' : 'v2 enum vfio_device_mig_state (spec §5.3)';
  return targets(
    new statetimeline.PanelBuilder()
      .title(`Device state (protocol ${protocol})`)
      .description(`Each device's migration state over time; raw values mapped to names as ${numbering}. UNKNOWN: the trace could not show the state.`)
      .span(24)
      .height(8)
      .mappings(mappings)
      .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.Thresholds))
      .thresholds(new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([{ value: null, color: 'text' }]))
      .showValue(common.VisibilityMode.Auto)
      .mergeValues(true)
      .alignValue(common.TimelineValueAlignment.Left)
      .rowHeight(0.8)
      .fillOpacity(80)
      .lineWidth(0)
      .legend(new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom))
      .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Single).sort(common.SortOrder.None)),
    [{ expr: `${M.deviceState.prometheus}{${sel(`${LABEL.protocol}="${protocol}"`)}}`, legend: '{{host}} {{device}}' }],
  );
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
    .withPanel(statePanel('v1', V1_STATE_MAPPINGS))
    .withPanel(statePanel('v2', V2_STATE_MAPPINGS))
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
