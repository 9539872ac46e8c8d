// Page side: the summary at the top — verdict, devices, sessions and outcomes, time not
// running, bytes, findings by severity and blame, input health. Every number carries a
// data-stat attribute naming it, so tests compare it with the analysis. Inlined by its
// source text (client-bundle.ts).

import type { Decoded } from './decoded-types.js';
import type { DomModule } from './dom.js';
import type { FormatModule } from './format.js';

export function summaryViewModule(dom: DomModule, fmt: FormatModule) {
  function stat(name: string, value: string, text?: string): HTMLElement {
    return dom.el('span', { class: 'stat', data: { stat: name, value }, text: text ?? value });
  }

  function card(title: string, children: (Node | string)[]): HTMLElement {
    return dom.el('div', { class: 'card' }, [dom.el('h3', { text: title }), ...children]);
  }

  function line(...parts: (Node | string)[]): HTMLElement {
    return dom.el('p', {}, parts);
  }

  function render(d: Decoded, host: HTMLElement): void {
    const m = d.model;
    const s = m.summary;
    const errors = s.findings.error.vmm + s.findings.error.driver;
    const warnings = s.findings.warning.vmm + s.findings.warning.driver;
    const verdictText =
      s.verdict === 'failed'
        ? `Problems found: ${fmt.count(errors)} error finding(s), ${fmt.count(warnings)} warning(s), ${fmt.count(s.outcomes.failed)} failed session(s).`
        : s.verdict === 'warnings'
          ? `Warnings only: ${fmt.count(warnings)} warning finding(s), no errors, no failed sessions.`
          : 'No findings and no failed sessions.';
    host.appendChild(dom.el('p', { class: `verdict verdict-${s.verdict}`, data: { verdict: s.verdict }, attrs: { role: 'status' }, text: verdictText }));

    const outcomes = dom.el('ul', { class: 'outcomes' });
    for (const o of m.outcomes) {
      const dot = dom.el('span', { class: `dot outcome-${o}`, attrs: { 'aria-hidden': 'true' } });
      const n = Object.entries(s.outcomes).find(([k]) => k === o)?.[1] ?? 0;
      outcomes.appendChild(dom.el('li', {}, [dot, stat(`outcome-${o}`, String(n), fmt.count(n)), ` ${o}`]));
    }

    const fTable = dom.el('table', { class: 'data compact', data: { table: 'findings-by' } }, [
      dom.el('caption', { text: 'Findings by severity and blame' }),
      dom.el('thead', {}, [
        dom.el('tr', {}, [dom.el('th', { text: '' }), dom.el('th', { text: 'VMM', attrs: { scope: 'col' } }), dom.el('th', { text: 'driver', attrs: { scope: 'col' } })]),
      ]),
      dom.el(
        'tbody',
        {},
        (['error', 'warning'] as const).map((sev) =>
          dom.el('tr', {}, [
            dom.el('th', { text: sev, attrs: { scope: 'row' } }),
            dom.el('td', {}, [stat(`${sev}-vmm`, String(s.findings[sev].vmm))]),
            dom.el('td', {}, [stat(`${sev}-driver`, String(s.findings[sev].driver))]),
          ]),
        ),
      ),
    ]);

    const clock =
      m.clock.source === 'sync'
        ? 'wall clock from a clock-sync record'
        : m.clock.source === 'offset'
          ? 'wall clock from --clock-offset'
          : 'relative (no wall clock known)';
    const wallStart = fmt.wall(d, 0);
    const files = dom.el(
      'ul',
      { class: 'files' },
      m.input.files.map((f) =>
        dom.el('li', {}, [
          dom.el('code', { text: f.path }),
          ` (${f.format}${f.clock !== null ? `, clock ${f.clock}` : ''})`,
          ...(f.clockShift !== null ? [dom.el('div', { class: 'clock-shift', text: f.clockShift })] : []),
        ]),
      ),
    );
    const problems = dom.el(
      'ul',
      { class: 'problems' },
      m.input.problems.map((p) => dom.el('li', {}, [dom.el('code', { text: p.where }), ` ${p.message}`])),
    );
    if (m.input.problemsDropped > 0) problems.appendChild(dom.el('li', { text: `… and ${fmt.count(m.input.problemsDropped)} more` }));

    const grid = dom.el('div', { class: 'cards' }, [
      card('Devices', [
        line(stat('devices', String(s.devices)), ` device(s): v1 ${s.protocols.v1}, v2 ${s.protocols.v2}${s.protocols.unknown > 0 ? `, unknown ${s.protocols.unknown}` : ''}`),
        line(stat('state-writes', String(s.stateWrites), fmt.count(s.stateWrites)), ' state writes, ', stat('failed-writes', String(s.failedWrites), fmt.count(s.failedWrites)), ' failed'),
        line(stat('resets', String(s.resets)), ' reset(s)'),
      ]),
      card('Sessions', [
        line(stat('sessions-save', String(s.sessions.save), fmt.count(s.sessions.save)), ' save, ', stat('sessions-resume', String(s.sessions.resume), fmt.count(s.sessions.resume)), ' resume'),
        outcomes,
      ]),
      card('Time not running', [
        line(stat('not-running', s.notRunningNs, fmt.dur(Number(s.notRunningNs))), ' in all sessions'),
        line(stat('max-not-running', s.maxNotRunningNs, fmt.dur(Number(s.maxNotRunningNs))), ' longest single session'),
      ]),
      card('Bytes moved', [
        line(stat('bytes-save', String(s.bytes.save), fmt.bytes(s.bytes.save)), ' saved'),
        line(stat('bytes-resume', String(s.bytes.resume), fmt.bytes(s.bytes.resume)), ' resumed'),
      ]),
      card('Findings', [
        line(stat('findings', String(s.findings.total), fmt.count(s.findings.total)), ' finding(s), ', stat('uncertain', String(s.findings.uncertain)), ' uncertain'),
        fTable,
      ]),
      card('Input health', [
        line(stat('records', String(m.input.records), fmt.count(m.input.records)), ' records, ', stat('malformed', String(m.input.malformed), fmt.count(m.input.malformed)), ' malformed'),
        line(stat('lost-events', String(m.input.lostEvents), fmt.count(m.input.lostEvents)), ' lost events in ', stat('gaps', String(d.gaps.n)), ' gap(s)'),
        line('Clock: ', stat('clock-source', m.clock.source, clock), m.clock.clock !== null ? ` (trace clock ${m.clock.clock})` : ''),
        line('Trace span ', stat('span', String(m.span), fmt.dur(m.span)), `, starting at trace time ${m.t0} ns${wallStart !== undefined ? ` = ${wallStart}` : ''}`),
        files,
        problems,
      ]),
    ]);
    host.appendChild(grid);
  }

  return { render };
}

export type SummaryViewModule = ReturnType<typeof summaryViewModule>;
