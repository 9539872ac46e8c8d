// Page side: ReportModel (embedded JSON) → Decoded (typed arrays). Runs in the browser:
// this factory is inlined by its source text (client-bundle.ts), so it may use nothing
// from outside its own body.

import type { Column, ModelSources, ReportModel } from '../model-types.js';
import type { Decoded, DLane, DSources } from './decoded-types.js';

export function decodeModule() {
  /** A column as values, NaN for null (inverse of column() in column-codec.ts). */
  function expand(col: Column): Float64Array {
    if (Array.isArray(col)) {
      const out = new Float64Array(col.length);
      for (let i = 0; i < col.length; i++) {
        const v = col[i];
        out[i] = v === null || v === undefined ? NaN : v;
      }
      return out;
    }
    const rle = 'rle' in col ? col.rle : [];
    let n = 0;
    for (let k = 1; k < rle.length; k += 2) n += rle[k] ?? 0;
    const out = new Float64Array(n);
    let i = 0;
    for (let k = 0; k < rle.length; k += 2) {
      const v = rle[k];
      const c = rle[k + 1] ?? 0;
      out.fill(v === null || v === undefined ? NaN : v, i, i + c);
      i += c;
    }
    return out;
  }

  /** Inverse of delta(): NaN stays NaN and does not move the base. */
  function decodeDelta(col: Column): Float64Array {
    const out = expand(col);
    let prev = 0;
    for (let i = 0; i < out.length; i++) {
      const v = out[i] ?? NaN;
      if (!Number.isNaN(v)) {
        prev += v;
        out[i] = prev;
      }
    }
    return out;
  }

  /** Inverse of spans(). */
  function decodeSpans(startCol: Column, endCol: Column): { start: Float64Array; end: Float64Array } {
    const start = expand(startCol);
    const end = expand(endCol);
    let lastStart = 0;
    let prevEnd = NaN;
    for (let i = 0; i < start.length; i++) {
      const base = Number.isNaN(prevEnd) ? lastStart : prevEnd;
      const s = start[i] ?? NaN;
      const a = Number.isNaN(s) ? NaN : base + s;
      start[i] = a;
      if (!Number.isNaN(a)) lastStart = a;
      const e = end[i] ?? NaN;
      const b = Number.isNaN(e) ? NaN : (Number.isNaN(a) ? base : a) + e;
      end[i] = b;
      prevEnd = b;
    }
    return { start, end };
  }

  function decodeSources(s: ModelSources): DSources {
    return { file: Int32Array.from(expand(s.file)), line: decodeDelta(s.line), byteOffset: expand(s.byteOffset) };
  }

  /** Indexes with a known time, stably sorted by time. */
  function sortedKnown(ts: Float64Array, subset?: ArrayLike<number>): { order: Int32Array; orderTs: Float64Array } {
    const idx: number[] = [];
    const n = subset === undefined ? ts.length : subset.length;
    for (let k = 0; k < n; k++) {
      const i = subset === undefined ? k : (subset[k] ?? 0);
      if (!Number.isNaN(ts[i] ?? NaN)) idx.push(i);
    }
    idx.sort((a, b) => (ts[a] ?? 0) - (ts[b] ?? 0) || a - b);
    const order = Int32Array.from(idx);
    const orderTs = new Float64Array(order.length);
    for (let k = 0; k < order.length; k++) orderTs[k] = ts[order[k] ?? 0] ?? 0;
    return { order, orderTs };
  }

  /** Prefix offsets from per-item counts (length n + 1). */
  function offsets(col: Column): Int32Array {
    const counts = expand(col);
    const off = new Int32Array(counts.length + 1);
    for (let i = 0; i < counts.length; i++) off[i + 1] = (off[i] ?? 0) + (counts[i] ?? 0);
    return off;
  }

  function decode(model: ReportModel): Decoded {
    const span = Math.max(1, model.span);
    const MF = model.findings;
    const fTs = decodeDelta(MF.ts);
    const fLane = Int32Array.from(expand(MF.lane));
    const lanes: DLane[] = model.lanes.map((m, index) => {
      const I = m.intervals;
      const { start, end } = decodeSpans(I.start, I.end);
      const openAtEnd = new Uint8Array(I.count);
      for (const i of I.openAtEnd) openAtEnd[i] = 1;
      const drawA = new Float64Array(I.count);
      const drawB = new Float64Array(I.count);
      const maxB = new Float64Array(I.count);
      let prevEnd = 0;
      let runMax = -Infinity;
      for (let i = 0; i < I.count; i++) {
        const a = start[i] ?? NaN;
        const a2 = Number.isNaN(a) ? prevEnd : a;
        let b = end[i] ?? NaN;
        if (Number.isNaN(b)) {
          // An open or unknown end runs to the next interval's start, else to the trace end.
          const next = i + 1 < I.count ? (start[i + 1] ?? NaN) : NaN;
          b = Number.isNaN(next) ? span : next;
        }
        drawA[i] = a2;
        drawB[i] = Math.max(a2, b);
        prevEnd = drawB[i] ?? prevEnd;
        runMax = Math.max(runMax, drawB[i] ?? runMax);
        maxB[i] = runMax;
      }
      const W = m.writes;
      const wTs = decodeDelta(W.ts);
      const wSorted = sortedKnown(wTs);
      const S = m.sessions;
      const { start: sStart, end: sEnd } = decodeSpans(S.start, S.end);
      const sA = new Float64Array(S.count);
      const sB = new Float64Array(S.count);
      for (let i = 0; i < S.count; i++) {
        const a = sStart[i] ?? NaN;
        const b = sEnd[i] ?? NaN;
        sA[i] = Number.isNaN(a) ? (Number.isNaN(b) ? 0 : b) : a;
        sB[i] = Number.isNaN(b) ? span : Math.max(sA[i] ?? 0, b);
      }
      const laneFindings: number[] = [];
      for (let f = 0; f < MF.count; f++) if (fLane[f] === index) laneFindings.push(f);
      const fSorted = sortedKnown(fTs, laneFindings);
      return {
        index,
        model: m,
        iv: {
          n: I.count,
          state: Int32Array.from(expand(I.state)),
          raw: Int32Array.from(expand(I.raw)),
          start,
          end,
          drawA,
          drawB,
          maxB,
          openAtEnd,
          certainty: Uint8Array.from(expand(I.certainty)),
          bytes: expand(I.bytes),
          src: decodeSources(I.src),
        },
        w: {
          n: W.count,
          ts: wTs,
          from: Int32Array.from(expand(W.from)),
          fromRaw: Int32Array.from(expand(W.fromRaw)),
          to: Int32Array.from(expand(W.to)),
          toRaw: Int32Array.from(expand(W.toRaw)),
          result: Uint8Array.from(expand(W.result)),
          errno: Int32Array.from(expand(W.errno)),
          readBack: Int32Array.from(expand(W.readBack)),
          src: decodeSources(W.src),
          order: wSorted.order,
          orderTs: wSorted.orderTs,
        },
        ss: {
          n: S.count,
          kind: Uint8Array.from(expand(S.kind)),
          start: sStart,
          end: sEnd,
          drawA: sA,
          drawB: sB,
          outcome: Uint8Array.from(expand(S.outcome)),
          statesOff: offsets(S.statesCount),
          states: Int32Array.from(expand(S.states)),
          iterations: expand(S.iterations),
          bytes: expand(S.bytes),
          notRunningNs: expand(S.notRunningNs),
          pendingOff: offsets(S.pendingCount),
          pendingTs: decodeDelta(S.pendingTs),
          pendingBytes: expand(S.pendingBytes),
          pendingDropped: expand(S.pendingDropped),
          conv: {
            verdict: expand(S.conv.verdict),
            fits: expand(S.conv.fits),
            stopStart: expand(S.conv.stopStart),
            estimateBytes: expand(S.conv.estimateBytes),
            actualBytes: expand(S.conv.actualBytes),
            predictedNs: expand(S.conv.predictedNs),
            actualNs: expand(S.conv.actualNs),
            otherDevicesNs: expand(S.conv.otherDevicesNs),
            qemuDowntimeNs: expand(S.conv.qemuDowntimeNs),
            limitNs: expand(S.conv.limitNs),
            dominant: expand(S.conv.dominant),
          },
        },
        findingOrder: fSorted.order,
        findingTs: fSorted.orderTs,
      };
    });
    const gTs = decodeDelta(model.gaps.ts);
    const gSorted = sortedKnown(gTs);
    const rules = new Map<string, { title: string; description: string; specRef: string }>();
    for (const r of model.rules) rules.set(r.id, { title: r.title, description: r.description, specRef: r.specRef });
    return {
      model,
      t0: BigInt(model.t0),
      span,
      lanes,
      findings: {
        n: MF.count,
        rule: Int32Array.from(expand(MF.rule)),
        severity: Uint8Array.from(expand(MF.severity)),
        blame: Uint8Array.from(expand(MF.blame)),
        certainty: Uint8Array.from(expand(MF.certainty)),
        device: Int32Array.from(expand(MF.device)),
        lane: fLane,
        specRef: Int32Array.from(expand(MF.specRef)),
        message: MF.message,
        evidenceWhat: MF.evidenceWhat,
        evidenceText: MF.evidenceText ?? [],
        ts: fTs,
        evidenceOff: offsets(MF.evidenceCount),
        evidenceSrc: decodeSources(MF.evidenceSrc),
      },
      gaps: { n: model.gaps.count, ts: gTs, lost: Int32Array.from(expand(model.gaps.lost)), order: gSorted.order, orderTs: gSorted.orderTs, src: decodeSources(model.gaps.src) },
      rules,
    };
  }

  return { decode, decodeDelta, decodeSpans, expand };
}

export type DecodeModule = ReturnType<typeof decodeModule>;
