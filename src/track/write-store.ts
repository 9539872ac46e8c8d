// A device's state writes (types.ts StateWrite) as columns (issue 13), as interval-store.ts
// keeps intervals: names and result as codes, raw values and errno as doubles, the time as
// an exact bigint, the Source as columns. v2's fields: valueSource and pathFlags as codes,
// the path as an interned list, dataFd (set on few SETs) in a map. `view` reads the
// writes back as plain objects equal to the ones pushed, keys in the same order; a write of
// any other make is kept as the object itself. `set` replaces a write the tracker fills in
// later (v1: the value of an unseen write; both: the read-back after a failed one).

import { bigColumn, clearBig, codeOf, getBig, grown, interned, nameOf, rowStore, setBig, type BigColumn, type ReusableStore } from './columns.js';
import { clearSources, setSource, sourceAt, sourceColumns } from './source-columns.js';
import type { Building } from '../record/extended.js';
import type { StateWrite } from './types.js';

export type WriteStore = ReusableStore<StateWrite>;

const RESULT = ['ok', 'failed', 'unknown'] as const;
const VALUE_SOURCE = [undefined, 'ioctl', 'qemu'] as const;
const PATH_FLAGS = [undefined, 'feature', 'inferred'] as const;

const TS = 1;
const FROM = 2;
const TO = 4;
const ERRNO = 8;
const READ_BACK = 16;
const PATH = 32;
const DATA_FD = 64;
const ODD = 128;

const KEYS = ['tsNs', 'fromRaw', 'from', 'toRaw', 'to', 'result', 'errno', 'readBackRaw', 'src'];
/** v2's keys, in the order v2-device-state.ts adds them; each only with a value. */
const V2_KEYS = ['path', 'pathFlags', 'dataFd', 'valueSource'];

const optNumber = (x: unknown): boolean => x === undefined || typeof x === 'number';

/** True when the columns hold `w` as it is: the base keys in order, then v2's (each with a value) in theirs. */
function canonical(w: StateWrite): boolean {
  if (Object.getPrototypeOf(w) !== Object.prototype) return false;
  const keys = Object.keys(w);
  if (keys.length < KEYS.length) return false;
  for (let k = 0; k < KEYS.length; k++) if (keys[k] !== KEYS[k]) return false;
  let v2 = 0;
  for (let k = KEYS.length; k < keys.length; k++) {
    const at = V2_KEYS.indexOf(keys[k] as string, v2);
    if (at < 0) return false;
    v2 = at + 1;
  }
  if (keys.length > KEYS.length) {
    if ('path' in w && !(Array.isArray(w.path) && w.path.every((s) => typeof s === 'string'))) return false;
    if ('pathFlags' in w && (w.pathFlags === undefined || !PATH_FLAGS.includes(w.pathFlags))) return false;
    if ('dataFd' in w && typeof w.dataFd !== 'number') return false;
    if ('valueSource' in w && (w.valueSource === undefined || !VALUE_SOURCE.includes(w.valueSource))) return false;
  }
  return (
    typeof w.from === 'string' &&
    typeof w.to === 'string' &&
    RESULT.includes(w.result) &&
    optNumber(w.fromRaw) &&
    optNumber(w.toRaw) &&
    optNumber(w.errno) &&
    optNumber(w.readBackRaw) &&
    typeof w.src === 'object' &&
    w.src !== null
  );
}

export function createWriteStore(): WriteStore {
  let flags = new Uint8Array(0);
  let result = new Uint8Array(0);
  let valueSource = new Uint8Array(0);
  let pathFlags = new Uint8Array(0);
  let from = new Int32Array(0);
  let to = new Int32Array(0);
  let path = new Int32Array(0);
  let fromRaw = new Float64Array(0);
  let toRaw = new Float64Array(0);
  let errno = new Float64Array(0);
  let readBack = new Float64Array(0);
  const ts: BigColumn = bigColumn();
  const names = interned();
  /** Paths by code: the list and the key it is interned by. */
  const pathKeys = interned();
  const paths: (readonly string[])[] = [];
  const dataFd = new Map<number, number>();
  const src = sourceColumns();
  const odd = new Map<number, StateWrite>();

  function write(i: number, w: StateWrite): void {
    flags = grown(flags, i + 1);
    odd.delete(i);
    dataFd.delete(i);
    if (!canonical(w)) {
      flags[i] = ODD;
      odd.set(i, w);
      setSource(src, i, undefined);
      return;
    }
    result = grown(result, i + 1);
    valueSource = grown(valueSource, i + 1);
    pathFlags = grown(pathFlags, i + 1);
    from = grown(from, i + 1);
    to = grown(to, i + 1);
    path = grown(path, i + 1);
    fromRaw = grown(fromRaw, i + 1);
    toRaw = grown(toRaw, i + 1);
    errno = grown(errno, i + 1);
    readBack = grown(readBack, i + 1);
    let f = 0;
    if (w.tsNs !== undefined) {
      f |= TS;
      setBig(ts, i, w.tsNs);
    }
    if (w.fromRaw !== undefined) {
      f |= FROM;
      fromRaw[i] = w.fromRaw;
    }
    if (w.toRaw !== undefined) {
      f |= TO;
      toRaw[i] = w.toRaw;
    }
    if (w.errno !== undefined) {
      f |= ERRNO;
      errno[i] = w.errno;
    }
    if (w.readBackRaw !== undefined) {
      f |= READ_BACK;
      readBack[i] = w.readBackRaw;
    }
    from[i] = codeOf(names, w.from);
    to[i] = codeOf(names, w.to);
    result[i] = RESULT.indexOf(w.result);
    if (w.path !== undefined) {
      f |= PATH;
      const key = JSON.stringify(w.path);
      const c = codeOf(pathKeys, key);
      if (c === paths.length) paths.push([...w.path]);
      path[i] = c;
    }
    if (w.dataFd !== undefined) {
      f |= DATA_FD;
      dataFd.set(i, w.dataFd);
    }
    pathFlags[i] = PATH_FLAGS.indexOf(w.pathFlags);
    valueSource[i] = VALUE_SOURCE.indexOf(w.valueSource);
    flags[i] = f;
    setSource(src, i, w.src);
  }

  function at(i: number): StateWrite {
    const f = flags[i] as number;
    if ((f & ODD) !== 0) return odd.get(i) as StateWrite;
    const w: StateWrite = {
      tsNs: (f & TS) !== 0 ? getBig(ts, i) : undefined,
      fromRaw: (f & FROM) !== 0 ? (fromRaw[i] as number) : undefined,
      from: nameOf(names, from[i] as number),
      toRaw: (f & TO) !== 0 ? (toRaw[i] as number) : undefined,
      to: nameOf(names, to[i] as number),
      result: RESULT[result[i] as number] as StateWrite['result'],
      errno: (f & ERRNO) !== 0 ? (errno[i] as number) : undefined,
      readBackRaw: (f & READ_BACK) !== 0 ? (readBack[i] as number) : undefined,
      src: sourceAt(src, i) as StateWrite['src'],
    };
    const vs = VALUE_SOURCE[valueSource[i] as number];
    const pf = PATH_FLAGS[pathFlags[i] as number];
    if ((f & (PATH | DATA_FD)) === 0 && vs === undefined && pf === undefined) return w;
    // v2: its keys after the base ones, in v2-device-state.ts's order, each only with a value.
    const o = w as Building<StateWrite>;
    if ((f & PATH) !== 0) o.path = [...(paths[path[i] as number] as readonly string[])];
    if (pf !== undefined) o.pathFlags = pf;
    if ((f & DATA_FD) !== 0) o.dataFd = dataFd.get(i) as number;
    if (vs !== undefined) o.valueSource = vs;
    return o;
  }

  return rowStore<StateWrite>('state write', write, at, () => {
    clearBig(ts);
    clearSources(src);
    dataFd.clear();
    odd.clear();
  });
}
