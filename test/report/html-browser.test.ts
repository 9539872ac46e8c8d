// The HTML report in real headless Chromium (Debian's package, driven by playwright-core):
// each lab-shaped scenario's lanes, intervals, markers, findings and summary checked in the
// DOM against the Analysis it was rendered from; keyboard and hover selection; finding
// expansion; print layout; a hostile trace that must execute nothing; and a 100,000-session
// trace that opens and zooms. Screenshots go to test/report/screenshots/.

import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Analysis } from '../../src/analysis/types.js';
import { formatModule } from '../../src/report/html/client/format.js';
import { timelineDrawModule } from '../../src/report/html/client/timeline-draw.js';
import { renderHtmlReport, stateColor, summarize } from '../../src/report/html/index.js';
import { wallTimeIso } from '../../src/report/wall-clock.js';
import type { Source } from '../../src/record/types.js';
import { chromiumAvailable, chromiumSkipReason, cleanupTemp, launchChromium, openReport, writeTemp, type Opened } from './fixtures-browser.js';
import { largeAnalysis } from './fixtures-large.js';
import { cleanSave, failedPrecopy, HOSTILE_DEVICE, HOSTILE_MESSAGE, HOSTILE_TITLE, hostile, RULES, SCENARIOS } from './fixtures.js';

const SHOTS = join(dirname(fileURLToPath(import.meta.url)), 'screenshots');
const LAYOUT = timelineDrawModule(formatModule()).LAYOUT;

if (!chromiumAvailable) console.warn(chromiumSkipReason);

const where = (s: Source | undefined): string =>
  s === undefined ? '' : s.line !== undefined ? `${s.file}:${s.line}` : s.byteOffset !== undefined ? `${s.file}@${s.byteOffset}` : s.file;
const ns = (t: bigint | undefined): string => (t === undefined ? '' : t.toString());

type Rows = Record<string, string>[];
const rows = (page: Page, sel: string): Promise<Rows> => page.$$eval(sel, (trs) => trs.map((tr) => ({ ...(tr as HTMLElement).dataset }) as Record<string, string>));

/** The page's lanes, tables, markers, findings, summary and canvas against the analysis. */
async function checkAgainstAnalysis(page: Page, a: Analysis): Promise<void> {
  // One lane per device, in order.
  expect(await page.$$eval('.tl-label[data-device]', (els) => els.map((e) => (e as HTMLElement).dataset['device']))).toEqual(a.devices.map((d) => d.id));

  for (const [li, dev] of a.devices.entries()) {
    const base = `section.device[data-lane="${li}"]`;
    expect(await rows(page, `${base} table[data-table="intervals"] tbody tr[data-row]`)).toEqual(
      dev.timeline.map((iv, i) => ({
        row: String(i),
        state: iv.state,
        raw: String(iv.raw ?? -1),
        startNs: ns(iv.startNs),
        endNs: ns(iv.endNs),
        certainty: iv.certainty,
        bytes: String(iv.bytes),
        src: where(iv.src),
      })),
    );
    expect(await rows(page, `${base} table[data-table="writes"] tbody tr[data-row]`)).toEqual(
      dev.stateWrites.map((w, i) => ({
        row: String(i),
        tsNs: ns(w.tsNs),
        from: w.from,
        to: w.to,
        fromRaw: String(w.fromRaw ?? -1),
        toRaw: String(w.toRaw ?? -1),
        result: w.result,
        errno: String(w.errno ?? 0),
        readBack: String(w.readBackRaw ?? -1),
        src: where(w.src),
      })),
    );
    expect(await rows(page, `${base} table[data-table="sessions"] tbody tr[data-row]`)).toEqual(
      dev.sessions.map((s, i) => ({
        row: String(i),
        kind: s.kind,
        outcome: s.outcome,
        startNs: ns(s.startNs),
        endNs: ns(s.endNs),
        states: s.states.join(','),
        iterations: String(s.iterations),
        bytes: String(s.bytes),
      })),
    );

    // Markers at the whole-trace view: every write and finding is in exactly one marker.
    const lane = `.tl-lane-markers[data-lane="${li}"]`;
    const wm = await rows(page, `${lane} button[data-kind="write"]`);
    expect(wm.reduce((n, m) => n + Number(m['count']), 0)).toBe(dev.stateWrites.filter((w) => w.tsNs !== undefined).length);
    expect(wm.reduce((n, m) => n + Number(m['failed']), 0)).toBe(dev.stateWrites.filter((w) => w.result === 'failed').length);
    for (const m of wm.filter((x) => x['count'] === '1')) {
      const w = dev.stateWrites[Number(m['index'])];
      expect(m['firstNs']).toBe(ns(w?.tsNs));
      expect(m['result']).toBe(w?.result);
    }
    const fm = await rows(page, `${lane} button[data-kind="finding"]`);
    const devFindings = a.findings.filter((f) => f.device === dev.id && f.tsNs !== undefined);
    expect(fm.reduce((n, m) => n + Number(m['count']), 0)).toBe(devFindings.length);
    for (const m of fm.filter((x) => x['count'] === '1')) {
      const f = a.findings[Number(m['index'])];
      expect(m['rule']).toBe(f?.rule);
      expect(m['firstNs']).toBe(ns(f?.tsNs));
    }
    // Every marker has an accessible name.
    expect(await page.$$eval(`${lane} button`, (bs) => bs.every((b) => (b.getAttribute('aria-label') ?? '').length > 10))).toBe(true);
  }
  const gm = await rows(page, '.tl-lane-markers[data-lane="-1"] button[data-kind="gap"]');
  expect(gm.reduce((n, m) => n + Number(m['count']), 0)).toBe(a.input.gaps.filter((g) => g.tsNs !== undefined).length);

  // Findings table.
  expect(await rows(page, 'table[data-table="findings"] tbody tr.finding')).toEqual(
    a.findings.map((f, i) => ({
      row: String(i),
      rule: f.rule,
      severity: f.severity,
      blame: f.blame,
      certainty: f.certainty,
      device: f.device,
      tsNs: ns(f.tsNs),
    })),
  );

  // Summary numbers.
  const s = summarize(a);
  const stats = Object.fromEntries(
    await page.$$eval('[data-stat]', (els) => els.map((e) => [(e as HTMLElement).dataset['stat'] ?? '', (e as HTMLElement).dataset['value'] ?? ''] as const)),
  );
  expect(stats).toMatchObject({
    devices: String(a.devices.length),
    'sessions-save': String(s.sessions.save),
    'sessions-resume': String(s.sessions.resume),
    'outcome-failed': String(s.outcomes.failed),
    'outcome-completed': String(s.outcomes.completed),
    'not-running': s.notRunningNs,
    'bytes-save': String(s.bytes.save),
    'error-vmm': String(s.findings.error.vmm),
    'error-driver': String(s.findings.error.driver),
    'warning-vmm': String(s.findings.warning.vmm),
    'warning-driver': String(s.findings.warning.driver),
    records: String(a.input.records),
    malformed: String(a.input.malformed),
    'lost-events': String(a.input.lostEvents),
    'clock-source': a.clock.source,
  });
  expect(await page.getAttribute('.verdict', 'data-verdict')).toBe(s.verdict);

  // The canvas: the middle of every known interval wide enough to see is drawn in its state's colour.
  let sampled = 0;
  for (const [li, dev] of a.devices.entries()) {
    for (const iv of dev.timeline) {
      if (iv.certainty !== 'known' || iv.startNs === undefined || iv.endNs === undefined) continue;
      const px = await page.evaluate(
        ({ start, end, y }) => {
          const tl = document.querySelector<HTMLElement>('.tl');
          const canvas = document.querySelector<HTMLCanvasElement>('.tl-plot canvas');
          if (tl === null || canvas === null) return undefined;
          const v0 = BigInt(tl.dataset['viewStartNs'] ?? '0');
          const v1 = BigInt(tl.dataset['viewEndNs'] ?? '0');
          const w = canvas.clientWidth;
          const X = (t: bigint): number => (Number(t - v0) / Number(v1 - v0)) * w;
          const x0 = X(BigInt(start));
          const x1 = X(BigInt(end));
          if (x1 - x0 < 8) return undefined;
          const dpr = canvas.width / w;
          const d = canvas.getContext('2d')?.getImageData(Math.round(((x0 + x1) / 2) * dpr), Math.round(y * dpr), 1, 1).data;
          return d === undefined ? undefined : `#${[d[0], d[1], d[2]].map((c) => (c ?? 0).toString(16).padStart(2, '0')).join('')}`;
        },
        { start: iv.startNs.toString(), end: iv.endNs.toString(), y: LAYOUT.axisH + LAYOUT.inputH + li * LAYOUT.laneH + LAYOUT.barY + LAYOUT.barH / 2 },
      );
      if (px === undefined) continue;
      expect(px, `${dev.id} ${iv.state}`).toBe(stateColor(iv.state));
      sampled++;
    }
  }
  expect(sampled).toBeGreaterThan(0);
}

describe.skipIf(!chromiumAvailable)('HTML report in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    cleanupTemp();
  });

  async function open(a: Analysis, name: string, title?: string): Promise<Opened> {
    const path = writeTemp(`${name}.html`, renderHtmlReport(a, { rules: RULES, ...(title !== undefined ? { title } : {}) }));
    return openReport(browser, path);
  }

  for (const [name, make] of Object.entries(SCENARIOS)) {
    it(`${name}: lanes, intervals, markers, findings and summary match the analysis`, async () => {
      const a = make();
      const { page, errors, requests } = await open(a, name, `migscope report: ${name}`);
      try {
        expect(errors).toEqual([]);
        expect(requests).toEqual([]);

        await checkAgainstAnalysis(page, a);
        await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
      } finally {
        await page.close();
      }
    });
  }

  it('gzip-embedded data (used for big reports) shows the same page', async () => {
    const a = failedPrecopy();
    const html = renderHtmlReport(a, { rules: RULES, dataEncoding: 'gzip' });
    expect(html).toContain('data-encoding="gzip-base64"');
    const { page, errors, requests } = await openReport(browser, writeTemp('gzip.html', html));
    try {
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
      await checkAgainstAnalysis(page, a);
    } finally {
      await page.close();
    }
  });

  it('keyboard: Tab reaches a lane, arrows walk its markers, focus shows the record, + zooms and keeps focus', async () => {
    const a = failedPrecopy();
    const { page, errors } = await open(a, 'keyboard');
    try {
      await page.focus('.tl-plot');
      await page.keyboard.press('Tab');
      const focused = (): Promise<Record<string, string>> => page.evaluate(() => ({ ...(document.activeElement as HTMLElement | null)?.dataset }) as Record<string, string>);
      expect((await focused())['kind']).toBe('gap');
      expect(await page.textContent('#selected-body')).toContain('Lost events: 12');

      await page.keyboard.press('ArrowDown');
      expect(['write', 'finding']).toContain((await focused())['kind']);
      expect((await focused())['lane']).toBe('0');
      await page.keyboard.press('Home');
      let found = false;
      for (let k = 0; k < 10 && !found; k++) {
        const f = await focused();
        if (f['kind'] === 'write' && f['result'] === 'failed') found = true;
        else await page.keyboard.press('ArrowRight');
      }
      expect(found).toBe(true);
      const panel = await page.textContent('#selected-body');
      expect(panel).toContain('PRE_COPY → SAVING FAILED');
      expect(panel).toContain('EINVAL (22)');
      expect(panel).toContain('ftrace-trace-local.txt:52');
      expect(await page.isVisible('#tl-tip')).toBe(true);
      expect(await page.textContent('#tl-tip')).toContain('FAILED');
      // Focus is visible.
      expect(await page.evaluate(() => getComputedStyle(document.activeElement as Element).outlineStyle)).not.toBe('none');

      // + zooms around the marker; the same marker keeps focus.
      const before = await page.evaluate(() => ({ ...document.querySelector<HTMLElement>('.tl')?.dataset }));
      await page.keyboard.press('+');
      const after = await page.evaluate(() => ({ ...document.querySelector<HTMLElement>('.tl')?.dataset }));
      expect(Number(after['renders'])).toBeGreaterThan(Number(before['renders']));
      expect(BigInt(after['viewEndNs'] ?? '0') - BigInt(after['viewStartNs'] ?? '0')).toBeLessThan(BigInt(before['viewEndNs'] ?? '0') - BigInt(before['viewStartNs'] ?? '0'));
      expect((await focused())['result']).toBe('failed');

      // Roving tabindex: Tab leaves the lane instead of visiting each of its markers.
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.closest('.tl-lane-markers[data-lane="0"]') === null)).toBe(true);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('hover shows a marker’s record in a tooltip', async () => {
    const { page, errors } = await open(failedPrecopy(), 'hover');
    try {
      await page.hover('button[data-kind="write"][data-result="failed"]');
      expect(await page.isVisible('#tl-tip')).toBe(true);
      const tip = await page.textContent('#tl-tip');
      expect(tip).toContain('State write PRE_COPY → SAVING FAILED');
      expect(tip).toContain('ftrace-trace-local.txt:52');
      await page.hover('h1');
      expect(await page.isVisible('#tl-tip')).toBe(false);
      await page.hover('button[data-kind="finding"][data-rule="V1-SAVE-ORDER"]');
      expect(await page.textContent('#tl-tip')).toContain('uncertain');
      await page.screenshot({ path: join(SHOTS, 'hover-tooltip.png'), clip: { x: 0, y: 0, width: 1400, height: 1000 } });
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('a finding shows the trace lines it cites when they were supplied, and its wall clock when the clock is known (issue 15)', async () => {
    const base = failedPrecopy();
    const offsetNs = 1_767_225_600_000_000_000n;
    const a: Analysis = { ...base, clock: { source: 'sync', clock: 'local', offsetNs } };
    const raw = (src: { readonly line?: number }): string | undefined => (src.line !== undefined ? `  <raw> line ${src.line} pwrite64 & <b>x</b>` : undefined);
    const page = (await openReport(browser, writeTemp('evidence-text.html', renderHtmlReport(a, { rules: RULES, evidenceText: raw })))).page;
    try {
      await page.click('tr.finding[data-row="0"] button.expand');
      const detail = 'tr.finding-detail[data-detail-for="0"]';
      const f = a.findings[0];
      expect(await page.$$eval(`${detail} ol.evidence li pre.ev-line`, (ps) => ps.map((p) => p.textContent))).toEqual(f?.evidence.map((e) => raw(e.src)));
      expect(await page.$$(`${detail} ol.evidence li pre.ev-line b`)).toEqual([]); // text, never markup
      expect(await page.textContent(detail)).toContain(wallTimeIso(a.clock, f?.tsNs) ?? 'no wall time?');
    } finally {
      await page.close();
    }
    // Without a mapping, no wall clock; without the lines, no embedded text.
    const plain = (await openReport(browser, writeTemp('evidence-plain.html', renderHtmlReport(base, { rules: RULES })))).page;
    try {
      await plain.click('tr.finding[data-row="0"] button.expand');
      expect(await plain.$$('tr.finding-detail[data-detail-for="0"] pre.ev-line')).toEqual([]);
      expect(await plain.textContent('tr.finding-detail[data-detail-for="0"]')).not.toContain('Wall clock');
    } finally {
      await plain.close();
    }
  });

  it('a finding expands to its rule text, spec reference, blame and evidence lines; it jumps to its marker', async () => {
    const a = failedPrecopy();
    const { page, errors } = await open(a, 'expand');
    try {
      const detail = 'tr.finding-detail[data-detail-for="0"]';
      expect(await page.isVisible(detail)).toBe(false);
      await page.click('tr.finding[data-row="0"] button.expand');
      expect(await page.getAttribute('tr.finding[data-row="0"] button.expand', 'aria-expanded')).toBe('true');
      expect(await page.isVisible(detail)).toBe(true);
      const text = (await page.textContent(detail)) ?? '';
      const rule = RULES.find((r) => r.id === 'V1-REFUSE-VALID');
      expect(text).toContain(`V1-REFUSE-VALID: ${rule?.title}`);
      expect(text).toContain(rule?.description ?? '?');
      expect(text).toContain(a.findings[0]?.specRef ?? '?');
      expect(text).toContain('Driver: the vendor or kernel driver');
      expect(await page.$$eval(`${detail} ol.evidence li`, (lis) => lis.map((l) => (l as HTMLElement).dataset['src']))).toEqual(a.findings[0]?.evidence.map((e) => where(e.src)));
      expect(text).toContain('pwrite64 device_state = 2 returned -22');

      // Keyboard: Enter and Space toggle the disclosure button.
      await page.focus('tr.finding[data-row="1"] button.expand');
      await page.keyboard.press('Enter');
      expect(await page.isVisible('tr.finding-detail[data-detail-for="1"]')).toBe(true);
      expect(await page.textContent('tr.finding-detail[data-detail-for="1"]')).toContain('Uncertain: events were lost');
      await page.keyboard.press(' ');
      expect(await page.isVisible('tr.finding-detail[data-detail-for="1"]')).toBe(false);

      await page.click(`${detail} button:has-text("Show on timeline")`);
      expect(await page.evaluate(() => ({ ...(document.activeElement as HTMLElement).dataset }))).toMatchObject({ kind: 'finding', rule: 'V1-REFUSE-VALID', index: '0' });
      await page.screenshot({ path: join(SHOTS, 'finding-expanded.png'), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('the curve draws the stop-copy prediction and the downtime split beside the limit', async () => {
    const { page, errors } = await open(cleanSave(), 'convergence');
    try {
      // The prediction: the estimate (4096 bytes) at the stop-copy entry, 0 at entry + 40 ms.
      const predicted = await page.$$eval('table[data-table="curve"] tbody tr', (rows) => rows.map((r) => (r as HTMLElement).dataset['predicted']).filter((v) => v !== ''));
      expect(predicted).toEqual(['4096', '0']);
      const split = (await page.textContent('.downtime-split')) ?? '';
      expect(split).toContain("this device's stop-copy: 50");
      expect(split).toContain('QEMU downtime: 61');
      expect(split).toContain('downtime limit: 30');
      // Bars share one scale: the longest (QEMU's 61 ms) fills the row, the limit half of it.
      const widths = await page.$$eval('.downtime-split .dt-bar', (bars) => bars.map((b) => (b as HTMLElement).style.width));
      expect(widths).toEqual([`${((100 * 50) / 61).toFixed(2)}%`, '100%', `${((100 * 30) / 61).toFixed(2)}%`]);
      expect((await page.textContent('.curve-facts')) ?? '').toMatch(/pre-copy converging.*fits no/);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('prints everything that is otherwise behind an interaction', async () => {
    const { page, errors } = await open(failedPrecopy(), 'print');
    try {
      await page.emulateMedia({ media: 'print' });
      const shown = (sel: string): Promise<boolean[]> => page.$$eval(sel, (els) => els.map((e) => getComputedStyle(e).display !== 'none'));
      expect(await shown('tr.finding-detail')).toEqual([true, true, true]);
      expect(await shown('.device-body')).toEqual([true]);
      expect(await shown('.curve-table > div')).toEqual([true]);
      expect(await shown('.tl-toolbar')).toEqual([false]);
      // The canvas was redrawn at the printed width, and the markers still line up with it.
      const w = await page.evaluate(() => document.querySelector('.tl-plot canvas')?.clientWidth ?? 0);
      expect(w).toBe(await page.evaluate(() => Math.floor(document.querySelector('.tl-plot')?.clientWidth ?? -1)));
      await page.screenshot({ path: join(SHOTS, 'print.png'), fullPage: true });
      const pdf = await page.pdf({ format: 'A4' });
      expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('a hostile trace (script and markup in device names, messages, files, title) executes nothing', async () => {
    const { page, errors, requests } = await open(hostile(), 'hostile', HOSTILE_TITLE);
    try {
      const pwned = (): Promise<unknown> => page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned);
      expect(await pwned()).toBeUndefined();
      // The text is shown as text.
      expect(await page.title()).toBe(HOSTILE_TITLE);
      expect(await page.textContent('h1#title')).toBe(HOSTILE_TITLE);
      expect(await page.textContent('.tl-label[data-lane="0"] .tl-dev')).toBe(HOSTILE_DEVICE);
      expect(await page.$$eval('table[data-table="findings"] td.msg', (tds) => tds.map((t) => t.textContent))).toEqual([HOSTILE_MESSAGE, HOSTILE_MESSAGE, HOSTILE_MESSAGE]);
      // Drive every path that renders more of it: expand all findings, hover and focus every marker.
      await page.click('button:has-text("Expand all on this page")');
      for (const b of await page.$$('.tl-overlay button')) {
        await b.hover();
        await b.focus();
      }
      await page.click('section.device button.device-toggle');
      expect(await pwned()).toBeUndefined();
      // Nothing but the report's own elements: no injected img/svg/iframe, no extra scripts.
      expect(await page.evaluate(() => document.querySelectorAll('img, svg, iframe, object, embed').length)).toBe(0);
      expect(await page.evaluate(() => document.querySelectorAll('script').length)).toBe(3);
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
      await page.screenshot({ path: join(SHOTS, 'hostile.png'), fullPage: true });
    } finally {
      await page.close();
    }
  });

  it('a 100,000-session trace renders, opens, aggregates at low zoom and stays interactive', async () => {
    const a = largeAnalysis(100_000, 4);
    const html = renderHtmlReport(a, { rules: RULES, title: '100,000 sessions' });
    console.log(`100,000-session report: ${(html.length / 1e6).toFixed(1)} MB`);
    const { page, errors } = await open(a, 'large');
    try {
      expect(errors).toEqual([]);
      expect(await page.getAttribute('[data-stat="sessions-save"]', 'data-value')).toBe('100000');
      expect(await page.$$eval('.tl-label[data-device]', (e) => e.length)).toBe(4);
      // Aggregated: far fewer marker buttons than writes, each cluster counted.
      const width = await page.evaluate(() => document.querySelector('.tl-plot')?.clientWidth ?? 0);
      for (let li = 0; li < 4; li++) {
        const m = await rows(page, `.tl-lane-markers[data-lane="${li}"] button[data-kind="write"]`);
        expect(m.length).toBeLessThanOrEqual(width / 10 + 1);
        expect(m.reduce((n, x) => n + Number(x['count']), 0)).toBe(a.devices[li]?.stateWrites.length);
        expect(m.reduce((n, x) => n + Number(x['failed']), 0)).toBe(a.devices[li]?.stateWrites.filter((w) => w.result === 'failed').length);
      }
      await page.screenshot({ path: join(SHOTS, 'large-overview.png'), clip: { x: 0, y: 0, width: 1400, height: 1000 } });

      // Zoom: the toolbar button, the wheel, and Enter on a cluster each complete a redraw.
      const view = async (): Promise<{ renders: number; width: bigint }> => {
        const d = await page.evaluate(() => ({ ...document.querySelector<HTMLElement>('.tl')?.dataset }));
        return { renders: Number(d['renders']), width: BigInt(d['viewEndNs'] ?? '0') - BigInt(d['viewStartNs'] ?? '0') };
      };
      const v0 = await view();
      await page.click('button[aria-label="Zoom in"]');
      const v1 = await view();
      expect(v1.renders).toBeGreaterThan(v0.renders);
      expect(v1.width).toBeLessThan(v0.width);
      const box = await page.locator('.tl-plot').boundingBox();
      await page.mouse.move((box?.x ?? 0) + (box?.width ?? 0) / 3, (box?.y ?? 0) + 5);
      await page.mouse.wheel(0, -600);
      await page.waitForFunction((r) => Number(document.querySelector<HTMLElement>('.tl')?.dataset['renders']) > r, v1.renders);
      const v2 = await view();
      expect(v2.width).toBeLessThan(v1.width);
      await page.focus('.tl-lane-markers[data-lane="1"] button[tabindex="0"]');
      const cluster = await page.evaluate(() => ({ ...(document.activeElement as HTMLElement).dataset }));
      expect(Number(cluster['count'])).toBeGreaterThan(1);
      await page.keyboard.press('Enter');
      const v3 = await view();
      expect(v3.width).toBeLessThan(v2.width);
      expect(await page.evaluate(() => document.activeElement?.classList.contains('mk'))).toBe(true);
      await page.locator('#timeline').screenshot({ path: join(SHOTS, 'large-zoomed.png') });

      // Tables page through the data: the second page of intervals is rows 101–200.
      await page.click('section.device[data-lane="0"] button.device-toggle');
      await page.click('section.device[data-lane="0"] .paged:has(table[data-table="intervals"]) button[aria-label^="Next page"]');
      const r = await rows(page, 'section.device[data-lane="0"] table[data-table="intervals"] tbody tr[data-row]');
      expect(r).toHaveLength(100);
      expect(r[0]?.['row']).toBe('100');
      expect(r[0]?.['startNs']).toBe(ns(a.devices[0]?.timeline[100]?.startNs));
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
