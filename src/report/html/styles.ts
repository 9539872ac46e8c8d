// The report's stylesheet: screen, then print. Print rules make sure nothing that is only
// reachable by interaction is lost on paper: collapsed sections and finding details are
// shown, controls are hidden, tooltips are dropped (their content is in the tables).

export const REPORT_CSS = `
:root { --fg:#212529; --muted:#6c757d; --line:#dee2e6; --bg:#ffffff; --panel:#f8f9fa; --accent:#1864ab; --err:#c92a2a; --warn:#e67700; --ok:#2b8a3e; color-scheme: light; }
* { box-sizing: border-box; }
html { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; color: var(--fg); background: var(--bg); }
body { margin: 0 auto; padding: 0 20px 40px; max-width: 1400px; }
code { font: 12px/1.3 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
h1 { font-size: 22px; margin: 18px 0 2px; }
h2 { font-size: 17px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 14px; margin: 10px 0 6px; }
h4 { margin: 4px 0; font-size: 13px; }
button, select, input { font: inherit; font-size: 13px; }
button { border: 1px solid #adb5bd; background: #fff; border-radius: 4px; padding: 2px 8px; cursor: pointer; color: var(--fg); }
button:hover:not(:disabled) { background: #e7f5ff; border-color: var(--accent); }
button:disabled { opacity: .45; cursor: default; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.skip { position: absolute; left: -9999px; }
.skip:focus { left: 8px; top: 8px; background: #fff; padding: 4px 8px; z-index: 10; }
#subtitle { color: var(--muted); margin: 0 0 8px; overflow-wrap: anywhere; }
.muted { color: var(--muted); }
.fatal { background: #fff5f5; border: 1px solid var(--err); padding: 8px; }
.help { color: var(--muted); font-size: 12px; margin: 4px 0 8px; }
.collapsed { display: none; }

.verdict { font-weight: 600; padding: 8px 12px; border-radius: 6px; margin: 8px 0 12px; }
.verdict-failed { background: #fff5f5; border-left: 6px solid var(--err); }
.verdict-warnings { background: #fff9db; border-left: 6px solid var(--warn); }
.verdict-clean { background: #ebfbee; border-left: 6px solid var(--ok); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(250px, 1fr)); gap: 10px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 6px 12px 10px; }
.card h3 { margin-top: 4px; color: #495057; text-transform: uppercase; font-size: 11px; letter-spacing: .05em; }
.card p { margin: 3px 0; }
.stat { font-weight: 700; font-variant-numeric: tabular-nums; }
.outcomes, .files, .problems { margin: 4px 0; padding-left: 18px; }
.files .clock-shift { color: var(--muted); font-size: 12px; overflow-wrap: anywhere; }
.outcomes { list-style: none; padding-left: 0; }
.files li, .problems li { overflow-wrap: anywhere; }
.dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 5px; vertical-align: -1px; }
.outcome-completed.dot { background: #2f9e44; } .outcome-failed.dot { background: #e03131; }
.outcome-cancelled.dot { background: #f59f00; } .outcome-incomplete.dot { background: #adb5bd; } .outcome-unknown.dot { background: #fff; border: 1px dashed #868e96; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 5px; vertical-align: -2px; border: 1px solid rgba(0,0,0,.15); }

.tl-toolbar { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; margin: 4px 0; }
.tl-status { color: var(--muted); font-size: 12px; font-variant-numeric: tabular-nums; margin-left: 8px; }
.tl { display: grid; grid-template-columns: 230px 1fr; border: 1px solid var(--line); border-radius: 6px; overflow: hidden; }
.tl-labels { border-right: 1px solid var(--line); background: #fff; overflow: hidden; }
.tl-label-axis { height: 26px; font-size: 11px; color: var(--muted); padding: 6px 8px 0; border-bottom: 1px solid #495057; }
.tl-label.tl-label-input { height: 22px; display: block; font-size: 11px; padding: 3px 8px; background: #fff5f5; color: var(--err); }
.tl-label { height: 66px; padding: 5px 8px; display: flex; flex-direction: column; justify-content: center; border-bottom: 1px solid #ced4da; overflow: hidden; }
.tl-label:nth-of-type(odd) { background: #f8f9fa; } .tl-label:nth-of-type(even) { background: #f1f3f5; }
.tl-dev { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.tl-who, .tl-counts { font-size: 11px; color: var(--muted); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.tl-plot { position: relative; overflow: hidden; cursor: grab; touch-action: none; user-select: none; }
.tl-plot.dragging { cursor: grabbing; }
.tl-plot canvas { display: block; }
.tl-overlay { position: absolute; inset: 0; pointer-events: none; }
.tl-lane-markers { position: absolute; left: 0; right: 0; }
.mk { position: absolute; transform: translate(-50%, -50%); pointer-events: auto; padding: 0; border-radius: 2px; min-width: 0; cursor: pointer; }
.mk-write { width: 7px; height: 13px; background: #343a40; border: 1px solid #fff; }
.mk-write.mk-cluster { width: 9px; background: #868e96; border: 2px solid #343a40; }
.mk-write.mk-failed { width: 11px; height: 15px; background: #e03131; border: 2px solid #7d0000; }
.mk-finding { width: 11px; height: 11px; transform: translate(-50%, -50%) rotate(45deg); border: 1px solid #fff; }
.mk-finding.mk-error { background: #c92a2a; } .mk-finding.mk-warning { background: #f59f00; }
.mk-finding.mk-uncertain { background: #fff; border: 2px dashed #c92a2a; }
.mk-finding.mk-cluster { width: 13px; height: 13px; border: 2px solid #343a40; }
.mk-gap { width: 9px; height: 15px; background: repeating-linear-gradient(45deg, #c92a2a 0 2px, #fff 2px 4px); border: 1px solid #c92a2a; }
.mk:hover { filter: brightness(1.25); z-index: 2; }
.mk:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; z-index: 3; box-shadow: 0 0 0 5px rgba(24,100,171,.25); }
.tl-tip { position: fixed; z-index: 5; width: 320px; background: #fff; border: 1px solid #495057; border-radius: 6px; padding: 6px 8px; font-size: 12px; box-shadow: 0 4px 14px rgba(0,0,0,.18); pointer-events: none; }
.tl-tip dl { margin: 4px 0 0; }
.fields { display: grid; grid-template-columns: max-content 1fr; gap: 1px 10px; margin: 4px 0; }
.fields dt { color: var(--muted); }
.fields dd { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.fields.inline { grid-template-columns: repeat(auto-fill, minmax(90px, max-content) minmax(150px, 1fr)); }
#legend ul { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 14px; padding: 0; margin: 8px 0 0; font-size: 12px; }
.mk-sample { display: inline-block; position: relative; vertical-align: -2px; margin-right: 6px; }
.mk-sample.mk-write { width: 7px; height: 13px; } .mk-sample.mk-failed { width: 11px; height: 13px; }
.mk-sample.mk-finding { width: 10px; height: 10px; transform: rotate(45deg); }
.mk-sample.mk-gap { width: 9px; height: 13px; }
.mk-sample.cert-inferred { width: 18px; height: 11px; background: #2f9e44; opacity: .55; }
.mk-sample.cert-unknown { width: 18px; height: 11px; background: repeating-linear-gradient(135deg, #dee2e6 0 3px, #868e96 3px 4px); }
.selected { margin-top: 10px; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 6px 12px; min-height: 48px; }
.selected h3 { margin: 2px 0 4px; font-size: 12px; text-transform: uppercase; letter-spacing: .05em; color: #495057; }

.curve-picker { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
.curve-picker input { width: 7em; }
.curve-facts { color: #495057; margin: 2px 0 6px; }
.downtime-split { margin: 6px 0 10px; max-width: 720px; }
.downtime-split h4 { margin: 4px 0; font-size: 13px; }
.dt-row { display: flex; align-items: center; gap: 8px; margin: 2px 0; }
.dt-label { flex: 0 0 260px; font-size: 12px; }
.dt-bar { display: inline-block; height: 10px; min-width: 1px; }
.dt-device { background: #c92a2a; }
.dt-other { background: #f08c00; }
.dt-qemu { background: #1c7ed6; }
.dt-limit { background: repeating-linear-gradient(90deg, #495057 0 4px, transparent 4px 8px); }
.curve-chart { min-height: 40px; }

.filters { display: flex; gap: 8px; margin: 4px 0 8px; }
.table-wrap { overflow-x: auto; }
table.data { border-collapse: collapse; width: 100%; font-size: 12.5px; margin: 6px 0; }
table.data caption { text-align: left; font-weight: 600; padding: 4px 0; }
table.data th, table.data td { border-bottom: 1px solid var(--line); padding: 3px 8px; text-align: left; vertical-align: top; }
table.data thead th { background: var(--panel); position: sticky; top: 0; }
table.data.compact { width: auto; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.msg { overflow-wrap: anywhere; }
tr.failed td { background: #fff5f5; }
tr.finding.sev-error td:first-child { box-shadow: inset 4px 0 0 var(--err); }
tr.finding.sev-warning td:first-child { box-shadow: inset 4px 0 0 var(--warn); }
.sev { font-weight: 700; text-transform: uppercase; font-size: 11px; }
.sev-error.sev { color: var(--err); } .sev-warning.sev { color: var(--warn); }
tr.finding-detail > td { background: #fcfcfd; padding: 6px 16px 10px 36px; }
.rule-text { margin: 2px 0 6px; max-width: 90ch; }
.evidence { margin: 2px 0 6px; padding-left: 22px; }
.evidence .ev-line { margin: 2px 0 4px; white-space: pre-wrap; word-break: break-all; font-size: 11px; opacity: 0.85; }
button.expand { width: 26px; padding: 0; }
.pager { display: flex; gap: 4px; align-items: center; font-size: 12px; }
.pager.single button { display: none; }
.pager-status { color: var(--muted); padding: 0 6px; }
.device { border: 1px solid var(--line); border-radius: 6px; padding: 2px 12px 6px; margin: 8px 0; }
.device-toggle { border: 0; background: none; padding: 2px 0; font-weight: 400; text-align: left; }
.device-toggle[aria-expanded="true"]::before { content: "▾ "; } .device-toggle[aria-expanded="false"]::before { content: "▸ "; }
.dev-name { font-weight: 700; }
footer { margin-top: 30px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); padding-top: 6px; }

@media print {
  @page { margin: 12mm; }
  html { font-size: 11px; }
  body { max-width: none; padding: 0; }
  .no-print, .tl-toolbar, .help, .pager button, .filters, .skip, .tl-tip, button.expand, .curve-picker, .selected { display: none !important; }
  .collapsed { display: block !important; }
  tr.collapsed { display: table-row !important; }
  .tl { grid-template-columns: 150px 1fr; break-inside: avoid; }
  .tl-label { padding: 3px 4px; }
  .card, .device, tr, .curve-chart { break-inside: avoid; }
  table.data thead th { position: static; }
  h2 { break-after: avoid; }
  a { color: inherit; text-decoration: none; }
  .mk:focus-visible { outline: none; box-shadow: none; }
}
`;
