// The HTML report's `migrations` section in headless Chromium: the recorded QEMU 7.2 lab
// run of both hosts shows one block per migration with the same facts the terminal prints
// (report/migration-facts.ts), with no page error and no request; a hostile error-desc
// stays text.

import { join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORMATS } from '../../parsers/index.js';
import { analyzeInputs } from '../../src/cli/pipeline.js';
import { renderHtmlReport } from '../../src/report/html/index.js';
import { migrationFacts } from '../../src/report/migration-facts.js';
import type { Migration } from '../../src/track/migration-types.js';
import { chromiumAvailable, chromiumSkipReason, cleanupTemp, launchChromium, openReport, writeTemp } from './fixtures-browser.js';

const root = resolve(import.meta.dirname, '../..');
const lab = (n: string): string => join(root, 'test/fixtures/qemu-lab/timestamped', n);

if (!chromiumAvailable) console.warn(chromiumSkipReason);

describe.skipIf(!chromiumAvailable)('HTML report: migrations', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    cleanupTemp();
  });

  it('one block per migration with the terminal\'s facts', async () => {
    const a = await analyzeInputs(['source.log', 'source-qmp.jsonl', 'destination.log', 'destination-qmp.jsonl'].map((f) => ({ path: lab(f) })), { formats: FORMATS });
    const { page, errors, requests } = await openReport(browser, writeTemp('mig.html', renderHtmlReport(a)));
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    const blocks = await page.$$eval('#migrations-body article.migration', (els) =>
      els.map((e) => ({ outcome: (e as HTMLElement).dataset['outcome'], dt: [...e.querySelectorAll('dt')].map((x) => x.textContent), dd: [...e.querySelectorAll('dd')].map((x) => x.textContent) })),
    );
    const want = (a.migrations ?? []).map((m) => migrationFacts(m));
    expect(blocks).toEqual(want.map((f) => ({ outcome: f.outcome, dt: f.facts.map((x) => x[0]), dd: f.facts.map((x) => x[1]) })));
    expect(blocks.map((b) => b.outcome)).toEqual(['completed', 'completed']);
    await page.close();
  }, 60_000);

  it('an input whose times were moved onto the analysis clock says so under its file', async () => {
    // The shift itself is computed and tested in test/cli/merge-inputs.test.ts; here only
    // that the report shows it, for that file alone.
    const a = await analyzeInputs(['source.log', 'destination.log'].map((f) => ({ path: lab(f) })), { formats: FORMATS });
    const rule = "destination.log's own clock-sync record (destination.log:1) gives wall = trace +1.0 s: times moved by <b>-3600 s</b>";
    const files = a.input.files.map((f, i) => (i === 1 ? { ...f, clockShift: { shiftNs: -3_600_000_000_000n, ownOffsetNs: 1_000_000_000n, rule } } : f));
    const { page, errors } = await openReport(browser, writeTemp('shift.html', renderHtmlReport({ ...a, input: { ...a.input, files } })));
    expect(errors).toEqual([]);
    const shown = await page.$$eval('ul.files li', (els) => els.map((e) => e.querySelector('.clock-shift')?.textContent ?? null));
    expect(shown).toEqual([null, rule]);
    expect(await page.$$eval('ul.files b', (x) => x.length)).toBe(0);
    await page.close();
  }, 60_000);

  it('a hostile error text is shown as text, never markup', async () => {
    const a = await analyzeInputs([{ path: lab('source-qmp.jsonl') }], { formats: FORMATS });
    const [m] = a.migrations ?? [];
    const evil: Migration | undefined = m === undefined ? undefined : { ...m, outcome: 'failed', errorDesc: '<img src=x onerror="document.title=1">' };
    const { page, errors } = await openReport(browser, writeTemp('evil.html', renderHtmlReport({ ...a, migrations: evil === undefined ? [] : [evil] })));
    expect(errors).toEqual([]);
    expect(await page.$$eval('#migrations-body img', (x) => x.length)).toBe(0);
    expect(await page.textContent('#migrations-body')).toContain('<img src=x onerror=');
    await page.close();
  }, 60_000);
});
