// Page side: the findings table. Each finding expands (a disclosure button) to its rule
// text, spec reference, blame, certainty and evidence lines (file:line), and can jump to its
// marker on the timeline. Paged (pager.ts) and filterable by severity and blame. Expanded
// details always print. Inlined by its source text (client-bundle.ts).

import type { Decoded } from './decoded-types.js';
import type { DomModule } from './dom.js';
import type { FormatModule } from './format.js';
import type { PagerModule } from './pager.js';
import type { Timeline } from './timeline.js';

export function findingsViewModule(dom: DomModule, fmt: FormatModule, pager: PagerModule) {
  const SEVERITY = ['error', 'warning'];
  const BLAME = ['vmm', 'driver'];
  const BLAME_TEXT = [
    'VMM: the user application driving the protocol (e.g. QEMU) did something the protocol does not allow.',
    'Driver: the vendor or kernel driver answered in a way the protocol does not allow.',
  ];
  const CERTAINTY_TEXT = [
    'Certain: the trace shows it.',
    'Uncertain: events were lost in this window, and the missing events could explain it.',
  ];
  const COLUMNS = ['', 'Severity', 'Rule', 'Blame', 'Device', 'Time', 'Message', 'Certainty'];

  function render(d: Decoded, host: HTMLElement, timeline: Timeline): { show(i: number): void } {
    const F = d.findings;
    const open = new Set<number>();
    const str = (i: number | undefined): string => d.model.strings[i ?? -1] ?? '';

    function detail(i: number, id: string): HTMLTableRowElement {
      const rule = str(F.rule[i]);
      const text = d.rules.get(rule);
      const ev = dom.el('ol', { class: 'evidence' });
      for (let k = d.findings.evidenceOff[i] ?? 0; k < (d.findings.evidenceOff[i + 1] ?? 0); k++) {
        const where = fmt.src(d, d.findings.evidenceSrc, k);
        const line = F.evidenceText[k];
        ev.appendChild(
          dom.el('li', { data: { src: where } }, [
            dom.el('code', { text: where }),
            ` — ${F.evidenceWhat[k] ?? ''}`,
            // the cited line itself, embedded: the report needs no trace file beside it
            ...(line !== undefined && line !== null ? [dom.el('pre', { class: 'ev-line', text: line })] : []),
          ]),
        );
      }
      const wallAt = fmt.wall(d, d.findings.ts[i] ?? NaN);
      const lane = F.lane[i] ?? -1;
      const jump = dom.el('button', { class: 'no-print', text: 'Show on timeline', attrs: { type: 'button' } });
      jump.disabled = lane < 0 || Number.isNaN(d.findings.ts[i] ?? NaN);
      jump.addEventListener('click', () => {
        document.getElementById('timeline')?.scrollIntoView();
        timeline.focusRecord('finding', lane, i);
      });
      const cell = dom.el('td', { attrs: { colspan: String(COLUMNS.length) } }, [
        dom.el('h4', { class: 'rule-title', text: text !== undefined ? `${rule}: ${text.title}` : rule }),
        dom.el('p', { class: 'rule-text', text: text !== undefined ? text.description : 'The rule text was not supplied with this report.' }),
        dom.fields([
          ['Spec reference', [str(F.specRef[i]), text !== undefined && text.specRef !== str(F.specRef[i]) ? text.specRef : ''].filter((x) => x !== '').join('; ')],
          ['Blame', BLAME_TEXT[F.blame[i] ?? 0] ?? ''],
          ['Certainty', CERTAINTY_TEXT[F.certainty[i] ?? 0] ?? ''],
          ['Message', F.message[i] ?? ''],
          ...(wallAt !== undefined ? [['Wall clock', wallAt] as const] : []),
        ]),
        dom.el('p', { class: 'ev-head', text: `Evidence (${(d.findings.evidenceOff[i + 1] ?? 0) - (d.findings.evidenceOff[i] ?? 0)} line(s) of the trace):` }),
        ev,
        jump,
      ]);
      const tr = dom.el('tr', { id, class: 'finding-detail', data: { detailFor: String(i) } }, [cell]);
      tr.classList.toggle('collapsed', !open.has(i));
      return tr;
    }

    function rows(i: number): HTMLTableRowElement[] {
      const sev = SEVERITY[F.severity[i] ?? 0] ?? '?';
      const rule = str(F.rule[i]);
      const id = `finding-detail-${i}`;
      const btn = dom.el('button', {
        class: 'expand',
        text: open.has(i) ? '▾' : '▸',
        attrs: { type: 'button', 'aria-expanded': String(open.has(i)), 'aria-controls': id, 'aria-label': `Details of finding ${i + 1}, ${rule}` },
      });
      const ts = d.findings.ts[i] ?? NaN;
      const main = dom.el(
        'tr',
        {
          class: `finding sev-${sev}`,
          data: {
            row: String(i),
            rule,
            severity: sev,
            blame: BLAME[F.blame[i] ?? 0] ?? '?',
            certainty: F.certainty[i] === 1 ? 'uncertain' : 'certain',
            device: str(F.device[i]),
            tsNs: fmt.absNs(d, ts),
          },
        },
        [
          dom.el('td', {}, [btn]),
          dom.el('td', {}, [dom.el('span', { class: `sev sev-${sev}`, text: sev })]),
          dom.el('td', {}, [dom.el('code', { text: rule })]),
          dom.el('td', { text: BLAME[F.blame[i] ?? 0] ?? '?' }),
          dom.el('td', { text: str(F.device[i]) }),
          dom.el('td', { class: 'num', text: fmt.relExact(ts) }),
          dom.el('td', { class: 'msg', text: F.message[i] ?? '' }),
          dom.el('td', { text: F.certainty[i] === 1 ? 'uncertain' : 'certain' }),
        ],
      );
      const det = detail(i, id);
      btn.addEventListener('click', () => {
        const now = !open.has(i);
        if (now) open.add(i);
        else open.delete(i);
        btn.setAttribute('aria-expanded', String(now));
        btn.textContent = now ? '▾' : '▸';
        det.classList.toggle('collapsed', !now);
      });
      return [main, det];
    }

    const table = pager.pagedTable({ name: 'findings', caption: `Findings (${fmt.count(F.n)})`, columns: COLUMNS, rows: pager.range(F.n), render: rows });

    // Filters: which severities and blames to list.
    const sevSel = dom.el('select', { id: 'filter-severity', attrs: { 'aria-label': 'Severity filter' } }, [
      dom.el('option', { text: 'all severities', attrs: { value: '' } }),
      dom.el('option', { text: 'errors', attrs: { value: '0' } }),
      dom.el('option', { text: 'warnings', attrs: { value: '1' } }),
    ]);
    const blameSel = dom.el('select', { id: 'filter-blame', attrs: { 'aria-label': 'Blame filter' } }, [
      dom.el('option', { text: 'any blame', attrs: { value: '' } }),
      dom.el('option', { text: 'VMM', attrs: { value: '0' } }),
      dom.el('option', { text: 'driver', attrs: { value: '1' } }),
    ]);
    const applyFilter = (): void => {
      const sv = sevSel.value;
      const bv = blameSel.value;
      const keep: number[] = [];
      for (let i = 0; i < F.n; i++) {
        if (sv !== '' && String(F.severity[i]) !== sv) continue;
        if (bv !== '' && String(F.blame[i]) !== bv) continue;
        keep.push(i);
      }
      table.setRows(keep);
    };
    sevSel.addEventListener('change', applyFilter);
    blameSel.addEventListener('change', applyFilter);
    const expandAll = dom.el('button', { text: 'Expand all on this page', attrs: { type: 'button' } });
    expandAll.addEventListener('click', () => {
      for (const b of Array.from(table.tbody.querySelectorAll('button.expand'))) if (b.getAttribute('aria-expanded') !== 'true' && b instanceof HTMLButtonElement) b.click();
    });
    host.appendChild(dom.el('div', { class: 'filters no-print', attrs: { role: 'group', 'aria-label': 'Filter findings' } }, [sevSel, blameSel, expandAll]));
    host.appendChild(table.root);

    return {
      show(i: number): void {
        sevSel.value = '';
        blameSel.value = '';
        table.setRows(pager.range(F.n));
        const tr = table.showRow(i);
        if (tr === undefined) return;
        const b = tr.querySelector('button.expand');
        if (b instanceof HTMLButtonElement && b.getAttribute('aria-expanded') !== 'true') b.click();
        tr.scrollIntoView({ block: 'center' });
        if (b instanceof HTMLButtonElement) b.focus({ preventScroll: true });
      },
    };
  }

  return { render };
}

export type FindingsViewModule = ReturnType<typeof findingsViewModule>;
