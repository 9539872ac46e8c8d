// A finding is only as good as the records around its evidence (DESIGN.md "Knowing versus
// guessing"): a lost-events window or a malformed record next to the evidence could hide
// the record that explains it. Such a finding is reported `uncertain`, and the window or the
// malformed line is cited with the evidence, so the reader sees why.

import type { Source } from '../record/types.js';
import type { Evidence, Finding } from './types.js';

/** Where a lost-events window or a malformed record is. */
export interface InputMark {
  readonly src: Source;
  readonly tsNs: bigint | undefined;
  readonly what: string;
}

/** Lines either side of the evidence that count as "next to" it (text inputs). */
const LINES_NEAR = 2;
/** Bytes either side that count as next to it (binary inputs: about one ring-buffer page). */
const BYTES_NEAR = 4096;
/** Trace time either side (inputs whose records are ordered by time, not by position: per-CPU buffers). */
const NS_NEAR = 1_000_000n;

function near(m: InputMark, ev: readonly Evidence[], tsNs: bigint | undefined): boolean {
  const same = ev.filter((e) => e.src.file === m.src.file);
  if (same.length === 0) return false;
  const lines = same.flatMap((e) => (e.src.line !== undefined ? [e.src.line] : []));
  if (m.src.line !== undefined && lines.length > 0 && m.src.line >= Math.min(...lines) - LINES_NEAR && m.src.line <= Math.max(...lines) + LINES_NEAR) return true;
  const offs = same.flatMap((e) => (e.src.byteOffset !== undefined ? [e.src.byteOffset] : []));
  if (m.src.byteOffset !== undefined && offs.length > 0 && m.src.byteOffset >= Math.min(...offs) - BYTES_NEAR && m.src.byteOffset <= Math.max(...offs) + BYTES_NEAR) return true;
  if (m.tsNs !== undefined && tsNs !== undefined && lines.length === 0 && m.src.line === undefined && m.src.byteOffset === undefined) {
    // No positions to compare (trace.dat records of several CPUs): compare times.
    return m.tsNs >= tsNs - NS_NEAR && m.tsNs <= tsNs + NS_NEAR;
  }
  return false;
}

/**
 * The finding as it should be reported given the input marks around it: uncertain, with
 * the nearest marks cited, when any is next to its evidence; unchanged otherwise.
 */
export function withInputHealth(f: Finding, marks: readonly InputMark[]): Finding {
  const hits = marks.filter((m) => near(m, f.evidence, f.tsNs)).slice(0, 3);
  if (hits.length === 0) return f;
  const cited = new Set(f.evidence.map((e) => `${e.src.file}:${e.src.line ?? ''}@${e.src.byteOffset ?? ''}`));
  const extra = hits.filter((m) => !cited.has(`${m.src.file}:${m.src.line ?? ''}@${m.src.byteOffset ?? ''}`)).map((m) => ({ src: m.src, what: m.what }));
  return { ...f, certainty: 'uncertain', evidence: [...f.evidence, ...extra] };
}
