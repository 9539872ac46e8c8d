// Page side: the canvas part of the timeline — axis, state intervals, session strips and
// lost-event lines — with per-pixel bucketing so that a view holding 500,000 intervals
// costs one pass over them and one rectangle per pixel column. Markers are DOM buttons
// (markers.ts), not drawn here. Inlined by its source text (client-bundle.ts).

import type { Decoded, DIntervals } from './decoded-types.js';
import type { FormatModule } from './format.js';

export interface View {
  readonly v0: number;
  readonly v1: number;
}

export function timelineDrawModule(fmt: FormatModule) {
  /** Vertical layout in CSS px. Each device lane: write markers, state bar, session strip, finding markers. */
  const LAYOUT = { axisH: 26, inputH: 22, laneH: 66, writeY: 9, barY: 18, barH: 24, sessY: 44, sessH: 6, findY: 58 };

  /** First index k with a[k] >= x (a sorted ascending). */
  function lowerBound(a: ArrayLike<number>, x: number): number {
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((a[mid] ?? 0) < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First index k with a[k] > x. */
  function upperBound(a: ArrayLike<number>, x: number): number {
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((a[mid] ?? 0) <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Split the intervals in view into those wide enough to draw (≥ 1 px: flat list of
   * [index, x0, x1]) and per-column state coverage for the rest (cols[c * nStates + s] =
   * px of column c covered by state s).
   */
  function bucketIntervals(iv: Pick<DIntervals, 'n' | 'drawA' | 'drawB' | 'maxB' | 'state'>, view: View, width: number, nStates: number) {
    const scale = width / (view.v1 - view.v0);
    const wide: number[] = [];
    const cols = new Float64Array(Math.max(1, width) * nStates);
    const used = new Uint8Array(Math.max(1, width));
    // maxB is non-decreasing, so this finds the first interval that reaches into the view.
    let i = upperBound(iv.maxB, view.v0);
    for (; i < iv.n; i++) {
      const a = iv.drawA[i] ?? 0;
      if (a >= view.v1) break;
      const b = iv.drawB[i] ?? 0;
      if (b <= view.v0) continue;
      const x0 = (a - view.v0) * scale;
      const x1 = (b - view.v0) * scale;
      if (x1 - x0 >= 1) {
        wide.push(i, x0, x1);
        continue;
      }
      const s = iv.state[i] ?? 0;
      // A sub-pixel interval spans at most two columns.
      const c0 = Math.floor(x0);
      const c1 = Math.floor(x1);
      if (c0 === c1) {
        if (c0 >= 0 && c0 < width) {
          cols[c0 * nStates + s] = (cols[c0 * nStates + s] ?? 0) + (x1 - x0);
          used[c0] = 1;
        }
      } else {
        if (c0 >= 0 && c0 < width) {
          cols[c0 * nStates + s] = (cols[c0 * nStates + s] ?? 0) + (c1 - x0);
          used[c0] = 1;
        }
        if (c1 >= 0 && c1 < width) {
          cols[c1 * nStates + s] = (cols[c1 * nStates + s] ?? 0) + (x1 - c1);
          used[c1] = 1;
        }
      }
    }
    return { wide, cols, used };
  }

  /** Tick spacing of 1, 2 or 5 × 10^k ns giving about `target` ticks. */
  function niceStep(range: number, target: number): number {
    const raw = range / Math.max(1, target);
    const p = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1e-9))));
    const m = raw / p;
    const step = (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
    return Math.max(1, step);
  }

  let hatch: CanvasPattern | null = null;
  function hatchPattern(ctx: CanvasRenderingContext2D): CanvasPattern | null {
    if (hatch !== null) return hatch;
    const c = document.createElement('canvas');
    c.width = c.height = 8;
    const g = c.getContext('2d');
    if (g === null) return null;
    g.strokeStyle = 'rgba(0,0,0,0.35)';
    g.lineWidth = 1.5;
    g.beginPath();
    g.moveTo(0, 8);
    g.lineTo(8, 0);
    g.moveTo(-2, 2);
    g.lineTo(2, -2);
    g.moveTo(6, 10);
    g.lineTo(10, 6);
    g.stroke();
    hatch = ctx.createPattern(c, 'repeat');
    return hatch;
  }

  function laneTop(lane: number): number {
    return LAYOUT.axisH + LAYOUT.inputH + lane * LAYOUT.laneH;
  }

  function height(d: Decoded): number {
    return laneTop(d.lanes.length) + 4;
  }

  function draw(ctx: CanvasRenderingContext2D, d: Decoded, view: View, width: number, selectedTs: number): void {
    const H = height(d);
    const scale = width / (view.v1 - view.v0);
    const X = (t: number): number => (t - view.v0) * scale;
    const states = d.model.states;
    const nStates = states.length;
    ctx.clearRect(0, 0, width, H);
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, width, H);

    // Lane backgrounds.
    ctx.fillStyle = '#fff5f5';
    ctx.fillRect(0, LAYOUT.axisH, width, LAYOUT.inputH);
    d.lanes.forEach((_, li) => {
      ctx.fillStyle = li % 2 === 0 ? '#f8f9fa' : '#f1f3f5';
      ctx.fillRect(0, laneTop(li), width, LAYOUT.laneH);
    });

    // Axis and grid.
    const step = niceStep(view.v1 - view.v0, Math.max(2, Math.floor(width / 110)));
    ctx.font = '11px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'center';
    ctx.fillStyle = '#212529';
    for (let t = Math.ceil(view.v0 / step) * step; t <= view.v1; t += step) {
      const x = Math.round(X(t)) + 0.5;
      ctx.fillStyle = '#dee2e6';
      ctx.fillRect(x - 0.5, LAYOUT.axisH - 5, 1, H - LAYOUT.axisH + 5);
      ctx.fillStyle = '#212529';
      ctx.fillText(fmt.tick(t, step), x, LAYOUT.axisH / 2 - 2);
    }
    ctx.fillStyle = '#495057';
    ctx.fillRect(0, LAYOUT.axisH - 1, width, 1);

    const pattern = hatchPattern(ctx);
    for (const L of d.lanes) {
      const top = laneTop(L.index);
      const y = top + LAYOUT.barY;
      const h = LAYOUT.barH;
      const b = bucketIntervals(L.iv, view, width, nStates);
      for (let k = 0; k < b.wide.length; k += 3) {
        const i = b.wide[k] ?? 0;
        const x0 = Math.max(-2, b.wide[k + 1] ?? 0);
        const x1 = Math.min(width + 2, b.wide[k + 2] ?? 0);
        const w = x1 - x0 >= 4 ? x1 - x0 - 1 : x1 - x0; // a 1px seam shows where intervals meet
        const cert = L.iv.certainty[i] ?? 0;
        ctx.globalAlpha = cert === 1 ? 0.55 : 1;
        ctx.fillStyle = states[L.iv.state[i] ?? 0]?.color ?? '#adb5bd';
        ctx.fillRect(x0, y, w, h);
        ctx.globalAlpha = 1;
        if (cert === 2 && pattern !== null) {
          ctx.fillStyle = pattern;
          ctx.fillRect(x0, y, w, h);
        }
      }
      // Aggregated columns: the states' shares of the column, stacked; alarm states get at
      // least 3px so an ERROR never disappears at low zoom.
      for (let c = 0; c < width; c++) {
        if (b.used[c] !== 1) continue;
        let tot = 0;
        for (let s = 0; s < nStates; s++) tot += b.cols[c * nStates + s] ?? 0;
        if (tot <= 0) continue;
        let yy = y;
        for (let s = 0; s < nStates; s++) {
          const cov = b.cols[c * nStates + s] ?? 0;
          if (cov <= 0) continue;
          let hh = (h * cov) / tot;
          if (states[s]?.alarm === true) hh = Math.max(3, hh);
          hh = Math.min(hh, y + h - yy);
          ctx.fillStyle = states[s]?.color ?? '#adb5bd';
          ctx.fillRect(c, yy, 1, hh);
          yy += hh;
        }
      }

      // Sessions: the worst outcome per pixel column (failed > cancelled > incomplete > unknown > completed).
      const ss = L.ss;
      const rank = d.model.outcomes.map((o) => (o === 'failed' ? 4 : o === 'cancelled' ? 3 : o === 'incomplete' ? 2 : o === 'unknown' ? 1 : 0));
      const worst = new Int8Array(Math.max(1, width)).fill(-1);
      let first = lowerBound(ss.drawA, view.v0);
      while (first > 0 && (ss.drawB[first - 1] ?? 0) > view.v0) first--;
      for (let i = first; i < ss.n; i++) {
        const a = ss.drawA[i] ?? 0;
        if (a >= view.v1) break;
        const bb = ss.drawB[i] ?? 0;
        if (bb <= view.v0) continue;
        const o = ss.outcome[i] ?? 0;
        const c0 = Math.max(0, Math.floor(X(a)));
        const c1 = Math.min(width - 1, Math.max(c0, Math.ceil(X(bb)) - 1));
        for (let c = c0; c <= c1; c++) {
          const cur = worst[c] ?? -1;
          if (cur < 0 || (rank[o] ?? 0) > (rank[cur] ?? 0)) worst[c] = o;
        }
      }
      let runStart = 0;
      for (let c = 1; c <= width; c++) {
        if (c < width && worst[c] === worst[runStart]) continue;
        const o = worst[runStart] ?? -1;
        if (o >= 0) {
          ctx.fillStyle = d.model.outcomeColors[o] ?? '#adb5bd';
          ctx.fillRect(runStart, top + LAYOUT.sessY, c - runStart, LAYOUT.sessH);
        }
        runStart = c;
      }
      ctx.fillStyle = '#ced4da';
      ctx.fillRect(0, top + LAYOUT.laneH - 1, width, 1);
    }

    // Lost-event windows: a dashed line through every lane (the checker may mark findings
    // near them uncertain, DESIGN.md "Knowing versus guessing").
    ctx.strokeStyle = '#c92a2a';
    ctx.setLineDash([4, 3]);
    ctx.lineWidth = 1;
    const g0 = lowerBound(d.gaps.orderTs, view.v0);
    const g1 = upperBound(d.gaps.orderTs, view.v1);
    let lastX = -10;
    for (let k = g0; k < g1; k++) {
      const x = Math.round(X(d.gaps.orderTs[k] ?? 0)) + 0.5;
      if (x - lastX < 2) continue;
      lastX = x;
      ctx.beginPath();
      ctx.moveTo(x, LAYOUT.axisH);
      ctx.lineTo(x, H);
      ctx.stroke();
    }
    ctx.setLineDash([]);

    if (!Number.isNaN(selectedTs) && selectedTs >= view.v0 && selectedTs <= view.v1) {
      ctx.fillStyle = 'rgba(24,100,171,0.8)';
      ctx.fillRect(Math.round(X(selectedTs)), LAYOUT.axisH, 1, H - LAYOUT.axisH);
    }
  }

  return { LAYOUT, lowerBound, upperBound, bucketIntervals, niceStep, laneTop, height, draw };
}

export type TimelineDrawModule = ReturnType<typeof timelineDrawModule>;
