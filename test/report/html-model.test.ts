// Node-side tests of the HTML report: data embedding and escaping, the CSP, the model's
// encoding (decoded back with the page's own decoder), the summary, and the timeline's
// bucketing. The browser tests (html-browser.test.ts) check the rendered page.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildReportModel, jsonForScript, renderHtmlReport, stateColor, summarize } from '../../src/report/html/index.js';
import { clientScript } from '../../src/report/html/client-bundle.js';
import { decodeModule } from '../../src/report/html/client/decode.js';
import { formatModule } from '../../src/report/html/client/format.js';
import { timelineDrawModule } from '../../src/report/html/client/timeline-draw.js';
import { markersModule } from '../../src/report/html/client/markers.js';
import { domModule } from '../../src/report/html/client/dom.js';
import { recordViewModule } from '../../src/report/html/client/record-view.js';
import { column, delta, spans } from '../../src/report/html/column-codec.js';
import { openSpillFile } from '../../src/track/spill-file.js';
import { cleanSave, errorReset, failedPrecopy, HOSTILE_DEVICE, HOSTILE_MESSAGE, HOSTILE_TITLE, hostile, RULES, SCENARIOS, T, twoDevices } from './fixtures.js';

const fmt = formatModule();
const draw = timelineDrawModule(fmt);

describe('jsonForScript', () => {
  it('escapes everything that could end or confuse a script element, and round-trips', () => {
    const value = { a: HOSTILE_MESSAGE, b: '</SCRIPT >', c: '<!--', d: 'x\u2028y\u2029z', e: 'a & b > c' };
    const out = jsonForScript(value);
    expect(out).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(out)).toEqual(value);
  });

  it('leaves plain JSON alone', () => {
    expect(jsonForScript({ a: 1, b: 'text' })).toBe('{"a":1,"b":"text"}');
  });
});

describe('renderHtmlReport output', () => {
  const html = renderHtmlReport(hostile(), { title: HOSTILE_TITLE, rules: RULES });

  it('never writes hostile trace text into the markup raw', () => {
    for (const tag of ['<script>window', '<img', '<svg', '<iframe', '<b onmouseover', '"><script>']) expect(html).not.toContain(tag);
    // ...the JSON holds it escaped, and decodes back to the original.
    const m = /<script type="application\/json" id="report-data" data-encoding="json">([^]*?)<\/script>/.exec(html);
    expect(m).not.toBeNull();
    const model: unknown = JSON.parse(m?.[1] ?? '');
    expect(JSON.stringify(model)).toContain(JSON.stringify(HOSTILE_DEVICE).slice(1, -1));
    expect(JSON.stringify(model)).toContain(JSON.stringify(HOSTILE_MESSAGE).slice(1, -1));
  });

  it('escapes the title in <title> and <h1>', () => {
    expect(html).toContain('<title>&lt;/title&gt;&lt;script&gt;window.__pwned=6&lt;/script&gt;</title>');
    expect(html).toContain('<h1 id="title">&lt;/title&gt;&lt;script&gt;window.__pwned=6&lt;/script&gt;</h1>');
  });

  it('pins every inline script and style by hash in a CSP that forbids all loads', () => {
    const csp = (/<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1] ?? '').replace(/&#39;/g, "'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("img-src 'none'");
    const scripts = [...html.matchAll(/<script>([^]*?)<\/script>/g)].map((x) => x[1] ?? '');
    const styles = [...html.matchAll(/<style>([^]*?)<\/style>/g)].map((x) => x[1] ?? '');
    expect(scripts).toHaveLength(2);
    expect(styles).toHaveLength(2);
    const hash = (s: string): string => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;
    for (const s of scripts) expect(csp).toContain(hash(s));
    for (const s of styles) expect(csp).toContain(hash(s));
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    // No URL anywhere the browser would fetch.
    expect(html).not.toMatch(/\b(src|href)="(?!#)/i);
    expect(html).not.toMatch(/sourceMappingURL/);
  });

  it('inlines uPlot (no reference to node_modules or a CDN)', () => {
    const html = renderHtmlReport(twoDevices());
    expect(html).toContain('uPlot');
    expect(html).not.toContain('node_modules');
    expect(html).not.toMatch(/https?:\/\/(?!github\.com\/leeoniya)/);
  });
});

describe('page script', () => {
  it('never parses data as HTML or evaluates strings', () => {
    const js = clientScript();
    for (const bad of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'eval(', 'new Function', "setAttribute('style'", 'setAttribute("style"']) {
      expect(js, bad).not.toContain(bad);
    }
  });

  it('is syntactically valid JavaScript', () => {
    // Parsing without running: a factory that is not self-contained would fail later, in the browser tests.
    expect(() => new Function('uPlot', clientScript())).not.toThrow();
  });
});

describe('model encoding', () => {
  it('decodes (with the page decoder) to the analysis values', () => {
    for (const [name, make] of Object.entries(SCENARIOS)) {
      const a = make();
      const model = buildReportModel(a, { rules: RULES });
      const d = decodeModule().decode(JSON.parse(JSON.stringify(model)));
      expect(d.lanes.map((l) => l.model.id), name).toEqual(a.devices.map((x) => x.id));
      a.devices.forEach((dev, li) => {
        const L = d.lanes[li];
        if (L === undefined) throw new Error('lane');
        dev.timeline.forEach((iv, i) => {
          expect(fmt.stateName(d, L.iv.state[i] ?? -1)).toBe(iv.state);
          expect(fmt.absNs(d, L.iv.start[i] ?? NaN)).toBe(iv.startNs?.toString() ?? '');
          expect(fmt.absNs(d, L.iv.end[i] ?? NaN)).toBe(iv.endNs?.toString() ?? '');
          expect(L.iv.raw[i]).toBe(iv.raw ?? -1);
          expect(L.iv.bytes[i]).toBe(iv.bytes);
        });
        dev.stateWrites.forEach((w, i) => {
          expect(fmt.absNs(d, L.w.ts[i] ?? NaN)).toBe(w.tsNs?.toString() ?? '');
          expect(fmt.src(d, L.w.src, i)).toBe(w.src.line !== undefined ? `${w.src.file}:${w.src.line}` : `${w.src.file}@${w.src.byteOffset}`);
        });
        dev.sessions.forEach((s, i) => {
          const pts: string[] = [];
          for (let k = L.ss.pendingOff[i] ?? 0; k < (L.ss.pendingOff[i + 1] ?? 0); k++) pts.push(`${fmt.absNs(d, L.ss.pendingTs[k] ?? NaN)}=${L.ss.pendingBytes[k]}`);
          expect(pts).toEqual(s.pending.map((p) => `${p.tsNs}=${p.bytes}`));
        });
      });
      a.findings.forEach((f, i) => {
        expect(d.model.strings[d.findings.rule[i] ?? -1]).toBe(f.rule);
        expect(d.findings.severity[i]).toBe(f.severity === 'error' ? 0 : 1);
        expect(d.findings.lane[i]).toBe(a.devices.findIndex((x) => x.id === f.device));
        expect(fmt.absNs(d, d.findings.ts[i] ?? NaN)).toBe(f.tsNs?.toString() ?? '');
        expect((d.findings.evidenceOff[i + 1] ?? 0) - (d.findings.evidenceOff[i] ?? 0)).toBe(f.evidence.length);
      });
    }
  });

  it('writes finding tables longer than a slice with every message, evidence description and quoted line in order', () => {
    // The text columns are written as a later pass reads them (model.ts findingPieces), in
    // pieces of SLICE_ITEMS: 5,000 findings and 10,000 evidence entries cross several.
    const a = failedPrecopy();
    const base = a.findings[0];
    if (base === undefined) throw new Error('the scenario has a finding');
    const findings = Array.from({ length: 5_000 }, (_, i) => ({
      ...base,
      message: `finding ${i} "quoted" \u2028 é`,
      evidence: [
        { what: `first of ${i}`, src: { file: 'trace.txt', line: 2 * i + 1 } },
        { what: `second of ${i}`, src: { file: i % 3 === 0 ? 'other.txt' : 'trace.txt', line: 2 * i + 2 } },
      ],
    }));
    const evidenceText = (src: { file: string; line?: number }): string | undefined => (src.line !== undefined && src.line % 7 !== 0 ? `${src.file} line ${src.line}` : undefined);
    const model = buildReportModel({ ...a, findings }, { rules: RULES, evidenceText });
    expect(model.findings.count).toBe(5_000);
    expect(model.findings.message).toEqual(findings.map((f) => f.message));
    expect(model.findings.evidenceWhat).toEqual(findings.flatMap((f) => f.evidence.map((e) => e.what)));
    expect(model.findings.evidenceText).toEqual(findings.flatMap((f) => f.evidence.map((e) => evidenceText(e.src) ?? null)));
    const d = decodeModule().decode(JSON.parse(JSON.stringify(model)));
    findings.forEach((f, i) => {
      const off = d.findings.evidenceOff[i] ?? -1;
      f.evidence.forEach((e, k) => expect(fmt.src(d, d.findings.evidenceSrc, off + k)).toBe(`${e.src.file}:${e.src.line}`));
    });
  });

  it('writes the finding number columns as column-codec makes them, from memory or the spill file, and a NaN line the old way', () => {
    // model.ts findingPieces fills typed columns (column-text.ts), past a 4,096-number block
    // here, that go to the spill file when there is one: each column must still be what
    // column-codec makes of the values, with names interned rules first, then devices, then
    // spec references, and files in evidence order.
    const a = twoDevices();
    const base = a.findings[0] ?? failedPrecopy().findings[0];
    if (base === undefined) throw new Error('the scenario has a finding');
    const ids = a.devices.map((d) => d.id);
    const findings = (nanLine: boolean) =>
      Array.from({ length: 4_500 }, (_, i) => ({
        ...base,
        rule: `R-${i % 5}`,
        specRef: `§${i % 3}`,
        severity: i % 4 === 0 ? ('error' as const) : ('warning' as const),
        blame: i % 3 === 0 ? ('vmm' as const) : ('driver' as const),
        certainty: i % 5 === 0 ? ('uncertain' as const) : ('certain' as const),
        device: i % 7 === 0 ? 'gone' : (ids[i % ids.length] as string),
        tsNs: i % 9 === 4 ? undefined : T + BigInt(i) * 1_000_000n,
        evidence: Array.from({ length: i % 3 }, (_, k) => ({
          what: 'w',
          src: k === 1 ? { file: `f${i % 4}.dat`, byteOffset: i * 64 + k } : { file: 'trace.txt', line: nanLine && i === 77 ? Number.NaN : 2 * i + k },
        })),
      }));
    const newSpill = openSpillFile();
    if (newSpill === undefined) throw new Error('no temp file');
    try {
      for (const [fs, spill] of [
        [findings(false), undefined],
        [findings(false), newSpill],
        [findings(true), newSpill],
      ] as const) {
        const model = JSON.parse(JSON.stringify(buildReportModel({ ...a, findings: fs }, spill === undefined ? {} : { spill }))) as ReturnType<typeof buildReportModel>;
        const t0 = BigInt(model.t0);
        const str = (x: string) => model.strings.indexOf(x);
        const evs = fs.flatMap((f) => f.evidence.map((e) => e.src as { file: string; line?: number; byteOffset?: number }));
        const want = {
          rule: column(fs.map((f) => str(f.rule))),
          severity: column(fs.map((f) => (f.severity === 'error' ? 0 : 1))),
          blame: column(fs.map((f) => (f.blame === 'vmm' ? 0 : 1))),
          certainty: column(fs.map((f) => (f.certainty === 'certain' ? 0 : 1))),
          device: column(fs.map((f) => str(f.device))),
          lane: column(fs.map((f) => ids.indexOf(f.device))),
          ts: delta(fs.map((f) => (f.tsNs === undefined ? undefined : Number(f.tsNs - t0)))),
          specRef: column(fs.map((f) => str(f.specRef))),
          evidenceCount: column(fs.map((f) => f.evidence.length)),
          evidenceSrc: {
            file: column(evs.map((e) => model.files.indexOf(e.file))),
            line: delta(evs.map((e) => e.line)),
            byteOffset: column(evs.map((e) => e.byteOffset ?? -1)),
          },
        };
        const got = Object.fromEntries(Object.keys(want).map((k) => [k, (model.findings as unknown as Record<string, unknown>)[k]]));
        expect(got).toEqual(JSON.parse(JSON.stringify(want)));
        // interned in that order: every rule before any device, every device before any spec reference
        expect(model.strings.indexOf('R-4')).toBeLessThan(model.strings.indexOf('gone'));
        expect(model.strings.indexOf('gone')).toBeLessThan(model.strings.indexOf('§2'));
      }
      // the typed columns' blocks went to the file
      expect(newSpill.size()).toBeGreaterThan(0);
    } finally {
      newSpill.close();
    }
  });

  it('delta-codes with gaps for unknown values', () => {
    const col = delta([10, undefined, 15, 12, undefined]);
    expect(col).toEqual([10, null, 5, -3, null]);
    expect(Array.from(decodeModule().decodeDelta(col))).toEqual([10, NaN, 15, 12, NaN]);
  });

  it('run-length codes repetitive columns only, and expands them back', () => {
    const rep = [0, 0, 0, 0, 0, 0, 0, 0, 22, 0, 0, 0, 0, 0, 0, null, null, null, null, null];
    const c = column(rep);
    expect(c).toEqual({ rle: [0, 8, 22, 1, 0, 6, null, 5] });
    expect(Array.from(decodeModule().expand(c))).toEqual(rep.map((v) => (v === null ? NaN : v)));
    const varied = [1, 3, 2, 0, 1, 3, 2, 0];
    expect(column(varied)).toEqual(varied);
  });

  it('span-codes contiguous intervals as zero starts and durations, with unknown ends and starts', () => {
    const starts = [100, 150, undefined, 400, 500];
    const ends = [150, 300, 400, undefined, 520];
    const c = spans(starts, ends);
    expect(c.start).toEqual([100, 0, null, 0, 500 - 400]);
    expect(c.end).toEqual([50, 150, 100, null, 20]);
    const back = decodeModule().decodeSpans(c.start, c.end);
    expect(Array.from(back.start)).toEqual([100, 150, NaN, 400, 500]);
    expect(Array.from(back.end)).toEqual([150, 300, 400, NaN, 520]);
  });

  it('places open and unknown interval ends for drawing', () => {
    const a = cleanSave();
    const dev = a.devices[0];
    if (dev === undefined) throw new Error('fixture');
    // The clean save's STOP is open at the end of the trace.
    const d1 = decodeModule().decode(buildReportModel(a));
    expect(Array.from(d1.lanes[0]?.iv.openAtEnd ?? [])).toEqual([0, 0, 0, 1]);
    // Without an end at all it is drawn to the end of the trace.
    const open = { ...a, devices: [{ ...dev, timeline: dev.timeline.map((iv, i) => (i === 3 ? { ...iv, endNs: undefined } : iv)) }] };
    const d = decodeModule().decode(buildReportModel(open));
    const L = d.lanes[0];
    expect(Number.isNaN(L?.iv.end[3] ?? 0)).toBe(true);
    expect(L?.iv.drawB[3]).toBe(d.span);
  });

  it('keeps absolute times exact past 2^53 ns', () => {
    const a = cleanSave();
    const big = 10n ** 19n; // ~317 years of uptime, far past a double's exact range
    const shifted = {
      ...a,
      devices: a.devices.map((dv) => ({ ...dv, stateWrites: dv.stateWrites.map((w) => ({ ...w, tsNs: (w.tsNs ?? 0n) - T + big + 1n })), timeline: [], sessions: [] })),
    };
    const d = decodeModule().decode(buildReportModel(shifted));
    expect(fmt.absNs(d, d.lanes[0]?.w.ts[1] ?? NaN)).toBe((big + 1n + 400_000_000n).toString());
  });
});

describe('summary', () => {
  it('counts sessions, outcomes, bytes, not-running time and findings by severity and blame', () => {
    const s = summarize(failedPrecopy());
    expect(s.sessions).toEqual({ save: 1, resume: 0 });
    expect(s.outcomes).toEqual({ completed: 0, failed: 1, cancelled: 0, incomplete: 0, unknown: 0 });
    expect(s.findings.error).toEqual({ vmm: 1, driver: 0 });
    expect(s.findings.warning).toEqual({ vmm: 0, driver: 2 });
    expect(s.findings.uncertain).toBe(1);
    expect(s.failedWrites).toBe(1);
    expect(s.verdict).toBe('failed');
    const e = summarize(errorReset());
    expect(e.notRunningNs).toBe((120n * 1_000_000n).toString());
    expect(e.resets).toBe(1);
    expect(summarize(cleanSave()).verdict).toBe('clean');
    expect(summarize(twoDevices()).verdict).toBe('warnings');
  });
});

describe('page formatting', () => {
  it('writes counts, exact relative times, bytes and errnos', () => {
    expect([fmt.count(0), fmt.count(999), fmt.count(1234567), fmt.count(-1000)]).toEqual(['0', '999', '1,234,567', '-1,000']);
    expect(fmt.relExact(1_500_000_001)).toBe('+1.500000001 s');
    expect(fmt.relExact(NaN)).toBe('unknown');
    expect(fmt.bytes(16384)).toBe('16.00 KiB');
    expect(fmt.errno(22)).toBe('EINVAL (22)');
    expect(fmt.errno(-11)).toBe('EAGAIN (11)');
    expect(fmt.tick(250_000_000, 50_000_000)).toBe('+250 ms');
  });
});

describe('palette', () => {
  it('gives v1 and v2 names of the same state the same colour, and reserved values their own', () => {
    expect(stateColor('SAVING')).toBe(stateColor('STOP_COPY'));
    expect(stateColor('PRE_COPY')).not.toBe(stateColor('RUNNING'));
    expect(stateColor('INVALID_101')).toBe(stateColor('INVALID_9'));
    expect(stateColor('INVALID_101')).not.toBe(stateColor('ERROR'));
  });
});

describe('timeline bucketing', () => {
  // 1,000 intervals of 1 ns each alternating RUNNING (0) / PRE_COPY (1), one ERROR (2) among them.
  const n = 1000;
  const drawA = new Float64Array(n);
  const drawB = new Float64Array(n);
  const state = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    drawA[i] = i;
    drawB[i] = i + 1;
    state[i] = i === 500 ? 2 : i % 2;
  }
  const iv = { n, drawA, drawB, maxB: drawB, state };

  it('aggregates sub-pixel intervals per column, keeping rare states', () => {
    const b = draw.bucketIntervals(iv, { v0: 0, v1: 1000 }, 100, 3);
    expect(b.wide).toHaveLength(0);
    let total = 0;
    for (const v of b.cols) total += v;
    expect(total).toBeCloseTo(100, 6); // every pixel of the view is accounted for
    expect(b.cols[50 * 3 + 2]).toBeGreaterThan(0); // the ERROR interval's column holds it
    expect(b.cols[49 * 3 + 2]).toBe(0);
  });

  it('draws intervals directly once they are a pixel or wider', () => {
    const b = draw.bucketIntervals(iv, { v0: 100, v1: 110 }, 100, 3);
    expect(b.wide.length / 3).toBe(10);
    expect(b.wide[0]).toBe(100);
    expect(b.used.every((u) => u === 0)).toBe(true);
  });

  it('groups markers closer than the bucket width, never more than one per bucket width', () => {
    const m = markersModule(domModule(), fmt, draw, recordViewModule(fmt));
    const ts = Float64Array.from({ length: 1000 }, (_, i) => i);
    const pairs = m.bucketMarkers(ts, { v0: 0, v1: 1000 }, 100, 10);
    expect(pairs.length / 2).toBe(10);
    expect(pairs[0]).toBe(0);
    expect(pairs[pairs.length - 1]).toBe(1000);
    const fine = m.bucketMarkers(ts, { v0: 0, v1: 10 }, 1000, 10);
    expect(fine.length / 2).toBe(11); // 0..10 inclusive, each alone
  });
});
