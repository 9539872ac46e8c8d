// Page side: the timeline's markers (state writes, findings, lost events) as real
// <button>s over the canvas, so they take keyboard focus, have accessible names and can be
// found by tests. Only the markers in view exist, and markers closer than BUCKET_PX merge
// into one "cluster" button, so a lane never holds more than width / BUCKET_PX of them.
// Inlined by its source text (client-bundle.ts).

import type { Decoded } from './decoded-types.js';
import type { DomModule } from './dom.js';
import type { FormatModule } from './format.js';
import type { MarkerKind, RecordViewModule, Target } from './record-view.js';
import type { TimelineDrawModule, View } from './timeline-draw.js';

export function markersModule(dom: DomModule, fmt: FormatModule, draw: TimelineDrawModule, records: RecordViewModule) {
  const BUCKET_PX = 10;
  const targets = new WeakMap<Element, Target>();

  /**
   * Greedy buckets over sorted times in view: a bucket starts at an item and takes every
   * later item less than bucketPx to its right. Returns flat [lo, hi) pairs into orderTs.
   */
  function bucketMarkers(orderTs: ArrayLike<number>, view: View, width: number, bucketPx: number): number[] {
    const scale = width / (view.v1 - view.v0);
    const lo = draw.lowerBound(orderTs, view.v0);
    const hi = draw.upperBound(orderTs, view.v1);
    const out: number[] = [];
    let k = lo;
    while (k < hi) {
      const limit = (orderTs[k] ?? 0) + bucketPx / scale;
      let j = k + 1;
      while (j < hi && (orderTs[j] ?? 0) < limit) j++;
      out.push(k, j);
      k = j;
    }
    return out;
  }

  function button(d: Decoded, kind: MarkerKind, lane: number, order: Int32Array, orderTs: Float64Array, lo: number, hi: number, view: View, width: number, y: number): HTMLButtonElement {
    const items: number[] = [];
    for (let k = lo; k < hi; k++) items.push(order[k] ?? 0);
    const t0 = orderTs[lo] ?? 0;
    const t1 = orderTs[hi - 1] ?? 0;
    const target: Target = { kind, lane, items, t0, t1 };
    const desc = records.describe(d, target);
    const x = ((t0 + t1) / 2 - view.v0) * (width / (view.v1 - view.v0));
    const cls = ['mk', `mk-${kind}`];
    const data: Record<string, string> = {
      kind,
      lane: String(lane),
      count: String(items.length),
      firstNs: fmt.absNs(d, t0),
      lastNs: fmt.absNs(d, t1),
    };
    if (items.length > 1) cls.push('mk-cluster');
    else data['index'] = String(items[0] ?? 0);
    if (kind === 'write') {
      const L = d.lanes[lane];
      let failed = 0;
      if (L !== undefined) for (const i of items) if (L.w.result[i] === 1) failed++;
      data['failed'] = String(failed);
      if (failed > 0) cls.push('mk-failed');
      if (items.length === 1 && L !== undefined) data['result'] = ['ok', 'failed', 'unknown'][L.w.result[items[0] ?? 0] ?? 2] ?? 'unknown';
    } else if (kind === 'finding') {
      let errors = 0;
      let uncertain = 0;
      for (const i of items) {
        if (d.findings.severity[i] === 0) errors++;
        if (d.findings.certainty[i] === 1) uncertain++;
      }
      cls.push(errors > 0 ? 'mk-error' : 'mk-warning');
      if (uncertain === items.length) cls.push('mk-uncertain');
      if (items.length === 1) data['rule'] = d.model.strings[d.findings.rule[items[0] ?? 0] ?? -1] ?? '';
    }
    const b = dom.el('button', { class: cls.join(' '), data, attrs: { type: 'button', 'aria-label': desc.label, tabindex: '-1' } });
    b.style.left = `${x.toFixed(1)}px`;
    b.style.top = `${y}px`;
    targets.set(b, target);
    return b;
  }

  /** Build the buttons of one lane's toolbar for the view. */
  function laneButtons(d: Decoded, lane: number, view: View, width: number): HTMLButtonElement[] {
    const L = draw.LAYOUT;
    const out: HTMLButtonElement[] = [];
    if (lane < 0) {
      const pairs = bucketMarkers(d.gaps.orderTs, view, width, BUCKET_PX);
      for (let k = 0; k < pairs.length; k += 2) out.push(button(d, 'gap', -1, d.gaps.order, d.gaps.orderTs, pairs[k] ?? 0, pairs[k + 1] ?? 0, view, width, L.inputH / 2));
      return out;
    }
    const D = d.lanes[lane];
    if (D === undefined) return out;
    const w = bucketMarkers(D.w.orderTs, view, width, BUCKET_PX);
    const f = bucketMarkers(D.findingTs, view, width, BUCKET_PX);
    // Writes and findings interleave by time so that arrow keys walk the lane left to right.
    const items: { x: number; make: () => HTMLButtonElement }[] = [];
    for (let k = 0; k < w.length; k += 2) {
      const lo = w[k] ?? 0;
      const hi = w[k + 1] ?? 0;
      items.push({ x: D.w.orderTs[lo] ?? 0, make: () => button(d, 'write', lane, D.w.order, D.w.orderTs, lo, hi, view, width, L.writeY) });
    }
    for (let k = 0; k < f.length; k += 2) {
      const lo = f[k] ?? 0;
      const hi = f[k + 1] ?? 0;
      items.push({ x: D.findingTs[lo] ?? 0, make: () => button(d, 'finding', lane, D.findingOrder, D.findingTs, lo, hi, view, width, L.findY) });
    }
    items.sort((a, b) => a.x - b.x);
    for (const it of items) out.push(it.make());
    return out;
  }

  function targetOf(e: Element): Target | undefined {
    return targets.get(e);
  }

  return { BUCKET_PX, bucketMarkers, laneButtons, targetOf };
}

export type MarkersModule = ReturnType<typeof markersModule>;
