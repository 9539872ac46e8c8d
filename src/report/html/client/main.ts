// Page side: the entry point. Reads the embedded JSON, decodes it, wires the page modules
// together and fills the sections the server laid out (page.ts). Sets
// <html data-ready="1"> when the page is usable (tests and the bench wait for it), or
// data-error with the message if anything failed. Inlined by its source text
// (client-bundle.ts), which passes every factory in `f`.

import type uPlot from 'uplot';
import type { ReportModel } from '../model-types.js';
import type { curvesModule } from './curves.js';
import type { decodeModule } from './decode.js';
import type { deviceTablesModule } from './device-tables.js';
import type { domModule } from './dom.js';
import type { findingsViewModule } from './findings-view.js';
import type { formatModule } from './format.js';
import type { markersModule } from './markers.js';
import type { migrationsViewModule } from './migrations-view.js';
import type { pagerModule } from './pager.js';
import type { recordViewModule, Target } from './record-view.js';
import type { summaryViewModule } from './summary-view.js';
import type { timelineDrawModule } from './timeline-draw.js';
import type { timelineModule } from './timeline.js';

export interface ClientFactories {
  readonly formatModule: typeof formatModule;
  readonly domModule: typeof domModule;
  readonly decodeModule: typeof decodeModule;
  readonly pagerModule: typeof pagerModule;
  readonly recordViewModule: typeof recordViewModule;
  readonly timelineDrawModule: typeof timelineDrawModule;
  readonly markersModule: typeof markersModule;
  readonly timelineModule: typeof timelineModule;
  readonly curvesModule: typeof curvesModule;
  readonly summaryViewModule: typeof summaryViewModule;
  readonly findingsViewModule: typeof findingsViewModule;
  readonly deviceTablesModule: typeof deviceTablesModule;
  readonly migrationsViewModule: typeof migrationsViewModule;
}

export async function mainModule(f: ClientFactories, UPlot: typeof uPlot): Promise<void> {
  const root = document.documentElement;
  try {
    const fmt = f.formatModule();
    const dom = f.domModule();
    const pager = f.pagerModule(dom, fmt);
    const records = f.recordViewModule(fmt);
    const draw = f.timelineDrawModule(fmt);
    const markers = f.markersModule(dom, fmt, draw, records);

    const dataEl = document.getElementById('report-data');
    let text = dataEl?.textContent ?? 'null';
    if (dataEl?.dataset['encoding'] === 'gzip-base64') {
      // Big reports carry their JSON gzip-compressed (render.ts); inflate it locally.
      const b64: unknown = JSON.parse(text);
      if (typeof b64 !== 'string') throw new Error('compressed report data is not a string');
      if (typeof DecompressionStream === 'undefined') throw new Error('this browser cannot decompress the report data (needs DecompressionStream)');
      const bin = atob(b64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      text = await new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).text();
    }
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || !('format' in parsed) || parsed.format !== 'migscope-report-1') {
      throw new Error('report data missing or of an unknown format');
    }
    // The data was written by this report's own renderer (model.ts) in the same file.
    const model: ReportModel = JSON.parse(text);
    const d = f.decodeModule().decode(model);

    dom.byId('title', HTMLElement).textContent = model.title;
    const files = model.input.files.map((x) => x.path).join(', ');
    dom.byId('subtitle', HTMLElement).textContent = [
      `${model.tool.name} ${model.tool.version}`,
      // The machine migscope ran on, not the traced hosts (each device and migration names its own).
      model.host !== null ? `analysed on ${model.host}` : '',
      files !== '' ? `input ${files}` : '',
    ]
      .filter((x) => x !== '')
      .join(' · ');

    f.summaryViewModule(dom, fmt).render(d, dom.byId('summary-body', HTMLElement));
    f.migrationsViewModule(dom).render(model, dom.byId('migrations-body', HTMLElement));

    // The selected record panel: what the focused or clicked marker stands for.
    const selected = dom.byId('selected-body', HTMLElement);
    let findings: { show(i: number): void } | undefined;
    const onSelect = (t: Target): void => {
      const desc = records.describe(d, t);
      dom.clear(selected);
      selected.dataset['kind'] = t.kind;
      selected.dataset['lane'] = String(t.lane);
      selected.dataset['items'] = t.items.slice(0, 50).join(',');
      selected.appendChild(dom.el('h4', { text: desc.title }));
      selected.appendChild(dom.fields(desc.fields));
      if (t.kind === 'finding' && t.items.length === 1) {
        const b = dom.el('button', { text: 'Open in the findings table', attrs: { type: 'button' } });
        b.addEventListener('click', () => findings?.show(t.items[0] ?? 0));
        selected.appendChild(b);
      }
    };

    // Legend: every state the report knows, marker shapes, session outcomes.
    const legend = dom.byId('legend', HTMLElement);
    const items: HTMLElement[] = [];
    for (const s of model.states) {
      const sw = dom.el('span', { class: 'swatch', attrs: { 'aria-hidden': 'true' } });
      sw.style.background = s.color;
      items.push(dom.el('li', { data: { state: s.name, color: s.color } }, [sw, s.name]));
    }
    const mk = (cls: string, label: string): HTMLElement => dom.el('li', {}, [dom.el('span', { class: `mk-sample ${cls}`, attrs: { 'aria-hidden': 'true' } }), label]);
    legend.appendChild(dom.el('ul', { class: 'legend-states', attrs: { 'aria-label': 'State colours' } }, items));
    legend.appendChild(
      dom.el('ul', { class: 'legend-marks', attrs: { 'aria-label': 'Marks' } }, [
        mk('cert-inferred', 'inferred state (faded)'),
        mk('cert-unknown', 'unknown (hatched)'),
        mk('mk-write', 'state write'),
        mk('mk-write mk-failed', 'failed state write'),
        mk('mk-finding mk-error', 'error finding'),
        mk('mk-finding mk-warning', 'warning finding'),
        mk('mk-gap', 'lost events'),
        ...model.outcomes.map((o) => dom.el('li', {}, [dom.el('span', { class: `dot outcome-${o}`, attrs: { 'aria-hidden': 'true' } }), `session ${o}`])),
      ]),
    );

    const timeline = f.timelineModule(dom, fmt, draw, markers, records).createTimeline(d, dom.byId('timeline-body', HTMLElement), onSelect);
    const curves = f.curvesModule(dom, fmt, UPlot).createCurves(d, dom.byId('curves-body', HTMLElement));
    findings = f.findingsViewModule(dom, fmt, pager).render(d, dom.byId('findings-body', HTMLElement), timeline);
    f.deviceTablesModule(dom, fmt, pager).render(d, dom.byId('devices-body', HTMLElement), timeline, curves);

    // Printing lays the page out at paper width: redraw the canvas for it.
    window.addEventListener('beforeprint', () => timeline.render());
    window.matchMedia('print').addEventListener('change', () => timeline.render());

    dom.byId('app', HTMLElement).setAttribute('aria-busy', 'false');
    root.dataset['ready'] = '1';
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    root.dataset['error'] = msg;
    const p = document.createElement('p');
    p.className = 'fatal';
    p.textContent = `This report could not be displayed: ${msg}`;
    document.body.insertBefore(p, document.body.firstChild);
  }
}
