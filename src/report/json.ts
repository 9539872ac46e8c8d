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

/**
 * Where a value sits, as far as the progress callback cares: the document's `devices`, one
 * device, or a device's `sessions` (after each of whose items `onSession` is called).
 */
type Role = 'devices' | 'device' | 'sessions' | undefined;

function roleOf(parent: Role, depth: number, key: string): Role {
  if (depth === 0 && key === 'devices') return 'devices';
  if (parent === 'device' && key === 'sessions') return 'sessions';
  return undefined;
}

/**
 * The JSON document in pieces, in order; their concatenation is `JSON.stringify(doc, bigints
 * as strings, indent)`. `onSession` is called after each device session's text (the bulk
 * of a long trace's output: the progress shown while it is written).
 */
export function* jsonChunks(a: Analysis, indent = 2, onSession?: () => void): Generator<string> {
  const doc = { schema: JSON_SCHEMA_ID, ...a, summary: summarize(a) };
  yield* valueChunks(doc, '', ' '.repeat(indent), 0, undefined, onSession);
}

function isContainer(v: unknown): v is object {
  return typeof v === 'object' && v !== null && typeof (v as { toJSON?: unknown }).toJSON !== 'function';
}

/** JSON.stringify leaves these out of objects (and writes null for them in arrays). */
function omitted(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

/**
 * JSON.stringify(v, bigints as strings, step) indented to where it sits (`pad`, whole
 * steps). Made without a replacer or a re-indenting pass, which were a third of writing a
 * session (36 → 25 µs): the bigints are turned into strings in a copy (withoutBigints), and
 * the copy is stringified inside one array per step of `pad`, whose brackets are cut off,
 * so JSON.stringify itself writes every line at its depth. The text is the same.
 */
function indentedText(v: unknown, pad: string, step: string): string {
  const levels = pad.length / step.length;
  let wrapped: unknown = withoutBigints(v);
  for (let i = 0; i < levels; i++) wrapped = [wrapped];
  // Undefined only for a value JSON.stringify has no text for, at the top (in an array it is null).
  const text = JSON.stringify(wrapped, null, step) as string | undefined;
  if (text === undefined) return 'null';
  // Each array opened is "[\n" and the indent of the next line; each closed, "\n", its own indent and "]".
  let head = 0;
  let tail = 0;
  for (let i = 0; i < levels; i++) {
    head += 2 + step.length * (i + 1);
    tail += 2 + step.length * i;
  }
  return text.slice(head, text.length - tail);
}

/** A copy of v with every bigint as its decimal string: what bigintAsString gives JSON.stringify, made beforehand so that it runs on its fast path. */
function withoutBigints(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    const n = v.length;
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) out[i] = withoutBigints(v[i]);
    return out;
  }
  // JSON.stringify calls toJSON before any replacer sees the value: left to it.
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return v;
  const o = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  // for-in with the own-property test: the keys JSON.stringify writes, in its order.
  for (const k in o) if (Object.hasOwn(o, k)) out[k] = withoutBigints(o[k]);
  return out;
}

function* valueChunks(v: unknown, pad: string, step: string, depth: number, role?: Role, onSession?: () => void): Generator<string> {
  if (step === '') {
    yield JSON.stringify(v, bigintAsString) ?? 'null';
    return;
  }
  if (depth > STREAM_DEPTH || !isContainer(v)) {
    yield indentedText(v, pad, step);
    return;
  }
  const inner = pad + step;
  if (Array.isArray(v)) {
    if (v.length === 0) {
      yield '[]';
      return;
    }
    yield '[';
    const each: Role = role === 'devices' ? 'device' : undefined;
    const counted = role === 'sessions' ? onSession : undefined;
    // for-of, not v[i]: a spilled or column-backed list (track/spilled-list.ts,
    // array-view.ts) is a Proxy whose iterator reads items by number, where v[i] reaches
    // the Proxy with the index as a string key (a string or two per item).
    let i = 0;
    for (const el of v as readonly unknown[]) {
      yield `${i === 0 ? '' : ','}\n${inner}`;
      yield* valueChunks(omitted(el) ? null : el, inner, step, depth + 1, each, onSession);
      counted?.();
      i++;
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
    yield* valueChunks(el, inner, step, depth + 1, roleOf(role, depth, k), onSession);
  }
  yield first ? '{}' : `\n${pad}}`;
}
