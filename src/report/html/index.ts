// Public surface of the HTML report.
export { renderHtmlReport } from './render.js';
export type { HtmlReportOptions, ReportRule } from './options.js';
export { buildReportModel } from './model.js';
export type { ReportModel } from './model-types.js';
export { summarize, type ReportSummary } from './summary.js';
export { jsonForScript } from './embed-json.js';
export { stateColor } from './palette.js';
