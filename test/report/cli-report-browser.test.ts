// The report as users get it: written by the built CLI (dist/src/cli/main.js, the esbuild
// bundle of scripts/bundle-cli.mjs), opened in headless Chromium. The page script is
// assembled from its factories' compiled source text (report/html/client-bundle.ts), so the
// bundler's reprint of that code is what runs in the browser; the other browser tests render
// from src/. Checked: the page gets ready with no error and no request, one lane per device
// and one findings row per finding of `analyze --json` on the same trace, and the bundle is
// what was run.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtCli, REPO } from '../watch/helpers.js';
import { chromiumAvailable, chromiumSkipReason, cleanupTemp, launchChromium, openReport, writeTemp } from './fixtures-browser.js';

if (!chromiumAvailable) console.warn(chromiumSkipReason);

const TRACES = ['examples/failed-migration.trace', 'test/fixtures/samples/ftrace/ftrace-trace-tgid.txt'];

describe.skipIf(!chromiumAvailable)('the built CLI’s report in Chromium', () => {
  let browser: Browser;
  let cli: string;
  beforeAll(async () => {
    cli = builtCli();
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    cleanupTemp();
  });

  it('runs the bundle', () => {
    expect(readFileSync(cli, 'utf8')).toContain('/* migscope bundle */');
  });

  for (const trace of TRACES) {
    it(`${trace}: ready, no error, the devices and findings of analyze --json`, async () => {
      const out = writeTemp('report.html', '');
      const r = spawnSync(process.execPath, [cli, 'report', trace, '-o', out, '--quiet'], { encoding: 'utf8', cwd: REPO });
      expect(r.status, r.stderr).toBe(0);
      const j = spawnSync(process.execPath, [cli, 'analyze', trace, '--json', '--quiet', '--fail-on', 'never'], { encoding: 'utf8', cwd: REPO });
      expect(j.status, j.stderr).toBe(0);
      const a = JSON.parse(j.stdout) as { devices: { id: string }[]; findings: { rule: string }[] };
      const { page, errors, requests } = await openReport(browser, out);
      try {
        expect(errors).toEqual([]);
        expect(requests).toEqual([]);
        expect(await page.$$eval('.tl-label[data-device]', (els) => els.map((e) => (e as HTMLElement).dataset['device']))).toEqual(a.devices.map((d) => d.id));
        expect(await page.$$eval('table[data-table="findings"] tbody tr.finding', (trs) => trs.map((tr) => (tr as HTMLElement).dataset['rule']))).toEqual(a.findings.map((f) => f.rule));
      } finally {
        await page.close();
      }
    }, 120_000);
  }
});
