// Page side: what a selected or hovered marker shows — the record behind it, as label/value
// pairs. The same description feeds the tooltip, the "Selected record" panel and the
// marker's accessible name. Inlined by its source text (client-bundle.ts).

import type { Decoded } from './decoded-types.js';
import type { FormatModule } from './format.js';

export type MarkerKind = 'write' | 'finding' | 'gap';

/** What a marker stands for: one record, or a bucket of several at low zoom. */
export interface Target {
  readonly kind: MarkerKind;
  /** Lane index (-1 for the input lane). */
  readonly lane: number;
  /** Record indexes (write index within the lane, or global finding / gap index). */
  readonly items: readonly number[];
  /** Time range the items span (relative ns). */
  readonly t0: number;
  readonly t1: number;
}

export interface Description {
  readonly title: string;
  /** A one-line accessible name. */
  readonly label: string;
  readonly fields: readonly (readonly [string, string])[];
}

export function recordViewModule(fmt: FormatModule) {
  const RESULT = ['ok', 'failed', 'unknown (exit not seen)'];
  const SEVERITY = ['error', 'warning'];
  const BLAME = ['VMM', 'driver'];
  const CERTAINTY = ['certain', 'uncertain (events were lost in this window)'];

  function times(d: Decoded, rel: number): (readonly [string, string])[] {
    const out: (readonly [string, string])[] = [
      ['Time', fmt.relExact(rel)],
      ['Trace clock', `${fmt.absNs(d, rel)} ns`],
    ];
    const w = fmt.wall(d, rel);
    if (w !== undefined) out.push(['Wall clock', w]);
    return out;
  }

  function write(d: Decoded, lane: number, i: number): Description {
    const L = d.lanes[lane];
    if (L === undefined) return { title: '?', label: '?', fields: [] };
    const w = L.w;
    const from = fmt.stateName(d, w.from[i] ?? -1);
    const to = fmt.stateName(d, w.to[i] ?? -1);
    const res = w.result[i] ?? 2;
    const errno = w.errno[i] ?? 0;
    const rb = w.readBack[i] ?? -1;
    const ts = w.ts[i] ?? NaN;
    const fields: (readonly [string, string])[] = [
      ['Device', L.model.id],
      ['Transition', `${from} (${fmt.raw(w.fromRaw[i] ?? -1)}) → ${to} (${fmt.raw(w.toRaw[i] ?? -1)})`],
      ['Result', RESULT[res] ?? '?'],
    ];
    if (errno !== 0) fields.push(['errno', fmt.errno(errno)]);
    if (rb >= 0) fields.push(['Read back', fmt.raw(rb)]);
    fields.push(...times(d, ts), ['Record', fmt.src(d, w.src, i)]);
    const title = `State write ${from} → ${to}${res === 1 ? ' FAILED' : ''}`;
    return { title, label: `${title}${errno !== 0 ? ` ${fmt.errno(errno)}` : ''} at ${fmt.relExact(ts)}, ${fmt.src(d, w.src, i)}`, fields };
  }

  function finding(d: Decoded, i: number): Description {
    const F = d.findings;
    const rule = d.model.strings[F.rule[i] ?? -1] ?? '?';
    const sev = SEVERITY[F.severity[i] ?? 0] ?? '?';
    const ts = d.findings.ts[i] ?? NaN;
    const ev: string[] = [];
    for (let k = d.findings.evidenceOff[i] ?? 0; k < (d.findings.evidenceOff[i + 1] ?? 0); k++) {
      ev.push(`${fmt.src(d, d.findings.evidenceSrc, k)} — ${F.evidenceWhat[k] ?? ''}`);
    }
    const fields: (readonly [string, string])[] = [
      ['Rule', rule],
      ['Severity', sev],
      ['Blame', BLAME[F.blame[i] ?? 0] ?? '?'],
      ['Certainty', CERTAINTY[F.certainty[i] ?? 0] ?? '?'],
      ['Device', d.model.strings[F.device[i] ?? -1] ?? '?'],
      ['Message', F.message[i] ?? ''],
      ['Spec', d.model.strings[F.specRef[i] ?? -1] ?? ''],
      ...times(d, ts),
      ['Evidence', ev.join('\n')],
    ];
    const title = `Finding ${rule} (${sev})`;
    return { title, label: `${title}: ${F.message[i] ?? ''} at ${fmt.relExact(ts)}`, fields };
  }

  function gap(d: Decoded, i: number): Description {
    const lost = d.gaps.lost[i] ?? -1;
    const ts = d.gaps.ts[i] ?? NaN;
    const title = `Lost events: ${lost < 0 ? 'count unknown' : fmt.count(lost)}`;
    return {
      title,
      label: `${title} at ${fmt.relExact(ts)}, ${fmt.src(d, d.gaps.src, i)}`,
      fields: [['Lost', lost < 0 ? 'unknown (the tracer did not say)' : fmt.count(lost)], ...times(d, ts), ['Record', fmt.src(d, d.gaps.src, i)]],
    };
  }

  function describe(d: Decoded, t: Target): Description {
    const first = t.items[0] ?? 0;
    if (t.items.length === 1) {
      switch (t.kind) {
        case 'write':
          return write(d, t.lane, first);
        case 'finding':
          return finding(d, first);
        case 'gap':
          return gap(d, first);
      }
    }
    const n = t.items.length;
    const noun = t.kind === 'write' ? 'state writes' : t.kind === 'finding' ? 'findings' : 'lost-event records';
    let detail = '';
    if (t.kind === 'write') {
      const L = d.lanes[t.lane];
      let failed = 0;
      if (L !== undefined) for (const i of t.items) if (L.w.result[i] === 1) failed++;
      detail = failed > 0 ? `, ${failed} failed` : '';
    } else if (t.kind === 'finding') {
      let errors = 0;
      for (const i of t.items) if (d.findings.severity[i] === 0) errors++;
      detail = errors > 0 ? `, ${errors} errors` : '';
    }
    const title = `${fmt.count(n)} ${noun}${detail}`;
    const range = `${fmt.relExact(t.t0)} … ${fmt.relExact(t.t1)}`;
    return {
      title,
      label: `${title} between ${range}; press Enter to zoom in`,
      fields: [
        ['Count', fmt.count(n)],
        ['From', fmt.relExact(t.t0)],
        ['To', fmt.relExact(t.t1)],
        ['Zoom', 'Enter or click zooms to these records'],
      ],
    };
  }

  return { describe };
}

export type RecordViewModule = ReturnType<typeof recordViewModule>;
