// Headless Debian Chromium driven by playwright-core, for the report's browser tests and
// bench (flags from the machine notes: no background networking on a closed network).

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env['MIGSCOPE_CHROMIUM'] ?? '/usr/bin/chromium';
export const chromiumAvailable = existsSync(CHROMIUM);
export const chromiumSkipReason = `headless Chromium not found at ${CHROMIUM} (apt-get install -y chromium); browser tests skipped`;

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A new browser; playwright gives each launch a fresh, empty user-data dir. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

const tempDirs: string[] = [];

/** Remove every directory writeTemp made in this process. */
export function cleanupTemp(): void {
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function writeTemp(name: string, html: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'migscope-report-'));
  tempDirs.push(dir);
  const path = join(dir, name);
  writeFileSync(path, html);
  return path;
}

export interface Opened {
  readonly page: Page;
  /** Console messages of type error, page errors and CSP violations, in order. */
  readonly errors: string[];
  /** Every URL the page requested besides the report file itself. */
  readonly requests: string[];
}

/** Open a report file in a new page and wait until the page says it is ready (or failed). */
export async function openReport(browser: Browser, path: string, viewport = { width: 1400, height: 1000 }): Promise<Opened> {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  const requests: string[] = [];
  const url = `file://${path}`;
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('request', (r) => {
    if (r.url() !== url) requests.push(r.url());
  });
  await page.goto(url);
  await page.waitForFunction(() => document.documentElement.dataset['ready'] === '1' || document.documentElement.dataset['error'] !== undefined, undefined, { timeout: 60_000 });
  const err = await page.evaluate(() => document.documentElement.dataset['error']);
  if (err !== undefined) errors.push(`report: ${err}`);
  return { page, errors, requests };
}
