// Bench: the HTML report of a generated 100,000-session trace — render time, file size,
// time until Chromium shows it ready, and time for a zoom — each beside a baseline measured
// in the same run: Chromium loading a plain HTML file (paragraphs of text) of the same byte
// size. `npm run bench` runs this through bench/run.ts; `node dist/bench/report-html.js`
// runs it alone. Needs /usr/bin/chromium (or MIGSCOPE_CHROMIUM); without it, it says so and
// measures only render time and size.

import { statSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { renderHtmlReport } from '../src/report/html/index.js';
import { chromiumAvailable, chromiumSkipReason, cleanupTemp, launchChromium, writeTemp } from '../test/report/fixtures-browser.js';
import { largeAnalysis } from '../test/report/fixtures-large.js';

export interface ReportBenchRow {
  readonly metric: string;
  readonly report: string;
  readonly baseline: string;
}

const RUNS = 3;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

const ms = (x: number): string => `${x.toFixed(0)} ms`;

/** A plain HTML page of exactly `bytes` bytes: a title and paragraphs of ASCII text. */
function plainHtml(bytes: number): string {
  const head = '<!doctype html><html><head><meta charset="utf-8"><title>baseline</title></head><body>\n';
  const tail = '</body></html>\n';
  const para = '<p>The quick brown fox jumps over the lazy dog while the migration drains its pending bytes.</p>\n';
  const n = Math.max(0, Math.floor((bytes - head.length - tail.length) / para.length));
  const body = para.repeat(n);
  const pad = ' '.repeat(Math.max(0, bytes - head.length - tail.length - body.length));
  return head + body + pad + tail;
}

export async function runReportBench(sessions = 100_000): Promise<readonly ReportBenchRow[]> {
  const t0 = performance.now();
  const analysis = largeAnalysis(sessions, 4);
  const tGen = performance.now() - t0;
  const renders: number[] = [];
  let html = '';
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    html = renderHtmlReport(analysis, { title: `${sessions} sessions` });
    renders.push(performance.now() - t);
  }
  const reportPath = writeTemp('report.html', html);
  const size = statSync(reportPath).size;
  const basePath = writeTemp('baseline.html', plainHtml(size));
  const rows: ReportBenchRow[] = [
    { metric: `analysis generated (${sessions.toLocaleString('en-US')} sessions, 4 devices)`, report: ms(tGen), baseline: '' },
    { metric: 'renderHtmlReport (node, median of 3)', report: ms(median(renders)), baseline: '' },
    { metric: 'file size', report: `${(size / 1e6).toFixed(1)} MB`, baseline: `${(statSync(basePath).size / 1e6).toFixed(1)} MB plain HTML` },
  ];
  if (!chromiumAvailable) {
    console.warn(chromiumSkipReason);
    rows.push({ metric: 'load in Chromium', report: 'skipped: no Chromium', baseline: '' });
    cleanupTemp();
    return rows;
  }
  const browser = await launchChromium();
  try {
    const loads: number[] = [];
    const baseLoads: number[] = [];
    const zooms: number[] = [];
    const heaps: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      // Baseline: navigation until the load event of a plain page of the same size.
      const bp = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      let t = performance.now();
      await bp.goto(pathToFileURL(basePath).href, { waitUntil: 'load' });
      baseLoads.push(performance.now() - t);
      await bp.close();

      // Report: navigation until the page says it is ready (summary, timeline, tables drawn).
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      t = performance.now();
      await page.goto(pathToFileURL(reportPath).href, { waitUntil: 'load' });
      await page.waitForFunction(() => document.documentElement.dataset['ready'] === '1' || document.documentElement.dataset['error'] !== undefined, undefined, { timeout: 120_000 });
      loads.push(performance.now() - t);
      const err = await page.evaluate(() => document.documentElement.dataset['error']);
      if (err !== undefined) throw new Error(`report failed to open: ${err}`);
      // A zoom: the "Zoom in" button redraws synchronously in its click handler (timeline.ts),
      // so time the click inside the page: canvas bucketing plus marker rebuild.
      const z = await page.evaluate(() => {
        const zin = document.querySelector<HTMLButtonElement>('button[aria-label="Zoom in"]');
        const zout = document.querySelector<HTMLButtonElement>('button[aria-label="Zoom out"]');
        const out: number[] = [];
        for (let k = 0; k < 5; k++) {
          zout?.click();
          const t0 = performance.now();
          zin?.click();
          out.push(performance.now() - t0);
        }
        return out.sort((x, y) => x - y)[2] ?? NaN;
      });
      zooms.push(z);
      const heap = await page.evaluate(() => (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? NaN);
      heaps.push(heap);
      await page.close();
    }
    rows.push(
      { metric: `load until ready in Chromium (median of ${RUNS})`, report: ms(median(loads)), baseline: `${ms(median(baseLoads))} (plain HTML, same size, until load)` },
      { metric: 'zoom in from the whole-trace view (click → redrawn, in page)', report: ms(median(zooms)), baseline: '' },
      { metric: 'JS heap after load', report: Number.isNaN(median(heaps)) ? 'n/a' : `${(median(heaps) / 1e6).toFixed(0)} MB`, baseline: '' },
    );
  } finally {
    await browser.close();
    cleanupTemp();
  }
  return rows;
}

export function formatReportBench(rows: readonly ReportBenchRow[]): string {
  const w0 = Math.max(...rows.map((r) => r.metric.length), 6);
  const w1 = Math.max(...rows.map((r) => r.report.length), 6);
  const line = (a: string, b: string, c: string): string => `${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`;
  return ['HTML report, 100,000 sessions', line('metric', 'report', 'baseline'), ...rows.map((r) => line(r.metric, r.report, r.baseline))].join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runReportBench()
    .then((rows) => console.log(formatReportBench(rows)))
    .catch((e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    });
}
