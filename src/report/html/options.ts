// What a caller may pass to renderHtmlReport besides the Analysis.

/** One rule of the catalogue (spec/vfio-migration.md §6), as the findings table explains it. */
export interface ReportRule {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly specRef: string;
}

export interface HtmlReportOptions {
  /** Shown as the page title and heading; default "migscope report". */
  readonly title?: string;
  /** Rule texts for the findings table; a finding whose rule is missing shows its specRef only. */
  readonly rules?: readonly ReportRule[];
}
