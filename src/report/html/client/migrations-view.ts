// Page side: the `migrations` section (QMP and QEMU's own view of each migration), one
// block per migration with its facts as a definition list. Built with textContent only
// (dom.ts). Inlined by its source text (client-bundle.ts).

import type { ReportModel } from '../model-types.js';
import type { DomModule } from './dom.js';

export function migrationsViewModule(dom: DomModule) {
  function render(model: ReportModel, body: HTMLElement): void {
    dom.clear(body);
    if (model.migrations.length === 0) {
      body.appendChild(dom.el('p', { class: 'muted', text: 'No migration in these inputs (QMP MIGRATION events, query-migrate replies or QEMU migration trace events show one).' }));
      return;
    }
    for (const m of model.migrations) {
      const block = dom.el('article', { class: 'migration', data: { outcome: m.outcome } });
      block.appendChild(dom.el('h3', {}, [`${m.title} `, dom.el('span', { class: `outcome-text outcome-${m.outcome}`, text: m.outcome }), ` · ${m.when}`]));
      block.appendChild(dom.fields(m.facts.map(([k, v]) => [k, v] as const)));
      body.appendChild(block);
    }
  }
  return { render };
}
