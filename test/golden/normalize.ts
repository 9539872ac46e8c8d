// The golden form of one analysis: `migscope analyze --json` (src/report/json.ts, the
// user's contract) reduced to what a verdict is made of, in a shape whose diff a person
// can review line by line.
//
// - Dropped: the tool version and the host name (they change with every release and
//   machine, not with the verdict), finding messages and evidence descriptions (wording),
//   and the lists of pending/pre-copy samples and the convergence curve (kept as counts;
//   the session's bytes and iterations carry the verdict).
// - Paths are relative to the repository root, so the files are the same on any clone
//   (also inside text, e.g. input.files[].host.how "… (test/fixtures/x.dat@36996)").
// - Timeline intervals, state writes and evidence become one line each; any other
//   citation (a Source, or {src, what}) one string ("k=v ..."), so a
//   changed state or errno is a one-line diff. Keys the code adds later are kept (appended
//   as k=v, or copied for objects): a new field shows up in the diff instead of vanishing.
// - Timestamps are kept: the recorded fixtures do not change, so neither do their times.

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

function isObj(v: Json | undefined): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** "file:line" (or "file@byteOffset") of a Source, with the file relative to the repo. */
function where(src: Json | undefined, rel: (p: string) => string): string {
  if (!isObj(src)) return '?';
  const file = typeof src['file'] === 'string' ? rel(src['file']) : '?';
  if (typeof src['line'] === 'number') return `${file}:${src['line']}`;
  const cpu = typeof src['cpu'] === 'number' ? ` cpu${src['cpu']}` : '';
  const chunk = typeof src['chunkOffset'] === 'number' ? `+${src['chunkOffset']}` : '';
  if (typeof src['byteOffset'] === 'number') return `${file}@${src['byteOffset']}${chunk}${cpu}`;
  return file;
}

function scalar(v: Json | undefined): string {
  if (v === undefined || v === null) return '-';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/**
 * One line: the keys in `order` first (absent ones left out), then every other key, except
 * `drop`. `src` is rendered as file:line.
 */
function line(o: Obj, order: readonly string[], rel: (p: string) => string, drop: readonly string[] = []): string {
  const parts: string[] = [];
  const put = (k: string): void => {
    const v = o[k];
    if (v === undefined) return;
    parts.push(k === 'src' ? `@${where(v, rel)}` : `${k}=${typeof v === 'string' ? rel(v) : scalar(v)}`);
  };
  for (const k of order) put(k);
  for (const k of Object.keys(o)) if (!order.includes(k) && !drop.includes(k)) put(k);
  return parts.join(' ');
}

/** A Source ({file, line} or {file, byteOffset}) and nothing else. */
function isSource(v: Json | undefined): v is Obj {
  return isObj(v) && typeof v['file'] === 'string' && Object.keys(v).every((k) => k === 'file' || k === 'line' || k === 'byteOffset' || k === 'cpu' || k === 'chunkOffset');
}

/**
 * Any other value: paths made relative, and, wherever they occur, a Source written as
 * "file:line" and a piece of evidence ({src, what}) as "file:line what": the shapes the
 * code uses for citations (check/types.ts Evidence), e.g. a session's reasonSrc and drain
 * evidence. Here `what` is kept: it names the fact cited (a value, an errno).
 */
function relPaths(v: Json, rel: (p: string) => string): Json {
  if (typeof v === 'string') return rel(v);
  if (Array.isArray(v)) return v.map((x) => relPaths(x, rel));
  if (isSource(v)) return where(v, rel);
  if (isObj(v) && Object.keys(v).length === 2 && isSource(v['src']) && typeof v['what'] === 'string') return `${where(v['src'], rel)} ${v['what']}`;
  if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, relPaths(x, rel)]));
  return v;
}

function session(s: Obj, rel: (p: string) => string): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'src') out['src'] = where(v, rel);
    else if ((k === 'pending' || k === 'precopy') && Array.isArray(v)) out[`${k}Samples`] = v.length;
    // The convergence curve repeats the pending samples: kept as a count, like them.
    else if (k === 'convergence' && isObj(v)) out[k] = relPaths(Object.fromEntries(Object.entries(v).map(([ck, cv]) => (ck === 'iterations' && Array.isArray(cv) ? ['iterationsSamples', cv.length] : [ck, cv]))), rel);
    else out[k] = relPaths(v, rel);
  }
  return out;
}

function device(d: Obj, rel: (p: string) => string): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(d)) {
    if (k === 'timeline' && Array.isArray(v)) {
      out[k] = v.filter(isObj).map((iv) => line(iv, ['state', 'raw', 'certainty', 'startNs', 'endNs', 'bytes', 'openAtEnd', 'src'], rel));
    } else if (k === 'stateWrites' && Array.isArray(v)) {
      out[k] = v.filter(isObj).map((w) => line(w, ['tsNs', 'from', 'fromRaw', 'to', 'toRaw', 'result', 'errno', 'readBackRaw', 'path', 'pathFlags', 'dataFd', 'valueSource', 'src'], rel));
    } else if (k === 'sessions' && Array.isArray(v)) {
      out[k] = v.filter(isObj).map((s) => session(s, rel));
    } else if (k === 'region' && isObj(v)) {
      // Region offsets and sizes read as the spec writes them (9 << 40 = 0x90000000000).
      const hex = (x: Json | undefined): Json | undefined => (typeof x === 'string' && /^\d+$/.test(x) ? `0x${BigInt(x).toString(16)}` : x);
      out[k] = line({ ...v, offset: hex(v['offset']) ?? null, ...(v['size'] !== undefined ? { size: hex(v['size']) ?? null } : {}) }, ['index', 'offset', 'size', 'source'], rel, ['evidence']);
    } else out[k] = relPaths(v, rel);
  }
  return out;
}

function finding(f: Obj, rel: (p: string) => string): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(f)) {
    if (k === 'message') continue;
    if (k === 'evidence' && Array.isArray(v)) out[k] = v.filter(isObj).map((e) => where(e['src'], rel));
    else out[k] = relPaths(v, rel);
  }
  return out;
}

function inputSummary(i: Obj, rel: (p: string) => string): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(i)) {
    if (k === 'gaps' && Array.isArray(v)) {
      out[k] = v.filter(isObj).map((g) => line(g, ['tsNs', 'count', 'file', 'line', 'byteOffset'], rel));
    } else if (k === 'problems' && Array.isArray(v)) {
      out[k] = v.filter(isObj).map((p) => `${where(p['src'], rel)} ${scalar(p['message'])}`);
    } else out[k] = relPaths(v, rel);
  }
  return out;
}

/**
 * The golden form of `toJsonValue(analysis)`. `root` is the repository root: every path
 * under it is written relative to it.
 */
export function normalizeAnalysis(json: unknown, root: string): unknown {
  const prefix = root.endsWith('/') ? root : `${root}/`;
  // Anywhere in a string, not only at its start: an input's host `how` cites its file inside a sentence.
  const rel = (p: string): string => p.split(prefix).join('');
  const doc = json as Json;
  if (!isObj(doc)) throw new Error('analysis JSON is not an object');
  const out: Obj = {};
  for (const [k, v] of Object.entries(doc)) {
    if (k === 'tool' || k === 'host') continue;
    if (k === 'input' && isObj(v)) out[k] = inputSummary(v, rel);
    else if (k === 'devices' && Array.isArray(v)) out[k] = v.filter(isObj).map((d) => device(d, rel));
    else if (k === 'findings' && Array.isArray(v)) out[k] = v.filter(isObj).map((f) => finding(f, rel));
    else out[k] = relPaths(v, rel);
  }
  return out;
}
