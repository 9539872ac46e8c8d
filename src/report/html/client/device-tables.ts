// Page side: per device, the lane's full data as accessible tables — state intervals, state
// writes and sessions — paged (pager.ts), each row carrying its values in data-*
// attributes. This is the timeline's text equivalent: what the canvas shows, a screen
// reader, a printout and a test can read here. Inlined by its source text (client-bundle.ts).

import type { Curves } from './curves.js';
import type { Decoded, DLane } from './decoded-types.js';
import type { DomModule } from './dom.js';
import type { FormatModule } from './format.js';
import type { PagerModule } from './pager.js';
import type { Timeline } from './timeline.js';

export function deviceTablesModule(dom: DomModule, fmt: FormatModule, pager: PagerModule) {
  const CERT = ['known', 'inferred', 'unknown'];
  const RESULT = ['ok', 'failed', 'unknown'];
  const KIND = ['save', 'resume'];

  function td(text: string, cls?: string): HTMLTableCellElement {
    return dom.el('td', cls === undefined ? { text } : { text, class: cls });
  }

  function intervals(d: Decoded, L: DLane): HTMLElement {
    const iv = L.iv;
    return pager.pagedTable({
      name: 'intervals',
      caption: `State intervals of ${L.model.id} (${fmt.count(iv.n)})`,
      columns: ['#', 'State', 'Raw', 'Start', 'End', 'Duration', 'Certainty', 'Bytes', 'Record'],
      rows: pager.range(iv.n),
      render: (i) => {
        const a = iv.start[i] ?? NaN;
        const b = iv.end[i] ?? NaN;
        const state = fmt.stateName(d, iv.state[i] ?? -1);
        const src = fmt.src(d, iv.src, i);
        const swatch = dom.el('span', { class: 'swatch', attrs: { 'aria-hidden': 'true' } });
        swatch.style.background = d.model.states[iv.state[i] ?? -1]?.color ?? '#adb5bd';
        return [
          dom.el(
            'tr',
            {
              data: {
                row: String(i),
                state,
                raw: String(iv.raw[i] ?? -1),
                startNs: fmt.absNs(d, a),
                endNs: fmt.absNs(d, b),
                certainty: CERT[iv.certainty[i] ?? 0] ?? '?',
                bytes: String(iv.bytes[i] ?? 0),
                src,
              },
            },
            [
              td(String(i + 1), 'num'),
              dom.el('td', {}, [swatch, state]),
              td(fmt.raw(iv.raw[i] ?? -1)),
              td(fmt.relExact(a), 'num'),
              td(Number.isNaN(b) ? 'open' : iv.openAtEnd[i] === 1 ? `${fmt.relExact(b)} (trace end)` : fmt.relExact(b), 'num'),
              td(Number.isNaN(a) || Number.isNaN(b) ? '' : fmt.dur(b - a), 'num'),
              td(CERT[iv.certainty[i] ?? 0] ?? '?'),
              td(fmt.count(iv.bytes[i] ?? 0), 'num'),
              dom.el('td', {}, [dom.el('code', { text: src })]),
            ],
          ),
        ];
      },
    }).root;
  }

  function writes(d: Decoded, L: DLane, timeline: Timeline): HTMLElement {
    const w = L.w;
    return pager.pagedTable({
      name: 'writes',
      caption: `State writes of ${L.model.id} (${fmt.count(w.n)})`,
      columns: ['#', 'Time', 'From', 'To', 'Result', 'errno', 'Read back', 'Record', ''],
      rows: pager.range(w.n),
      render: (i) => {
        const ts = w.ts[i] ?? NaN;
        const res = w.result[i] ?? 2;
        const src = fmt.src(d, w.src, i);
        const from = fmt.stateName(d, w.from[i] ?? -1);
        const to = fmt.stateName(d, w.to[i] ?? -1);
        const show = dom.el('button', { class: 'no-print', text: 'Show', attrs: { type: 'button', 'aria-label': `Show write ${i + 1} on the timeline` } });
        show.disabled = Number.isNaN(ts);
        show.addEventListener('click', () => {
          document.getElementById('timeline')?.scrollIntoView();
          timeline.focusRecord('write', L.index, i);
        });
        return [
          dom.el(
            'tr',
            {
              class: res === 1 ? 'failed' : '',
              data: {
                row: String(i),
                tsNs: fmt.absNs(d, ts),
                from,
                to,
                fromRaw: String(w.fromRaw[i] ?? -1),
                toRaw: String(w.toRaw[i] ?? -1),
                result: RESULT[res] ?? '?',
                errno: String(w.errno[i] ?? 0),
                readBack: String(w.readBack[i] ?? -1),
                src,
              },
            },
            [
              td(String(i + 1), 'num'),
              td(fmt.relExact(ts), 'num'),
              td(`${from} (${fmt.raw(w.fromRaw[i] ?? -1)})`),
              td(`${to} (${fmt.raw(w.toRaw[i] ?? -1)})`),
              td(RESULT[res] ?? '?'),
              td(fmt.errno(w.errno[i] ?? 0)),
              td((w.readBack[i] ?? -1) < 0 ? '' : fmt.raw(w.readBack[i] ?? -1)),
              dom.el('td', {}, [dom.el('code', { text: src })]),
              dom.el('td', {}, [show]),
            ],
          ),
        ];
      },
    }).root;
  }

  function sessions(d: Decoded, L: DLane, curves: Curves): HTMLElement {
    const ss = L.ss;
    return pager.pagedTable({
      name: 'sessions',
      caption: `Migration sessions of ${L.model.id} (${fmt.count(ss.n)})`,
      columns: ['#', 'Kind', 'Outcome', 'Start', 'End', 'States', 'Iterations', 'Bytes', 'Not running', ''],
      rows: pager.range(ss.n),
      render: (i) => {
        const a = ss.start[i] ?? NaN;
        const b = ss.end[i] ?? NaN;
        const states: string[] = [];
        for (let k = ss.statesOff[i] ?? 0; k < (ss.statesOff[i + 1] ?? 0); k++) states.push(fmt.stateName(d, ss.states[k] ?? -1));
        const outcome = d.model.outcomes[ss.outcome[i] ?? 0] ?? '?';
        const btn = dom.el('button', { class: 'no-print', text: 'Curves', attrs: { type: 'button', 'aria-label': `Show curves of session ${i + 1}` } });
        btn.addEventListener('click', () => {
          curves.show(L.index, i);
          document.getElementById('curves')?.scrollIntoView();
        });
        return [
          dom.el(
            'tr',
            {
              class: `outcome-${outcome}`,
              data: {
                row: String(i),
                kind: KIND[ss.kind[i] ?? 0] ?? '?',
                outcome,
                startNs: fmt.absNs(d, a),
                endNs: fmt.absNs(d, b),
                states: states.join(','),
                iterations: String(ss.iterations[i] ?? 0),
                bytes: String(ss.bytes[i] ?? 0),
              },
            },
            [
              td(String(i + 1), 'num'),
              td(KIND[ss.kind[i] ?? 0] ?? '?'),
              dom.el('td', {}, [dom.el('span', { class: `dot outcome-${outcome}`, attrs: { 'aria-hidden': 'true' } }), ` ${outcome}`]),
              td(fmt.relExact(a), 'num'),
              td(Number.isNaN(b) ? 'open' : fmt.relExact(b), 'num'),
              td(states.join(' → ')),
              td(fmt.count(ss.iterations[i] ?? 0), 'num'),
              td(fmt.count(ss.bytes[i] ?? 0), 'num'),
              td(fmt.dur(ss.notRunningNs[i] ?? 0), 'num'),
              dom.el('td', {}, [btn]),
            ],
          ),
        ];
      },
    }).root;
  }

  function render(d: Decoded, host: HTMLElement, timeline: Timeline, curves: Curves): void {
    const total = d.lanes.reduce((n, L) => n + L.iv.n + L.w.n + L.ss.n, 0);
    for (const L of d.lanes) {
      const m = L.model;
      const body = dom.el('div', { class: 'device-body', id: `device-body-${L.index}` }, [
        dom.fields(
          [
            ['Device', m.id],
            ['Host', m.host ?? 'not named by its input'],
            ['Named by', m.naming],
            ['Protocol', m.protocol],
            ['Process', [m.comm ?? '', m.pid !== null ? `pid ${m.pid}` : ''].filter((x) => x !== '').join(', ') || 'unknown'],
            ['fd', String(m.fd)],
            ['Migration region', m.region ?? 'not seen'],
            ['Resets', String(m.resets)],
            ['Intervals not kept', m.intervalsDropped > 0 ? `${fmt.count(m.intervalsDropped)} (the tracker's per-device cap)` : 'none'],
          ],
          'fields inline',
        ),
        intervals(d, L),
        writes(d, L, timeline),
        sessions(d, L, curves),
      ]);
      const toggle = dom.el('button', { class: 'device-toggle', attrs: { type: 'button' } }, [
        dom.el('span', { class: 'dev-name', text: m.id }),
        ` — ${m.protocol}, ${fmt.count(L.iv.n)} intervals, ${fmt.count(L.w.n)} writes, ${fmt.count(L.ss.n)} sessions`,
      ]);
      // Small reports open every table; big ones stay collapsed until asked (they still print).
      dom.disclosure(toggle, body, total <= 600);
      host.appendChild(dom.el('section', { class: 'device', data: { lane: String(L.index), device: m.id }, attrs: { 'aria-label': `Data of device ${m.id}` } }, [dom.el('h3', {}, [toggle]), body]));
    }
    if (d.lanes.length === 0) host.appendChild(dom.el('p', { class: 'muted', text: 'No devices in this trace.' }));
  }

  return { render };
}

export type DeviceTablesModule = ReturnType<typeof deviceTablesModule>;
