// What an export reports at the end (issue 4, item 4): how many spans and metric points
// were delivered and how many were lost, per exporter, and whether the CLI must fail.

export interface ExporterSummary {
  readonly signal: 'traces' | 'metrics';
  /** otlp (with its protocol), console, or the name of an injected exporter. */
  readonly exporter: string;
  readonly exported: number;
  readonly failed: number;
  readonly lastError: string | undefined;
}

export interface ExportSummary {
  /** Summed over trace exporters (a span sent to two exporters counts twice). */
  readonly spansExported: number;
  /** Spans not confirmed delivered: export failed, dropped, or still pending at the shutdown deadline. */
  readonly spansFailed: number;
  readonly metricPointsExported: number;
  readonly metricPointsFailed: number;
  /** Session root spans (one per device migration session). */
  readonly sessions: number;
  /**
   * Sessions exported without all their state spans: the tracker's per-device cap had cut
   * their intervals and no slice of their own was kept (analyze keeps one; see
   * cli/session-slices.ts). Absent when none. Any makes `ok` false (exit 3).
   */
  readonly sessionsCut?: number;
  /** Standalone finding spans (findings outside every session). */
  readonly standaloneFindings: number;
  /** Events/attributes/links the SDK dropped for its span limits (OTEL_SPAN_*_LIMIT); the OTLP spans carry the counts too. */
  readonly droppedEvents: number;
  readonly droppedAttributes: number;
  readonly droppedLinks: number;
  /** The trace id every session went to, when correlated (migration id or TRACEPARENT). */
  readonly traceId: string | undefined;
  /** true when the bounded shutdown gave up waiting. */
  readonly timedOut: boolean;
  readonly exporters: readonly ExporterSummary[];
  /** Configuration problems and other things the user should know. */
  readonly notes: readonly string[];
  /** Nothing lost: no span or metric point failed and the shutdown did not time out. */
  readonly ok: boolean;
}

/** A few lines for stderr, e.g. "exported 1234 spans, 56 metric points (otlp http/protobuf); nothing lost". */
export function formatSummary(s: ExportSummary): string {
  const lines: string[] = [];
  const lost = s.spansFailed + s.metricPointsFailed + (s.sessionsCut ?? 0);
  const via = [...new Set(s.exporters.map((e) => e.exporter))].join(', ') || 'no exporter';
  lines.push(
    `export: ${s.spansExported} spans (${s.sessions} sessions), ${s.metricPointsExported} metric points via ${via}` +
      (lost === 0 && !s.timedOut
        ? '; nothing lost'
        : `; LOST ${s.spansFailed} spans, ${s.metricPointsFailed} metric points${(s.sessionsCut ?? 0) > 0 ? `, the state spans of ${s.sessionsCut} sessions` : ''}${s.timedOut ? ' (shutdown timed out)' : ''}`),
  );
  if (s.traceId !== undefined) lines.push(`export: trace id ${s.traceId} (find it in Tempo/Jaeger by this id)`);
  for (const e of s.exporters) if (e.failed > 0) lines.push(`export: ${e.signal} via ${e.exporter}: ${e.failed} failed: ${e.lastError ?? 'unknown error'}`);
  if (s.droppedEvents + s.droppedAttributes + s.droppedLinks > 0) {
    lines.push(`export: span limits dropped ${s.droppedEvents} events, ${s.droppedAttributes} attributes, ${s.droppedLinks} links (raise OTEL_SPAN_EVENT_COUNT_LIMIT etc.)`);
  }
  for (const n of s.notes) lines.push(`export: note: ${n}`);
  return lines.join('\n') + '\n';
}
