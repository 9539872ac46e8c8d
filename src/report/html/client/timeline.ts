// Page side: the zoomable timeline — one lane per device (plus an input lane for lost
// events), drawn on a canvas (timeline-draw.ts) with DOM marker buttons on top
// (markers.ts). Owns the view (a time window), pan/zoom by pointer, wheel and keyboard, and
// the roving focus among markers (WAI-ARIA toolbar pattern: one Tab stop per lane, arrow
// keys inside). Inlined by its source text (client-bundle.ts).

import type { Decoded } from './decoded-types.js';
import type { DomModule } from './dom.js';
import type { FormatModule } from './format.js';
import type { MarkersModule } from './markers.js';
import type { MarkerKind, RecordViewModule, Target } from './record-view.js';
import type { TimelineDrawModule, View } from './timeline-draw.js';

export interface Timeline {
  /** Show [t0, t1] (relative ns), redrawing now. */
  zoomTo(t0: number, t1: number): void;
  /** Zoom until the record has its own marker, then focus that marker. */
  focusRecord(kind: MarkerKind, lane: number, index: number): boolean;
  /** Redraw now (e.g. before printing). */
  render(): void;
}

export function timelineModule(dom: DomModule, fmt: FormatModule, draw: TimelineDrawModule, markers: MarkersModule, records: RecordViewModule) {
  function createTimeline(d: Decoded, host: HTMLElement, onSelect: (t: Target) => void): Timeline {
    const L = draw.LAYOUT;
    const pad = d.span * 0.02;
    const full: View = { v0: -pad, v1: d.span + pad };
    const minWidth = 20; // ns: finer than any trace clock shows
    let view: View = full;
    let renders = 0;
    let selectedTs = NaN;
    /** Per toolbar (lane index, -1 = input): the "kind:item" of its roving Tab stop. */
    const current = new Map<number, string>();

    const btn = (text: string, label: string, key: string, act: () => void): HTMLButtonElement => {
      const b = dom.el('button', { text, attrs: { type: 'button', 'aria-label': label, 'aria-keyshortcuts': key } });
      b.addEventListener('click', act);
      return b;
    };
    const status = dom.el('span', { class: 'tl-status', attrs: { 'aria-live': 'polite' } });
    const toolbar = dom.el('div', { class: 'tl-toolbar no-print', attrs: { role: 'toolbar', 'aria-label': 'Timeline view' } }, [
      btn('+ Zoom in', 'Zoom in', '+', () => zoomBy(0.5)),
      btn('− Zoom out', 'Zoom out', '-', () => zoomBy(2)),
      btn('◀ Pan', 'Pan left', 'ArrowLeft', () => panBy(-0.2)),
      btn('Pan ▶', 'Pan right', 'ArrowRight', () => panBy(0.2)),
      btn('Reset', 'Show the whole trace', '0', () => setView(full, true)),
      status,
    ]);
    const help = dom.el('p', {
      id: 'tl-help',
      class: 'help no-print',
      text:
        'Drag to pan, scroll the wheel to zoom, double-click to zoom in. Keyboard: Tab reaches each lane’s markers; ← → move between markers, ↑ ↓ change lane, Enter zooms into a cluster, + and − zoom, 0 shows everything. Focusing or hovering a marker shows its record.',
    });

    const canvas = dom.el('canvas', { attrs: { 'aria-hidden': 'true' } });
    const overlay = dom.el('div', { class: 'tl-overlay' });
    const tip = dom.el('div', { class: 'tl-tip', attrs: { role: 'tooltip', id: 'tl-tip' } });
    tip.hidden = true;
    const plot = dom.el(
      'div',
      {
        class: 'tl-plot',
        attrs: {
          tabindex: '0',
          role: 'group',
          'aria-roledescription': 'timeline',
          'aria-label': `State timeline of ${d.lanes.length} device(s); arrow keys pan, + and − zoom`,
          'aria-describedby': 'tl-help',
        },
      },
      [canvas, overlay, tip],
    );

    const labels = dom.el('div', { class: 'tl-labels' });
    labels.appendChild(dom.el('div', { class: 'tl-label-axis', text: 'time since trace start' }));
    labels.appendChild(dom.el('div', { class: 'tl-label tl-label-input', text: `Input: lost events (${fmt.count(d.gaps.n)})` }));
    const toolbars = new Map<number, HTMLElement>();
    const mkToolbar = (lane: number, label: string, top: number, h: number): void => {
      const t = dom.el('div', { class: 'tl-lane-markers', data: { lane: String(lane) }, attrs: { role: 'toolbar', 'aria-label': label } });
      t.style.top = `${top}px`;
      t.style.height = `${h}px`;
      toolbars.set(lane, t);
      overlay.appendChild(t);
    };
    mkToolbar(-1, 'Lost-event markers', L.axisH, L.inputH);
    for (const lane of d.lanes) {
      const m = lane.model;
      const who = [m.host ?? undefined, m.protocol, m.comm ?? undefined, m.pid !== null ? `pid ${m.pid}` : undefined, `fd ${m.fd}`].filter((x) => x !== undefined).join(' · ');
      const lab = dom.el('div', { class: 'tl-label', data: { lane: String(lane.index), device: m.id }, title: m.id }, [
        dom.el('strong', { class: 'tl-dev', text: m.id }),
        dom.el('span', { class: 'tl-who', text: who }),
        dom.el('span', { class: 'tl-counts', text: `${fmt.count(lane.iv.n)} intervals${m.intervalsDropped > 0 ? ` (+${fmt.count(m.intervalsDropped)} not kept)` : ''} · ${fmt.count(lane.w.n)} writes · ${fmt.count(lane.ss.n)} sessions` }),
      ]);
      labels.appendChild(lab);
      mkToolbar(lane.index, `Markers of device ${m.id}: state writes above the bar, findings below`, draw.laneTop(lane.index), L.laneH);
    }
    const tl = dom.el('div', { class: 'tl', data: { lanes: String(d.lanes.length) } }, [labels, plot]);
    host.appendChild(toolbar);
    host.appendChild(help);
    host.appendChild(tl);

    const H = draw.height(d);
    labels.style.height = `${H}px`;
    plot.style.height = `${H}px`;

    function width(): number {
      return Math.max(50, Math.floor(plot.clientWidth));
    }

    function render(): void {
      const w = width();
      const dpr = window.devicePixelRatio || 1;
      if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(H * dpr)) {
        canvas.width = Math.round(w * dpr);
        canvas.height = Math.round(H * dpr);
        canvas.style.width = `${w}px`;
        canvas.style.height = `${H}px`;
      }
      const ctx = canvas.getContext('2d');
      if (ctx !== null) {
        ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
        draw.draw(ctx, d, view, w, selectedTs);
      }
      rebuildMarkers(w);
      renders++;
      tl.dataset['renders'] = String(renders);
      tl.dataset['viewStartNs'] = fmt.absNs(d, Math.round(view.v0));
      tl.dataset['viewEndNs'] = fmt.absNs(d, Math.round(view.v1));
      const zoom = (full.v1 - full.v0) / (view.v1 - view.v0);
      status.textContent = `${fmt.relExact(view.v0)} … ${fmt.relExact(view.v1)} (${zoom < 10 ? zoom.toFixed(1) : fmt.count(Math.round(zoom))}×)`;
    }

    function rebuildMarkers(w: number): void {
      const active = document.activeElement;
      const focused = active instanceof HTMLElement && overlay.contains(active) ? markers.targetOf(active) : undefined;
      let refocus: HTMLButtonElement | undefined;
      for (const [lane, t] of toolbars) {
        dom.clear(t);
        const buttons = markers.laneButtons(d, lane, view, w);
        const want = current.get(lane);
        let stop: HTMLButtonElement | undefined;
        for (const b of buttons) {
          t.appendChild(b);
          const tg = markers.targetOf(b);
          if (tg === undefined) continue;
          if (want !== undefined && stop === undefined && tg.items.some((i) => `${tg.kind}:${i}` === want)) stop = b;
          if (focused !== undefined && focused.lane === lane && tg.kind === focused.kind && tg.items.includes(focused.items[0] ?? -1)) refocus = b;
        }
        const s = stop ?? buttons[0];
        if (s !== undefined) s.tabIndex = 0;
      }
      if (refocus !== undefined) refocus.focus({ preventScroll: true });
      else if (focused !== undefined) plot.focus({ preventScroll: true });
    }

    let pending = false;
    function schedule(): void {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        render();
      });
    }

    function clamp(v: View): View {
      let w = Math.max(minWidth, Math.min(full.v1 - full.v0, v.v1 - v.v0));
      let v0 = (v.v0 + v.v1) / 2 - w / 2;
      if (v0 < full.v0) v0 = full.v0;
      if (v0 + w > full.v1) v0 = full.v1 - w;
      w = Math.min(w, full.v1 - full.v0);
      return { v0, v1: v0 + w };
    }

    function setView(v: View, now: boolean): void {
      view = clamp(v);
      if (now) render();
      else schedule();
    }

    /** Zoom by `factor` (< 1 zooms in) keeping the time at fraction `at` of the width fixed. */
    function zoomBy(factor: number, at = 0.5, now = true): void {
      const w = view.v1 - view.v0;
      const t = view.v0 + w * at;
      const nw = w * factor;
      setView({ v0: t - nw * at, v1: t - nw * at + nw }, now);
    }

    function panBy(frac: number, now = true): void {
      const w = view.v1 - view.v0;
      setView({ v0: view.v0 + w * frac, v1: view.v1 + w * frac }, now);
    }

    function zoomTo(t0: number, t1: number): void {
      const w = Math.max(minWidth, t1 - t0);
      setView({ v0: t0 - w * 0.1, v1: t1 + w * 0.1 }, true);
    }

    function findButton(kind: MarkerKind, lane: number, index: number): HTMLButtonElement | undefined {
      const t = toolbars.get(lane);
      if (t === undefined) return undefined;
      for (const b of Array.from(t.querySelectorAll('button'))) {
        const tg = markers.targetOf(b);
        if (tg !== undefined && tg.kind === kind && tg.items.includes(index)) return b;
      }
      return undefined;
    }

    function focusRecord(kind: MarkerKind, lane: number, index: number): boolean {
      const ts = kind === 'write' ? d.lanes[lane]?.w.ts[index] : kind === 'finding' ? d.findings.ts[index] : d.gaps.ts[index];
      if (ts === undefined || Number.isNaN(ts)) return false;
      let w = Math.min(view.v1 - view.v0, Math.max(d.span / 50, 2000));
      for (let k = 0; k < 40; k++) {
        setView({ v0: ts - w / 2, v1: ts + w / 2 }, true);
        const b = findButton(kind, lane, index);
        if (b === undefined) return false;
        const tg = markers.targetOf(b);
        if (tg === undefined || tg.items.length === 1 || w <= minWidth) {
          current.set(lane, `${kind}:${index}`);
          b.focus();
          return true;
        }
        w /= 4;
      }
      return false;
    }

    // Tooltip and selection.
    function showTip(b: HTMLElement): void {
      const tg = markers.targetOf(b);
      if (tg === undefined) return;
      const desc = records.describe(d, tg);
      dom.clear(tip);
      tip.appendChild(dom.el('strong', { text: desc.title }));
      tip.appendChild(dom.fields(desc.fields.filter(([k]) => k !== 'Trace clock' && k !== 'Wall clock')));
      tip.hidden = false;
      // Fixed to the viewport so that the plot's clipping never cuts it; below the marker
      // when it fits, else above.
      const r = b.getBoundingClientRect();
      const tw = tip.offsetWidth;
      const th = tip.offsetHeight;
      const left = Math.max(4, Math.min(window.innerWidth - tw - 4, r.left + r.width / 2 - tw / 2));
      const below = r.bottom + 8;
      const top = below + th <= window.innerHeight ? below : Math.max(4, r.top - th - 8);
      tip.style.left = `${left}px`;
      tip.style.top = `${top}px`;
    }
    function hideTip(): void {
      tip.hidden = true;
    }

    overlay.addEventListener('mouseover', (e) => {
      if (e.target instanceof HTMLButtonElement) showTip(e.target);
    });
    overlay.addEventListener('mouseout', (e) => {
      if (e.target instanceof HTMLButtonElement && document.activeElement !== e.target) hideTip();
    });
    overlay.addEventListener('focusin', (e) => {
      const b = e.target;
      if (!(b instanceof HTMLButtonElement)) return;
      const tg = markers.targetOf(b);
      if (tg === undefined) return;
      // Roving tabindex: the focused marker becomes its lane's Tab stop.
      const bar = b.parentElement;
      if (bar !== null) for (const o of Array.from(bar.querySelectorAll('button'))) o.tabIndex = o === b ? 0 : -1;
      current.set(tg.lane, `${tg.kind}:${tg.items[0] ?? 0}`);
      b.setAttribute('aria-describedby', 'tl-tip');
      showTip(b);
      selectedTs = (tg.t0 + tg.t1) / 2;
      onSelect(tg);
    });
    overlay.addEventListener('focusout', () => hideTip());
    overlay.addEventListener('click', (e) => {
      const b = e.target;
      if (!(b instanceof HTMLButtonElement)) return;
      const tg = markers.targetOf(b);
      if (tg === undefined) return;
      if (tg.items.length > 1) {
        current.set(tg.lane, `${tg.kind}:${tg.items[0] ?? 0}`);
        zoomTo(tg.t0, tg.t1);
        findButton(tg.kind, tg.lane, tg.items[0] ?? 0)?.focus();
      } else {
        b.focus();
        onSelect(tg);
      }
    });

    function moveFocus(b: HTMLButtonElement, key: string): boolean {
      const bar = b.parentElement;
      if (bar === null) return false;
      const list = Array.from(bar.querySelectorAll('button'));
      const i = list.indexOf(b);
      let next: HTMLButtonElement | undefined;
      if (key === 'ArrowRight') next = list[i + 1];
      else if (key === 'ArrowLeft') next = list[i - 1];
      else if (key === 'Home') next = list[0];
      else if (key === 'End') next = list[list.length - 1];
      else if (key === 'ArrowDown' || key === 'ArrowUp') {
        const bars = Array.from(toolbars.values());
        const j = bars.indexOf(bar);
        const step = key === 'ArrowDown' ? 1 : -1;
        const x = b.offsetLeft;
        for (let k = j + step; k >= 0 && k < bars.length; k += step) {
          const cand = Array.from(bars[k]?.querySelectorAll('button') ?? []);
          if (cand.length === 0) continue;
          next = cand.reduce((best, c) => (Math.abs(c.offsetLeft - x) < Math.abs(best.offsetLeft - x) ? c : best));
          break;
        }
      } else return false;
      next?.focus();
      return true;
    }

    function zoomKeys(e: KeyboardEvent, at: number): boolean {
      if (e.key === '+' || e.key === '=') zoomBy(0.5, at);
      else if (e.key === '-' || e.key === '_') zoomBy(2, at);
      else if (e.key === '0') setView(full, true);
      else return false;
      return true;
    }

    overlay.addEventListener('keydown', (e) => {
      const b = e.target;
      if (!(b instanceof HTMLButtonElement)) return;
      const at = (b.offsetLeft + 0.5) / width();
      if (moveFocus(b, e.key) || zoomKeys(e, at)) {
        e.preventDefault();
        e.stopPropagation();
      } else if (e.key === 'Escape') hideTip();
    });
    plot.addEventListener('keydown', (e) => {
      if (e.target !== plot) return;
      if (e.key === 'ArrowLeft') panBy(-0.1);
      else if (e.key === 'ArrowRight') panBy(0.1);
      else if (!zoomKeys(e, 0.5)) return;
      e.preventDefault();
    });
    plot.addEventListener(
      'wheel',
      (e) => {
        e.preventDefault();
        const r = plot.getBoundingClientRect();
        const at = Math.max(0, Math.min(1, (e.clientX - r.left) / r.width));
        if (Math.abs(e.deltaX) > Math.abs(e.deltaY)) panBy(e.deltaX / r.width, false);
        else zoomBy(Math.exp(e.deltaY * 0.002), at, false);
      },
      { passive: false },
    );
    plot.addEventListener('dblclick', (e) => {
      if (e.target instanceof HTMLButtonElement) return;
      const r = plot.getBoundingClientRect();
      zoomBy(0.5, (e.clientX - r.left) / r.width);
    });
    let drag: { x: number; view: View; id: number } | undefined;
    plot.addEventListener('pointerdown', (e) => {
      if (e.target instanceof HTMLButtonElement || e.button !== 0) return;
      drag = { x: e.clientX, view, id: e.pointerId };
      plot.setPointerCapture(e.pointerId);
      plot.classList.add('dragging');
    });
    plot.addEventListener('pointermove', (e) => {
      if (drag === undefined || e.pointerId !== drag.id) return;
      const dt = ((e.clientX - drag.x) / width()) * (drag.view.v1 - drag.view.v0);
      setView({ v0: drag.view.v0 - dt, v1: drag.view.v1 - dt }, false);
    });
    const endDrag = (e: PointerEvent): void => {
      if (drag === undefined || e.pointerId !== drag.id) return;
      drag = undefined;
      plot.classList.remove('dragging');
    };
    plot.addEventListener('pointerup', endDrag);
    plot.addEventListener('pointercancel', endDrag);

    let lastW = 0;
    new ResizeObserver(() => {
      const w = width();
      if (w !== lastW) {
        lastW = w;
        schedule();
      }
    }).observe(plot);
    render();
    lastW = width();

    return { zoomTo, focusRecord, render };
  }

  return { createTimeline };
}

export type TimelineModule = ReturnType<typeof timelineModule>;
