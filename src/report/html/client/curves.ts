// Page side: pending_bytes and bytes-moved curves of one migration session, drawn with
// uPlot (inlined by assets.ts). One chart at a time — a 100,000-session report cannot hold
// a chart per session — with a picker (device, session number, previous/next failed) and
// the chart's data as a table beside it, so it is readable without the canvas and in print.
// Inlined by its source text (client-bundle.ts).

import type uPlot from 'uplot';
import type { Decoded, DLane } from './decoded-types.js';
import type { DomModule } from './dom.js';
import type { FormatModule } from './format.js';

export interface Curves {
  show(lane: number, session: number): void;
}

export function curvesModule(dom: DomModule, fmt: FormatModule, UPlot: typeof uPlot) {
  const KIND = ['save', 'resume'];

  const VERDICTS = ['unknown', 'converging', 'stalled', 'growing'];
  const FITS = ['unknown', 'yes', 'no'];

  /**
   * The series of session s: x (relative ns), pending_bytes (null between samples),
   * cumulative bytes moved, and the prediction drawn over them: from the stop-copy entry,
   * the device's estimate falling to 0 at the predicted end (track/convergence.ts).
   */
  function series(L: DLane, s: number): { x: number[]; pending: (number | null)[]; moved: (number | null)[]; predicted: (number | null)[] } {
    const ss = L.ss;
    const a = ss.drawA[s] ?? 0;
    const b = ss.drawB[s] ?? 0;
    const pts = new Map<number, { p: number | null; m: number | null }>();
    const at = (t: number): { p: number | null; m: number | null } => {
      let e = pts.get(t);
      if (e === undefined) {
        e = { p: null, m: null };
        pts.set(t, e);
      }
      return e;
    };
    for (let k = ss.pendingOff[s] ?? 0; k < (ss.pendingOff[s + 1] ?? 0); k++) {
      const t = ss.pendingTs[k] ?? NaN;
      if (!Number.isNaN(t)) at(t).p = ss.pendingBytes[k] ?? 0;
    }
    // Bytes moved: the tracker counts data-path bytes per state interval, so the curve
    // steps at the end of each interval inside the session.
    const iv = L.iv;
    let cum = 0;
    at(a).m = 0;
    for (let i = 0; i < iv.n; i++) {
      const ia = iv.drawA[i] ?? 0;
      const ib = iv.drawB[i] ?? 0;
      if (ib <= a || ia >= b) continue;
      const by = iv.bytes[i] ?? 0;
      if (by === 0) continue;
      cum += by;
      at(Math.min(ib, b)).m = cum;
    }
    const c = ss.conv;
    const start = c.stopStart[s] ?? NaN;
    const est = c.estimateBytes[s] ?? NaN;
    const pred = c.predictedNs[s] ?? NaN;
    const prediction = new Map<number, number>();
    if (!Number.isNaN(start) && !Number.isNaN(est) && !Number.isNaN(pred)) {
      prediction.set(start, est);
      prediction.set(start + pred, 0);
      at(start);
      at(start + pred);
    }
    const x = Array.from(pts.keys()).sort((p, q) => p - q);
    return { x, pending: x.map((t) => pts.get(t)?.p ?? null), moved: x.map((t) => pts.get(t)?.m ?? null), predicted: x.map((t) => prediction.get(t) ?? null) };
  }

  /** The convergence facts of session s in words (empty for a session without an account). */
  function convergenceText(d: Decoded, L: DLane, s: number): string {
    const c = L.ss.conv;
    const v = c.verdict[s] ?? NaN;
    if (Number.isNaN(v)) return '';
    const known = (n: number | undefined, f: (x: number) => string): string => (n === undefined || Number.isNaN(n) ? 'unknown' : f(n));
    const dom = c.dominant[s] ?? NaN;
    return [
      `pre-copy ${VERDICTS[v] ?? '?'}`,
      `stop-copy estimate ${known(c.estimateBytes[s], fmt.bytes)}, moved ${known(c.actualBytes[s], fmt.bytes)}`,
      `predicted ${known(c.predictedNs[s], fmt.dur)}, actual ${known(c.actualNs[s], fmt.dur)}`,
      `limit ${known(c.limitNs[s], fmt.dur)} (fits ${FITS[c.fits[s] ?? 0] ?? '?'})`,
      Number.isNaN(dom) ? '' : `downtime dominated by ${d.model.strings[dom] ?? '?'}`,
    ]
      .filter((x) => x !== '')
      .join(' · ');
  }

  /**
   * The downtime split of session s as a bar: this device's stop-copy, the longest other
   * device's, QEMU's downtime, against the limit (a mark). Widths share one scale; each
   * segment also carries its figure as text, for print and screen readers.
   */
  function downtimeBar(L: DLane, s: number): HTMLElement | undefined {
    const c = L.ss.conv;
    const parts: { label: string; ns: number; cls: string }[] = [];
    const put = (label: string, v: number | undefined, cls: string): void => {
      if (v !== undefined && !Number.isNaN(v)) parts.push({ label, ns: v, cls });
    };
    put('this device\'s stop-copy', c.actualNs[s], 'dt-device');
    put('longest other device', c.otherDevicesNs[s], 'dt-other');
    put('QEMU downtime', c.qemuDowntimeNs[s], 'dt-qemu');
    if (parts.length === 0) return undefined;
    const limit = c.limitNs[s] ?? NaN;
    const max = Math.max(...parts.map((p) => p.ns), Number.isNaN(limit) ? 0 : limit) || 1;
    // Widths through the CSSOM (a style attribute would be refused: dom.ts, csp.ts).
    const row = (label: string, ns: number, cls: string): HTMLElement => {
      const barEl = dom.el('span', { class: `dt-bar ${cls}` });
      barEl.style.width = `${((100 * ns) / max).toFixed(2)}%`;
      return dom.el('div', { class: 'dt-row' }, [dom.el('span', { class: 'dt-label', text: `${label}: ${fmt.dur(ns)}` }), barEl]);
    };
    const rows = parts.map((p) => row(p.label, p.ns, p.cls));
    if (!Number.isNaN(limit)) rows.push(row('downtime limit', limit, 'dt-limit'));
    return dom.el('div', { class: 'downtime-split', data: { table: 'downtime' }, attrs: { role: 'group', 'aria-label': 'Downtime split' } }, [dom.el('h4', { text: 'Downtime split' }), ...rows]);
  }

  function createCurves(d: Decoded, host: HTMLElement): Curves {
    const laneSel = dom.el('select', { id: 'curve-device', attrs: { 'aria-label': 'Device' } });
    for (const L of d.lanes) laneSel.appendChild(dom.el('option', { text: L.model.id, attrs: { value: String(L.index) } }));
    const num = dom.el('input', { id: 'curve-session', attrs: { type: 'number', min: '1', step: '1', 'aria-label': 'Session number' } });
    const of = dom.el('span', { class: 'curve-of' });
    const mk = (text: string, act: () => void): HTMLButtonElement => {
      const b = dom.el('button', { text, attrs: { type: 'button' } });
      b.addEventListener('click', act);
      return b;
    };
    let lane = 0;
    let sess = 0;
    const step = (dir: number, onlyFailed: boolean): void => {
      const L = d.lanes[lane];
      if (L === undefined) return;
      for (let s = sess + dir; s >= 0 && s < L.ss.n; s += dir) {
        if (!onlyFailed || L.ss.outcome[s] === 1) {
          show(lane, s);
          return;
        }
      }
    };
    const picker = dom.el('div', { class: 'curve-picker no-print', attrs: { role: 'group', 'aria-label': 'Choose a session' } }, [
      dom.el('label', { text: 'Device ', attrs: { for: 'curve-device' } }),
      laneSel,
      dom.el('label', { text: ' session ', attrs: { for: 'curve-session' } }),
      num,
      of,
      mk('◀ Previous', () => step(-1, false)),
      mk('Next ▶', () => step(1, false)),
      mk('◀ Previous failed', () => step(-1, true)),
      mk('Next failed ▶', () => step(1, true)),
    ]);
    const heading = dom.el('h3', { id: 'curve-title' });
    const facts = dom.el('p', { class: 'curve-facts' });
    const chartBox = dom.el('div', { class: 'curve-chart', attrs: { role: 'img', 'aria-labelledby': 'curve-title' } });
    const tableBox = dom.el('div', { class: 'curve-table' });
    host.appendChild(picker);
    host.appendChild(heading);
    host.appendChild(facts);
    host.appendChild(chartBox);
    host.appendChild(tableBox);
    laneSel.addEventListener('change', () => show(Number(laneSel.value), 0));
    num.addEventListener('change', () => show(lane, Number(num.value) - 1));

    let plot: uPlot | undefined;

    function show(l: number, s: number): void {
      const L = d.lanes[l];
      if (L === undefined) return;
      lane = l;
      sess = Math.max(0, Math.min(L.ss.n - 1, Math.floor(s) || 0));
      laneSel.value = String(l);
      num.max = String(Math.max(1, L.ss.n));
      num.value = String(sess + 1);
      of.textContent = ` of ${fmt.count(L.ss.n)} `;
      plot?.destroy();
      plot = undefined;
      dom.clear(chartBox);
      dom.clear(tableBox);
      host.dataset['lane'] = String(l);
      host.dataset['session'] = String(sess);
      if (L.ss.n === 0) {
        heading.textContent = `Device ${L.model.id}: no migration sessions`;
        facts.textContent = '';
        return;
      }
      const ss = L.ss;
      const kind = KIND[ss.kind[sess] ?? 0] ?? '?';
      const outcome = d.model.outcomes[ss.outcome[sess] ?? 0] ?? '?';
      heading.textContent = `Device ${L.model.id}: ${kind} session ${sess + 1} (${outcome})`;
      const states: string[] = [];
      for (let k = ss.statesOff[sess] ?? 0; k < (ss.statesOff[sess + 1] ?? 0); k++) states.push(fmt.stateName(d, ss.states[k] ?? -1));
      const dropped = ss.pendingDropped[sess] ?? 0;
      facts.textContent = [
        `${fmt.relExact(ss.start[sess] ?? NaN)} … ${fmt.relExact(ss.end[sess] ?? NaN)}`,
        `states ${states.join(' → ')}`,
        `${fmt.count(ss.iterations[sess] ?? 0)} iterations`,
        `${fmt.bytes(ss.bytes[sess] ?? 0)} moved`,
        `not running ${fmt.dur(ss.notRunningNs[sess] ?? 0)}`,
        dropped > 0 ? `${fmt.count(dropped)} further pending_bytes samples not kept` : '',
        convergenceText(d, L, sess),
      ]
        .filter((x) => x !== '')
        .join(' · ');

      const data = series(L, sess);
      if (data.x.length < 2) {
        chartBox.appendChild(dom.el('p', { class: 'muted', text: 'Not enough samples in this session to draw curves.' }));
      } else {
        const w = Math.max(300, chartBox.clientWidth || host.clientWidth || 800);
        const opts: uPlot.Options = {
          width: w,
          height: 240,
          scales: { x: { time: false } },
          axes: [
            { values: (_u, vals, _axis, _space, incr) => vals.map((v) => fmt.tick(v, incr)), size: 40, space: 70 },
            { values: (_u, vals) => vals.map((v) => fmt.bytes(v)), size: 80 },
          ],
          series: [
            { label: 'time since trace start', value: (_u, v) => (v === null ? '–' : fmt.relExact(v)) },
            {
              label: 'pending_bytes',
              stroke: '#1c7ed6',
              width: 2,
              spanGaps: true,
              points: { show: true, size: 6 },
              paths: UPlot.paths.stepped?.({ align: 1 }),
              value: (_u, v) => (v === null ? '–' : fmt.bytes(v)),
            },
            {
              label: 'predicted stop-copy',
              stroke: '#c92a2a',
              dash: [6, 4],
              width: 2,
              spanGaps: true,
              points: { show: false },
              value: (_u, v) => (v === null ? '–' : fmt.bytes(v)),
            },
            {
              label: 'bytes moved',
              stroke: '#f08c00',
              fill: 'rgba(240,140,0,0.12)',
              width: 2,
              spanGaps: true,
              paths: UPlot.paths.stepped?.({ align: 1 }),
              value: (_u, v) => (v === null ? '–' : fmt.bytes(v)),
            },
          ],
        };
        plot = new UPlot(opts, [data.x, data.pending, data.predicted, data.moved], chartBox);
      }
      const bar = downtimeBar(L, sess);
      if (bar !== undefined) tableBox.appendChild(bar);
      // The same data as text: screen readers, print, and tests read it here.
      const rows = data.x.map((t, i) =>
        dom.el('tr', { data: { tsNs: fmt.absNs(d, t), pending: String(data.pending[i] ?? ''), predicted: String(data.predicted[i] ?? ''), moved: String(data.moved[i] ?? '') } }, [
          dom.el('td', { text: fmt.relExact(t) }),
          dom.el('td', { text: data.pending[i] === null ? '' : fmt.count(data.pending[i] ?? 0) }),
          dom.el('td', { text: data.predicted[i] === null ? '' : fmt.count(data.predicted[i] ?? 0) }),
          dom.el('td', { text: data.moved[i] === null ? '' : fmt.count(data.moved[i] ?? 0) }),
        ]),
      );
      const table = dom.el('table', { class: 'data compact', data: { table: 'curve' } }, [
        dom.el('caption', { text: 'Curve data (bytes)' }),
        dom.el('thead', {}, [dom.el('tr', {}, ['time', 'pending_bytes', 'predicted stop-copy', 'bytes moved'].map((c) => dom.el('th', { text: c, attrs: { scope: 'col' } })))]),
        dom.el('tbody', {}, rows),
      ]);
      const toggle = dom.el('button', { class: 'no-print', text: `Curve data (${rows.length} points)`, attrs: { type: 'button' } });
      const body = dom.el('div', {}, [table]);
      dom.disclosure(toggle, body, false);
      tableBox.appendChild(toggle);
      tableBox.appendChild(body);
    }

    new ResizeObserver(() => {
      if (plot !== undefined) plot.setSize({ width: Math.max(300, chartBox.clientWidth), height: 240 });
    }).observe(chartBox);

    // Start where a reader would: the first failed save session, else the first save session.
    let pick: [number, number] = [0, 0];
    let found = false;
    for (const want of [(L: DLane, s: number) => L.ss.outcome[s] === 1 && L.ss.kind[s] === 0, (L: DLane, s: number) => L.ss.kind[s] === 0]) {
      for (const L of d.lanes) {
        for (let s = 0; s < L.ss.n && !found; s++) {
          if (want(L, s)) {
            pick = [L.index, s];
            found = true;
          }
        }
      }
      if (found) break;
    }
    if (d.lanes.length > 0) show(pick[0], pick[1]);
    else host.appendChild(dom.el('p', { class: 'muted', text: 'No devices in this trace.' }));
    return { show };
  }

  return { createCurves, series };
}

export type CurvesModule = ReturnType<typeof curvesModule>;
