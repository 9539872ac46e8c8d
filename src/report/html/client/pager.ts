// Page side: a table that renders one page of rows at a time, so a 100,000-session report
// keeps a small DOM while every row stays reachable (and every rendered row carries its
// data in data-* attributes). Inlined by its source text (client-bundle.ts).

import type { DomModule } from './dom.js';
import type { FormatModule } from './format.js';

export interface PagedTable {
  readonly root: HTMLElement;
  readonly tbody: HTMLTableSectionElement;
  /** Show the page holding row `i` of the current index list; returns the first rendered <tr> for it. */
  showRow(i: number): HTMLTableRowElement | undefined;
  /** Replace the list of row indexes (e.g. after filtering) and show its first page. */
  setRows(rows: ArrayLike<number>): void;
}

export function pagerModule(dom: DomModule, fmt: FormatModule) {
  const PAGE = 100;

  function pagedTable(opts: {
    readonly name: string;
    readonly caption: string;
    readonly columns: readonly string[];
    readonly rows: ArrayLike<number>;
    /** Rows for item i (a finding adds its detail row). The first one is the item's row. */
    readonly render: (i: number) => readonly HTMLTableRowElement[];
  }): PagedTable {
    let rows: ArrayLike<number> = opts.rows;
    let page = 0;
    const tbody = dom.el('tbody');
    const table = dom.el('table', { class: 'data', data: { table: opts.name } }, [
      dom.el('caption', { text: opts.caption }),
      dom.el('thead', {}, [dom.el('tr', {}, opts.columns.map((c) => dom.el('th', { text: c, attrs: { scope: 'col' } })))]),
      tbody,
    ]);
    const status = dom.el('span', { class: 'pager-status', attrs: { 'aria-live': 'polite' } });
    const btn = (label: string, aria: string, go: () => number): HTMLButtonElement => {
      const b = dom.el('button', { text: label, attrs: { type: 'button', 'aria-label': `${aria}: ${opts.caption}` } });
      b.addEventListener('click', () => show(go()));
      return b;
    };
    const pages = (): number => Math.max(1, Math.ceil(rows.length / PAGE));
    const first = btn('« First', 'First page', () => 0);
    const prev = btn('◀', 'Previous page', () => page - 1);
    const next = btn('▶', 'Next page', () => page + 1);
    const last = btn('Last »', 'Last page', () => pages() - 1);
    const nav = dom.el('div', { class: 'pager', attrs: { role: 'group', 'aria-label': `Pages of ${opts.caption}` } }, [first, prev, status, next, last]);
    const root = dom.el('div', { class: 'paged' }, [dom.el('div', { class: 'table-wrap' }, [table]), nav]);

    function show(p: number): void {
      page = Math.max(0, Math.min(pages() - 1, p));
      dom.clear(tbody);
      const lo = page * PAGE;
      const hi = Math.min(rows.length, lo + PAGE);
      for (let k = lo; k < hi; k++) for (const tr of opts.render(rows[k] ?? 0)) tbody.appendChild(tr);
      if (rows.length === 0) {
        tbody.appendChild(dom.el('tr', {}, [dom.el('td', { text: 'none', attrs: { colspan: String(opts.columns.length) } })]));
      }
      status.textContent = rows.length === 0 ? 'no rows' : `rows ${fmt.count(lo + 1)}–${fmt.count(hi)} of ${fmt.count(rows.length)}`;
      nav.classList.toggle('single', pages() <= 1);
      first.disabled = prev.disabled = page === 0;
      next.disabled = last.disabled = page >= pages() - 1;
    }
    show(0);

    return {
      root,
      tbody,
      showRow(i: number): HTMLTableRowElement | undefined {
        let k = -1;
        for (let j = 0; j < rows.length; j++) {
          if (rows[j] === i) {
            k = j;
            break;
          }
        }
        if (k < 0) return undefined;
        show(Math.floor(k / PAGE));
        for (const tr of Array.from(tbody.rows)) if (tr.dataset['row'] === String(i)) return tr;
        return undefined;
      },
      setRows(r: ArrayLike<number>): void {
        rows = r;
        show(0);
      },
    };
  }

  /** 0..n-1 */
  function range(n: number): Int32Array {
    const a = new Int32Array(n);
    for (let i = 0; i < n; i++) a[i] = i;
    return a;
  }

  return { pagedTable, range, PAGE };
}

export type PagerModule = ReturnType<typeof pagerModule>;
