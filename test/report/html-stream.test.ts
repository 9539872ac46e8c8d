// writeHtmlReport (render.ts) writes the page as it is produced, a lane at a time through a
// streaming gzip: it must be the very page renderHtmlReport returns, in every data
// encoding, and must never hand the sink the page (or its data) in one piece.

import { describe, expect, it } from 'vitest';
import { gunzipSync } from 'node:zlib';
import { renderHtmlReport, writeHtmlReport } from '../../src/report/html/render.js';
import { buildReportModel } from '../../src/report/html/model.js';
import { GZIP_THRESHOLD_BYTES, type HtmlReportOptions } from '../../src/report/html/options.js';
import type { Analysis } from '../../src/analysis/types.js';
import { cleanSave, failedPrecopy, resume } from './fixtures.js';
import { largeAnalysis } from './fixtures-large.js';

async function streamed(a: Analysis, opts: HtmlReportOptions): Promise<{ page: string; chunks: number[]; bytes: number }> {
  const parts: string[] = [];
  const bytes = await writeHtmlReport(a, opts, async (chunk) => {
    parts.push(chunk);
    // Let the gzip reader interleave, as a file sink does.
    await new Promise((r) => setImmediate(r));
  });
  return { page: parts.join(''), chunks: parts.map((p) => p.length), bytes };
}

function dataOf(page: string): { encoding: string; text: string } {
  const m = /<script type="application\/json" id="report-data" data-encoding="([^"]+)">([^<]*)<\/script>/.exec(page);
  if (m === null) throw new Error('no data element');
  return { encoding: m[1] ?? '', text: m[2] ?? '' };
}

describe('writeHtmlReport', () => {
  const small: [string, Analysis][] = [
    ['clean save', cleanSave()],
    ['resume', resume()],
    ['failed pre-copy', failedPrecopy()],
  ];
  for (const [name, a] of small) {
    for (const dataEncoding of ['auto', 'json', 'gzip'] as const) {
      it(`${name}, ${dataEncoding}: the same page as renderHtmlReport`, async () => {
        const opts: HtmlReportOptions = { title: 't ünïcode ✓', dataEncoding };
        const want = renderHtmlReport(a, opts);
        const got = await streamed(a, opts);
        expect(got.page).toBe(want);
        expect(got.bytes).toBe(Buffer.byteLength(want, 'utf8'));
        expect(dataOf(got.page).encoding).toBe(dataEncoding === 'gzip' ? 'gzip-base64' : 'json');
      });
    }
  }

  it('past the gzip threshold: the same page, its data in many small pieces, inflating to the model', async () => {
    const a = largeAnalysis(20_000, 4);
    const want = renderHtmlReport(a, { title: 'big' });
    const got = await streamed(a, { title: 'big' });
    expect(got.page).toBe(want);
    const data = dataOf(got.page);
    expect(data.encoding).toBe('gzip-base64');
    const json = gunzipSync(Buffer.from(JSON.parse(data.text) as string, 'base64')).toString('utf8');
    expect(json.length).toBeGreaterThan(GZIP_THRESHOLD_BYTES);
    expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(buildReportModel(a, { title: 'big' }))));
    // Never the data at once: every piece is a small share of it.
    expect(got.chunks.length).toBeGreaterThan(20);
    expect(Math.max(...got.chunks.slice(1))).toBeLessThan(data.text.length / 4);
  });

  it('a sink that fails, before or inside the compressed data, rejects the write with its error (no hang)', async () => {
    for (const failAt of [0, 3, 10]) {
      let calls = 0;
      await expect(
        writeHtmlReport(largeAnalysis(20_000, 2), {}, async () => {
          if (calls++ === failAt) throw new Error(`disk full at ${failAt}`);
        }),
      ).rejects.toThrow(`disk full at ${failAt}`);
      expect(calls).toBe(failAt + 1);
    }
  });
});
