// Splitting and number parsing for bpftrace record lines (docs/capture-format.md §Grammar).
//
//   <ts> <event> key=value key=value ... comm=<comm>[ name=<string>| path=<string>]
//
// Every value before comm= is one token without spaces. comm (≤ 15 bytes, set by the
// process itself) may contain spaces; it ends at the end of the line, or at the first
// " name=" / " path=" (the string records of migscope.bt, whose string runs to the end of
// the line) or " fd=" (the layout of the shared sample script vfio_mig_access.bt, where
// comm sits in the middle and more tokens follow).

export interface RecordLine {
  readonly ts: string;
  readonly event: string;
  readonly fields: ReadonlyMap<string, string>;
  readonly comm: string | undefined;
  /** The trailing free-text field, if any. */
  readonly text: { readonly key: 'name' | 'path'; readonly value: string } | undefined;
}

const HEAD = /^(\d+) ([a-z][a-z0-9_]*)(?: (.*))?$/;
const AFTER_COMM = / (fd|name|path)=/;

/** A record line's parts, or a message saying what is wrong. */
export function splitRecordLine(line: string): RecordLine | string | undefined {
  const m = HEAD.exec(line);
  if (m === null) return undefined;
  const ts = m[1] ?? '';
  const event = m[2] ?? '';
  const rest = m[3] ?? '';
  let before = rest;
  let comm: string | undefined;
  let text: RecordLine['text'];
  let tail = '';
  const c = rest.startsWith('comm=') ? 0 : rest.indexOf(' comm=');
  if (c >= 0) {
    const start = c === 0 ? 5 : c + 6;
    before = rest.slice(0, c);
    const after = rest.slice(start);
    const a = AFTER_COMM.exec(after);
    if (a === null) {
      comm = after;
    } else {
      comm = after.slice(0, a.index);
      const key = a[1];
      const value = after.slice(a.index + a[0].length);
      if (key === 'name' || key === 'path') text = { key, value };
      else tail = `fd=${value}`;
    }
  }
  const fields = new Map<string, string>();
  for (const tok of `${before} ${tail}`.split(' ')) {
    if (tok === '') continue;
    const eq = tok.indexOf('=');
    if (eq <= 0) return `field "${tok}" is not key=value`;
    const k = tok.slice(0, eq);
    if (fields.has(k)) return `field ${k} appears twice`;
    fields.set(k, tok.slice(eq + 1));
  }
  return { ts, event, fields, comm, text };
}

const DEC = /^-?\d+$/;
const HEX = /^0x[0-9a-fA-F]+$/;

/** Decimal or 0x-hex, exact. */
export function parseBig(s: string | undefined): bigint | undefined {
  if (s === undefined) return undefined;
  if (DEC.test(s) || HEX.test(s)) return BigInt(s);
  return undefined;
}

/** Decimal or 0x-hex that fits a JS number exactly. */
export function parseNum(s: string | undefined): number | undefined {
  const b = parseBig(s);
  if (b === undefined) return undefined;
  if (b > BigInt(Number.MAX_SAFE_INTEGER) || b < BigInt(Number.MIN_SAFE_INTEGER)) return undefined;
  return Number(b);
}
