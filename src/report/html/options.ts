// What a caller may pass to renderHtmlReport besides the Analysis.

import type { Source } from '../../record/types.js';
import type { SpillFile } from '../../track/spill-file.js';

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
  /**
   * How the page data is embedded. json: plain (escaped) JSON. gzip: the same JSON
   * gzip-compressed and base64-encoded inside a JSON string (the page inflates it with
   * the browser's DecompressionStream). auto (default): gzip once the JSON passes
   * GZIP_THRESHOLD_BYTES, so a 100,000-session report stays small enough to attach.
   */
  readonly dataEncoding?: 'auto' | 'json' | 'gzip';
  /**
   * The text of the trace line a piece of evidence cites (the caller reads the inputs:
   * src/cli/evidence-lines.ts), embedded so that the file stands alone. Without it the page
   * shows file:line only.
   */
  readonly evidenceText?: (src: Source) => string | undefined;
  /**
   * Where the long number columns of a lane wait while the lane is written (the run's spill
   * file, track/spill-file.ts): without it they are held in memory, ≈ 28 MB for a lane of a
   * 2 GB trace.
   */
  readonly spill?: SpillFile;
}

export const GZIP_THRESHOLD_BYTES = 2_000_000;
