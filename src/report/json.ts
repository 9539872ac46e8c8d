// `analyze --json`: the Analysis with a schema tag and the summary. Nanosecond times and
// 64-bit values are bigints inside migscope; JSON carries them as decimal strings so they
// stay exact (schema: docs/json-schema.md).
//
// The document is produced in pieces (jsonChunks), each device's timeline, state writes and
// sessions one item at a time, so that a trace with 100,000 sessions is never one string of
// hundreds of MB (issue 13: `--json` of a 450 MB trace peaked at 1.8 GB, most of it the
// string and JSON.stringify's work on it). The text is exactly JSON.stringify's with the
// same indent: tests and golden files compare it byte for byte (test/report/json-stream).

import type { Analysis } from '../analysis/types.js';
import { summarize } from '../analysis/summary.js';

export const JSON_SCHEMA_ID = 'migscope.analysis/1';

export function toJsonValue(a: Analysis): unknown {
  return JSON.parse(renderJson(a));
}

export function renderJson(a: Analysis, indent = 2): string {
  let s = '';
  for (const c of jsonChunks(a, indent)) s += c;
  return s;
}

const bigintAsString = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v);

/** Containers this deep or shallower are written member by member; deeper ones in one piece (doc → devices → device → sessions). */
const STREAM_DEPTH = 3;

/** The JSON document in pieces, in order; their concatenation is `JSON.stringify(doc, bigints as strings, indent)`. */
export function* jsonChunks(a: Analysis, indent = 2): Generator<string> {
  const doc = { schema: JSON_SCHEMA_ID, ...a, summary: summarize(a) };
  yield* valueChunks(doc, '', ' '.repeat(indent), 0);
}

function isContainer(v: unknown): v is object {
  return typeof v === 'object' && v !== null && typeof (v as { toJSON?: unknown }).toJSON !== 'function';
}

/** JSON.stringify leaves these out of objects (and writes null for them in arrays). */
function omitted(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

function* valueChunks(v: unknown, pad: string, step: string, depth: number): Generator<string> {
  if (depth > STREAM_DEPTH || !isContainer(v) || step === '') {
    // One piece: JSON.stringify's own text, indented to where it sits.
    const text = JSON.stringify(v, bigintAsString, step) ?? 'null';
    yield pad === '' ? text : text.replaceAll('\n', `\n${pad}`);
    return;
  }
  const inner = pad + step;
  if (Array.isArray(v)) {
    if (v.length === 0) {
      yield '[]';
      return;
    }
    yield '[';
    for (let i = 0; i < v.length; i++) {
      const el: unknown = v[i];
      yield `${i === 0 ? '' : ','}\n${inner}`;
      yield* valueChunks(omitted(el) ? null : el, inner, step, depth + 1);
    }
    yield `\n${pad}]`;
    return;
  }
  let first = true;
  for (const [k, raw] of Object.entries(v)) {
    const el = bigintAsString(k, raw);
    if (omitted(el)) continue;
    yield `${first ? '{' : ','}\n${inner}${JSON.stringify(k)}: `;
    first = false;
    yield* valueChunks(el, inner, step, depth + 1);
  }
  yield first ? '{}' : `\n${pad}}`;
}
