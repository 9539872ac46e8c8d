// Public surface of src/export (STYLE.md: barrels export the surface and nothing else).
export { exportAnalysis } from './export-analysis.js';
export { createExporter, type ExportOptions, type FindingInput, type MigscopeExporter, type SessionInput } from './exporter.js';
export { formatSummary, type ExportSummary, type ExporterSummary } from './summary.js';
export { registerExportOptions, exportOptionsFromFlags, ExportUsageError, type ExportFlags } from './cli-options.js';
export { traceIdFromMigrationId, saveSessionSpanId } from './correlation.js';
export { METRICS, LABEL, METER_NAME, UNKNOWN_STATE, UNKNOWN_HOST, type MetricSpec } from './metric-names.js';
export { ATTR, EVENT, SPAN } from './conventions.js';
