// Source records (record/types.ts) as columns: the file as an interned code, the numbers
// in Float64Arrays made on first use (a text trace never fills byteOffset, chunkOffset or
// cpu), and the object's "shape": which keys it has, in which order, and which of them
// hold undefined. A Source comes back with the same keys in the same order, so JSON output
// (whose key order is insertion order) and deep equality stay what they were. A Source
// of any other make (an unknown key, a value of another type, another prototype) is kept
// as the object itself.

import type { Source } from '../record/types.js';
import { codeOf, grown, interned, nameOf, type Interned } from './columns.js';

const NUMERIC = ['line', 'byteOffset', 'chunkOffset', 'cpu'] as const;
type NumericKey = (typeof NUMERIC)[number];

/** A shape: its keys in order, and for each whether it holds undefined. */
interface Shape {
  readonly keys: readonly ('file' | NumericKey)[];
  readonly undef: readonly boolean[];
  /** The common shapes, made by a literal (one hidden class, no key-by-key building). */
  readonly kind: 'file-line' | 'file-byteOffset' | 'other';
}

/** Shape code of a row with no Source. */
const NONE = 0;
/** Shape code of a row whose Source is kept as an object (`odd`). */
const ODD = 1;
const MAX_SHAPES = 255;

export interface SourceColumns {
  shape: Uint8Array;
  file: Int32Array;
  line: Float64Array | undefined;
  byteOffset: Float64Array | undefined;
  chunkOffset: Float64Array | undefined;
  cpu: Float64Array | undefined;
  readonly files: Interned;
  readonly shapes: Shape[];
  readonly shapeCodes: Map<string, number>;
  /** The shape of the last row set (a device's Sources nearly always share one): checked first, without building its key. */
  lastShape: number;
  readonly odd: Map<number, Source>;
}

export function sourceColumns(): SourceColumns {
  const placeholder: Shape = { keys: [], undef: [], kind: 'other' };
  return {
    shape: new Uint8Array(0),
    file: new Int32Array(0),
    line: undefined,
    byteOffset: undefined,
    chunkOffset: undefined,
    cpu: undefined,
    files: interned(),
    shapes: [placeholder, placeholder],
    shapeCodes: new Map(),
    lastShape: NONE,
    odd: new Map(),
  };
}

function isNumericKey(k: string): k is NumericKey {
  return k === 'line' || k === 'byteOffset' || k === 'chunkOffset' || k === 'cpu';
}

/**
 * Whether `s` (a plain object whose file is a string) has exactly `sh`'s keys in its order,
 * undefined where it holds undefined and a number elsewhere. for-in makes no array of keys;
 * an enumerable key inherited from a tampered Object.prototype only makes it say no.
 */
function hasShape(sh: Shape, s: Source): boolean {
  let i = 0;
  const o = s as unknown as Record<string, unknown>;
  for (const k in o) {
    if (sh.keys[i] !== k) return false;
    if (k !== 'file') {
      const v = o[k];
      if (sh.undef[i] === true ? v !== undefined : typeof v !== 'number') return false;
    }
    i++;
  }
  return i === sh.keys.length;
}

/** The shape code of `s`, or ODD when the columns cannot hold it. */
function shapeCode(c: SourceColumns, s: Source): number {
  if (Object.getPrototypeOf(s) !== Object.prototype || typeof s.file !== 'string') return ODD;
  if (c.lastShape > ODD && hasShape(c.shapes[c.lastShape] as Shape, s)) return c.lastShape;
  const code = shapeCodeOf(c, s);
  if (code > ODD) c.lastShape = code;
  return code;
}

/** shapeCode from the key of `s`'s shape, made new (the shape is interned by it). */
function shapeCodeOf(c: SourceColumns, s: Source): number {
  const keys = Object.keys(s);
  let id = '';
  for (const k of keys) {
    const v = (s as unknown as Record<string, unknown>)[k];
    if (k === 'file') id += 'f';
    else if (!isNumericKey(k) || (v !== undefined && typeof v !== 'number')) return ODD;
    else id += v === undefined ? `${k}?` : `${k},`;
    id += ';';
  }
  const known = c.shapeCodes.get(id);
  if (known !== undefined) return known;
  if (c.shapes.length >= MAX_SHAPES) return ODD;
  const ks = keys as ('file' | NumericKey)[];
  const undef = ks.map((k) => k !== 'file' && (s as unknown as Record<string, unknown>)[k] === undefined);
  const kind = undef.every((u) => !u) && ks.length === 2 && ks[0] === 'file' ? (ks[1] === 'line' ? 'file-line' : ks[1] === 'byteOffset' ? 'file-byteOffset' : 'other') : 'other';
  const code = c.shapes.length;
  c.shapes.push({ keys: ks, undef, kind });
  c.shapeCodes.set(id, code);
  return code;
}

function put(c: SourceColumns, key: NumericKey, i: number, v: number): void {
  const col = grown(c[key] ?? new Float64Array(0), Math.max(i + 1, c.shape.length));
  col[i] = v;
  c[key] = col;
}

/** Forgets the Sources kept as objects: the columns are written again from row 0 (rowStore clear). */
export function clearSources(c: SourceColumns): void {
  c.odd.clear();
}

/** Row i's Source (rows are set in order, each once, or set again by a patch). */
export function setSource(c: SourceColumns, i: number, s: Source | undefined): void {
  c.shape = grown(c.shape, i + 1);
  c.file = grown(c.file, i + 1);
  c.odd.delete(i);
  if (s === undefined) {
    c.shape[i] = NONE;
    return;
  }
  const code = shapeCode(c, s);
  c.shape[i] = code;
  if (code === ODD) {
    c.odd.set(i, s);
    return;
  }
  c.file[i] = codeOf(c.files, s.file);
  for (const k of NUMERIC) {
    const v = s[k];
    if (v !== undefined) put(c, k, i, v);
  }
}

function num(col: Float64Array | undefined, i: number): number {
  return (col as Float64Array)[i] as number;
}

export function sourceAt(c: SourceColumns, i: number): Source | undefined {
  const code = c.shape[i] as number;
  if (code === NONE) return undefined;
  if (code === ODD) return c.odd.get(i);
  const sh = c.shapes[code] as Shape;
  const file = nameOf(c.files, c.file[i] as number);
  if (sh.kind === 'file-line') return { file, line: num(c.line, i) };
  if (sh.kind === 'file-byteOffset') return { file, byteOffset: num(c.byteOffset, i) };
  const o: Record<string, unknown> = {};
  for (let k = 0; k < sh.keys.length; k++) {
    const key = sh.keys[k] as 'file' | NumericKey;
    o[key] = key === 'file' ? file : sh.undef[k] === true ? undefined : num(c[key], i);
  }
  return o as unknown as Source;
}
