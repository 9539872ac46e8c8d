// Fleet overview: what a fleet operator watches (DESIGN.md "Who uses it"): migrations by
// outcome, how long devices were not running (their share of VM downtime), findings by rule
// and blame, bytes moved, and whether the traces behind it all were complete.

import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import * as piechart from '@grafana/grafana-foundation-sdk/piechart';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { METRICS } from '../src/export/metric-names.js';
import {
  DASHBOARD_UIDS,
  builtInAnnotation,
  TAGS,
  deviceVariable,
  hostSel,
  hostVariable,
  prometheusVariable,
  promTarget,
  sel,
  tempoVariable,
  type PromTarget,
} from './common.js';
import { dashboardLinks } from './links.js';

const M = METRICS;

/** The quantiles of "time not running" the overview shows. */
export const NOT_RUNNING_QUANTILES: readonly number[] = [0.5, 0.95, 0.99];

const lastValue = (): common.ReduceDataOptionsBuilder => new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false);

function targets<T extends { withTarget(t: ReturnType<typeof promTarget>): T }>(panel: T, list: readonly PromTarget[]): T {
  list.forEach((t, i) => panel.withTarget(promTarget(t, i)));
  return panel;
}

export function fleetDashboard(): dashboard.DashboardBuilder {
  const migrations = `${M.migrations.prometheus}{${sel()}}`;
  const findings = `${M.findings.prometheus}{${sel()}}`;
  const notRunningBucket = `${M.notRunning.prometheus}_bucket{${sel()}}`;
  const stopCopySum = `${M.stopCopy.prometheus}_sum{${sel()}}`;
  const bytes = `${M.transferredBytes.prometheus}{${sel()}}`;

  return new dashboard.DashboardBuilder('migscope / Fleet overview')
    .uid(DASHBOARD_UIDS.fleet)
    .description('VFIO device migrations across hosts: outcomes, time not running, protocol findings, data moved (metrics from migscope watch or backfilled from migscope analyze --openmetrics).')
    .tags(TAGS)
    .editable()
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .time({ from: 'now-6h', to: 'now' })
    .timezone('browser')
    .refresh('1m')
    .links(dashboardLinks())
    .annotation(builtInAnnotation())
    .withVariable(prometheusVariable())
    .withVariable(tempoVariable())
    .withVariable(hostVariable())
    .withVariable(deviceVariable())

    .withRow(new dashboard.RowBuilder('Migrations'))
    .withPanel(
      targets(
        new bargauge.PanelBuilder()
          .title('Devices by current state')
          .description('How many devices are in each migration state now (the state set series that are 1), v1 and v2 alike.')
          .span(24)
          .height(6)
          .unit('none')
          .decimals(0)
          .min(0)
          .orientation(common.VizOrientation.Horizontal)
          .displayMode(common.BarGaugeDisplayMode.Basic)
          .reduceOptions(lastValue()),
        [{ expr: `count by (state) (${M.deviceState.prometheus}{${sel()}} == 1)`, legend: '{{state}}', instant: true }],
      ),
    )
    .withPanel(
      targets(
        new bargauge.PanelBuilder()
          .title('Migrations by outcome')
          .description('Device migration sessions (save and resume) that ended in the time range, by outcome.')
          .span(8)
          .height(8)
          .unit('none')
          .decimals(0)
          .min(0)
          .orientation(common.VizOrientation.Horizontal)
          .displayMode(common.BarGaugeDisplayMode.Basic)
          .reduceOptions(lastValue()),
        [{ expr: `sum by (outcome) (increase(${migrations}[$__range]))`, legend: '{{outcome}}', instant: true }],
      ),
    )
    .withPanel(
      targets(
        new timeseries.PanelBuilder()
          .title('Migrations over time by outcome')
          .span(16)
          .height(8)
          .unit('none')
          .min(0),
        [{ expr: `sum by (outcome) (increase(${migrations}[$__rate_interval]))`, legend: '{{outcome}}' }],
      ),
    )

    .withRow(new dashboard.RowBuilder('Time not running'))
    .withPanel(
      targets(
        new timeseries.PanelBuilder()
          .title('Time not running per session (p50 / p95 / p99)')
          .description('How long a device was not running inside one migration session: its share of the VM downtime (save) or of the switch-over (resume). Quantiles interpolate inside histogram buckets.')
          .span(16)
          .height(8)
          .unit('s')
          .min(0),
        NOT_RUNNING_QUANTILES.map((q) => ({
          expr: `histogram_quantile(${q}, sum by (le, kind) (rate(${notRunningBucket}[$__rate_interval])))`,
          legend: `p${Math.round(q * 100)} {{kind}}`,
        })),
      ),
    )
    .withPanel(
      targets(
        new stat.PanelBuilder()
          .title('Time not running, p95 over the range')
          .span(8)
          .height(8)
          .unit('s')
          .graphMode(common.BigValueGraphMode.None)
          .reduceOptions(lastValue()),
        [{ expr: `histogram_quantile(0.95, sum by (le, kind) (increase(${notRunningBucket}[$__range])))`, legend: '{{kind}}', instant: true }],
      ),
    )

    .withPanel(
      targets(
        new bargauge.PanelBuilder()
          .title('Devices that dominate downtime')
          .description("Total stop-copy time per device in the range (migscope_migration_stop_copy_seconds): the devices whose own state transfer held the VM stopped longest. With MIG-PRECOPY-STALL or MIG-EARLY-SWITCHOVER findings on the same device, pre-copy did not converge or the VMM switched over too early.")
          .span(24)
          .height(8)
          .unit('s')
          .min(0)
          .orientation(common.VizOrientation.Horizontal)
          .displayMode(common.BarGaugeDisplayMode.Basic)
          .reduceOptions(lastValue()),
        [{ expr: `topk(10, sum by (host, device) (increase(${stopCopySum}[$__range])))`, legend: '{{host}} {{device}}', instant: true }],
      ),
    )

    .withRow(new dashboard.RowBuilder('Findings'))
    .withPanel(
      targets(
        new bargauge.PanelBuilder()
          .title('Findings by rule')
          .description('Protocol rule violations in the time range (rule ids: spec/vfio-migration.md §6).')
          .span(12)
          .height(8)
          .unit('none')
          .decimals(0)
          .min(0)
          .orientation(common.VizOrientation.Horizontal)
          .displayMode(common.BarGaugeDisplayMode.Basic)
          .reduceOptions(lastValue()),
        [{ expr: `sum by (rule) (increase(${findings}[$__range]))`, legend: '{{rule}}', instant: true }],
      ),
    )
    .withPanel(
      targets(
        new piechart.PanelBuilder()
          .title('Findings by blame')
          .description('vmm: the VMM (QEMU) broke the protocol; driver: the vendor/kernel driver did.')
          .span(6)
          .height(8)
          .unit('none')
          .pieType(piechart.PieChartType.Donut)
          .reduceOptions(lastValue()),
        [{ expr: `sum by (blame) (increase(${findings}[$__range]))`, legend: '{{blame}}', instant: true }],
      ),
    )
    .withPanel(
      targets(
        new piechart.PanelBuilder()
          .title('Findings by severity and certainty')
          .description('uncertain: events were lost in the window and the missing events could explain the finding.')
          .span(6)
          .height(8)
          .unit('none')
          .pieType(piechart.PieChartType.Donut)
          .reduceOptions(lastValue()),
        [{ expr: `sum by (severity, certainty) (increase(${findings}[$__range]))`, legend: '{{severity}} ({{certainty}})', instant: true }],
      ),
    )
    .withPanel(
      targets(new timeseries.PanelBuilder().title('Findings over time by rule').span(24).height(8).unit('none').min(0), [
        { expr: `sum by (rule) (increase(${findings}[$__rate_interval]))`, legend: '{{rule}}' },
      ]),
    )

    .withRow(new dashboard.RowBuilder('Data moved'))
    .withPanel(
      targets(new timeseries.PanelBuilder().title('Migration data rate').description('Bytes through the devices\' migration data path, per host and direction (save: read from the source device; resume: written to the destination).').span(16).height(8).unit('Bps').min(0), [
        { expr: `sum by (host, kind) (rate(${bytes}[$__rate_interval]))`, legend: '{{host}} {{kind}}' },
      ]),
    )
    .withPanel(
      targets(
        new stat.PanelBuilder().title('Bytes moved in the range').span(8).height(8).unit('bytes').graphMode(common.BigValueGraphMode.None).reduceOptions(lastValue()),
        [{ expr: `sum by (kind) (increase(${bytes}[$__range]))`, legend: '{{kind}}', instant: true }],
      ),
    )

    .withRow(new dashboard.RowBuilder('Trace input'))
    .withPanel(
      targets(
        new stat.PanelBuilder()
          .title('Trace input in the range')
          .description('Records read, lines that could not be parsed, and events the tracer lost. Lost events make findings in their window uncertain.')
          .span(24)
          .height(5)
          .unit('none')
          .decimals(0)
          .graphMode(common.BigValueGraphMode.None)
          .reduceOptions(lastValue()),
        [
          { expr: `sum(increase(${M.records.prometheus}{${hostSel()}}[$__range]))`, legend: 'records', instant: true },
          { expr: `sum(increase(${M.malformed.prometheus}{${hostSel()}}[$__range]))`, legend: 'malformed', instant: true },
          { expr: `sum(increase(${M.lostEvents.prometheus}{${hostSel()}}[$__range]))`, legend: 'lost events', instant: true },
          // device="_overflow" measurements: a host has more devices than the label cap (device-labels.ts).
          { expr: `sum(increase(${M.deviceLabelOverflow.prometheus}{${hostSel()}}[$__range]))`, legend: 'device label overflow', instant: true },
        ],
      ),
    );
}
