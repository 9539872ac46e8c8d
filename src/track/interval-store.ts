// A device's closed state intervals (types.ts StateInterval) as columns (issue 13): the
// state name and certainty as small codes, raw and bytes as doubles (exact for every
// number, -0 included), the times as exact bigints (columns.ts), the Source as columns
// (source-columns.ts). `view` reads them back as plain objects equal to the ones pushed,
// with the same keys in the same order (JSON output is byte-identical to a plain array's).
// An interval of any other make (keys missing, in another order, an openAtEnd other than
// true) is kept as the object itself.

import { bigColumn, clearBig, codeOf, getBig, grown, interned, nameOf, rowStore, setBig, type BigColumn, type ReusableStore } from './columns.js';
import { clearSources, setSource, sourceAt, sourceColumns } from './source-columns.js';
import type { Building } from '../record/extended.js';
import type { StateInterval } from './types.js';

export type IntervalStore = ReusableStore<StateInterval>;

const CERTAINTY = ['known', 'inferred', 'unknown'] as const;

const RAW = 1;
const START = 2;
const END = 4;
const OPEN_AT_END = 8;
const ODD = 16;

const KEYS = ['state', 'raw', 'startNs', 'endNs', 'certainty', 'bytes', 'src'];

/** True when the columns hold `iv` as it is: the type's keys in its order, then openAtEnd: true or nothing. */
function canonical(iv: StateInterval): boolean {
  if (Object.getPrototypeOf(iv) !== Object.prototype) return false;
  const keys = Object.keys(iv);
  if (keys.length !== KEYS.length && !(keys.length === KEYS.length + 1 && keys[KEYS.length] === 'openAtEnd' && iv.openAtEnd === true)) return false;
  for (let k = 0; k < KEYS.length; k++) if (keys[k] !== KEYS[k]) return false;
  return typeof iv.state === 'string' && (iv.raw === undefined || typeof iv.raw === 'number') && typeof iv.bytes === 'number' && CERTAINTY.includes(iv.certainty);
}

export function createIntervalStore(): IntervalStore {
  let flags = new Uint8Array(0);
  let state = new Int32Array(0);
  let certainty = new Uint8Array(0);
  let raw = new Float64Array(0);
  let bytes = new Float64Array(0);
  const start: BigColumn = bigColumn();
  const end: BigColumn = bigColumn();
  const names = interned();
  const src = sourceColumns();
  const odd = new Map<number, StateInterval>();

  function write(i: number, iv: StateInterval): void {
    flags = grown(flags, i + 1);
    odd.delete(i);
    if (!canonical(iv)) {
      flags[i] = ODD;
      odd.set(i, iv);
      setSource(src, i, undefined);
      return;
    }
    state = grown(state, i + 1);
    certainty = grown(certainty, i + 1);
    raw = grown(raw, i + 1);
    bytes = grown(bytes, i + 1);
    let f = 0;
    state[i] = codeOf(names, iv.state);
    certainty[i] = CERTAINTY.indexOf(iv.certainty);
    bytes[i] = iv.bytes;
    if (iv.raw !== undefined) {
      f |= RAW;
      raw[i] = iv.raw;
    }
    if (iv.startNs !== undefined) {
      f |= START;
      setBig(start, i, iv.startNs);
    }
    if (iv.endNs !== undefined) {
      f |= END;
      setBig(end, i, iv.endNs);
    }
    if (iv.openAtEnd === true) f |= OPEN_AT_END;
    flags[i] = f;
    setSource(src, i, iv.src);
  }

  function at(i: number): StateInterval {
    const f = flags[i] as number;
    if ((f & ODD) !== 0) return odd.get(i) as StateInterval;
    const iv: Building<StateInterval> = {
      state: nameOf(names, state[i] as number),
      raw: (f & RAW) !== 0 ? (raw[i] as number) : undefined,
      startNs: (f & START) !== 0 ? getBig(start, i) : undefined,
      endNs: (f & END) !== 0 ? getBig(end, i) : undefined,
      certainty: CERTAINTY[certainty[i] as number] as StateInterval['certainty'],
      bytes: bytes[i] as number,
      src: sourceAt(src, i),
    };
    // Set, not spread (record/extended.ts).
    if ((f & OPEN_AT_END) !== 0) iv.openAtEnd = true;
    return iv;
  }

  return rowStore<StateInterval>('interval', write, at, () => {
    clearBig(start);
    clearBig(end);
    clearSources(src);
    odd.clear();
  });
}
