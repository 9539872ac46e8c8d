// ftrace event `format` files as stored in trace.dat (spec/trace-formats.md §5.8; kernel
// kernel/trace/trace_events.c f_show; libtraceevent event-parse.c event_read_fields).
// Only the field table is used (name, offset, size, signed); `print fmt` is not needed:
// fields are decoded generically by offset/size/signedness, never per event.

export type FieldKind =
  /** A scalar integer of size 1, 2, 4 or 8. */
  | 'int'
  /** `char name[N]`: a fixed, NUL-padded string. */
  | 'fixed-string'
  /** `char name[]` with size 0: the rest of the record (ftrace:print's buf). */
  | 'tail-string'
  /** `__data_loc T[] name`: u32, low 16 bits offset from the record start, high 16 length. */
  | 'data-loc'
  /** `__rel_loc T[] name`: same, offset relative to the end of the 4-byte field. */
  | 'rel-loc'
  /** Anything else (non-char arrays, odd sizes): raw bytes. */
  | 'bytes';

export interface FieldFormat {
  readonly name: string;
  /** The C declaration without the name (for messages and for telling strings apart). */
  readonly type: string;
  readonly offset: number;
  readonly size: number;
  readonly signed: boolean;
  readonly kind: FieldKind;
  /** data-loc/rel-loc/arrays whose element is char: decode as text. */
  readonly isText: boolean;
}

export interface EventFormat {
  readonly id: number;
  readonly name: string;
  readonly system: string;
  readonly fields: readonly FieldFormat[];
  readonly byName: ReadonlyMap<string, FieldFormat>;
  /** Smallest record length that holds every fixed field. */
  readonly minLength: number;
}

const FIELD_RE = /^\s*field:(.*?);\s*offset:(\d+);\s*size:(\d+);(?:\s*signed:(\d+);)?/;
const NAME_RE = /([A-Za-z_][A-Za-z0-9_]*)\s*(\[[^\]]*\])?\s*$/;

/** Parse one `field:` line; undefined when it is not one. */
export function parseFieldLine(line: string): FieldFormat | undefined {
  const m = FIELD_RE.exec(line);
  if (m === null) return undefined;
  const decl = (m[1] ?? '').trim();
  const nm = NAME_RE.exec(decl);
  if (nm === null || nm[1] === undefined) return undefined;
  const name = nm[1];
  const arraySuffix = nm[2];
  const type = (decl.slice(0, nm.index) + (arraySuffix ?? '')).trim();
  const offset = Number(m[2]);
  const size = Number(m[3]);
  if (offset > 0xffff || size > 0xffff) return undefined;
  const signed = m[4] === '1';
  const isChar = /\bchar\b/.test(type);
  let kind: FieldKind;
  if (type.startsWith('__data_loc')) kind = 'data-loc';
  else if (type.startsWith('__rel_loc')) kind = 'rel-loc';
  else if (arraySuffix !== undefined && isChar) kind = size === 0 ? 'tail-string' : 'fixed-string';
  else if (arraySuffix === undefined && (size === 1 || size === 2 || size === 4 || size === 8)) kind = 'int';
  else kind = 'bytes';
  if ((kind === 'data-loc' || kind === 'rel-loc') && size !== 4) kind = 'bytes';
  return { name, type, offset, size, signed, kind, isText: isChar };
}

/** Text from the file quoted in a message: bounded, whatever the (hostile) file holds. */
function quote(s: string): string {
  return JSON.stringify(s.length > 120 ? `${s.slice(0, 120)}…` : s);
}

/** Parse a whole format text; returns an error message instead of throwing. */
export function parseEventFormat(text: string, system: string): EventFormat | string {
  let name: string | undefined;
  let id: number | undefined;
  const fields: FieldFormat[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('name:')) name = line.slice(5).trim();
    else if (line.startsWith('ID:')) {
      const v = line.slice(3).trim();
      if (/^\d+$/.test(v)) id = Number(v);
    } else if (line.includes('field:')) {
      const f = parseFieldLine(line);
      if (f === undefined) return `unreadable field line ${quote(line.trim())}`;
      fields.push(f);
    }
  }
  if (name === undefined || name === '') return 'format without a name';
  if (id === undefined || id > 0xffff) return `format ${quote(name)} without a valid ID`;
  const byName = new Map<string, FieldFormat>();
  let minLength = 0;
  for (const f of fields) {
    byName.set(f.name, f);
    minLength = Math.max(minLength, f.offset + f.size);
  }
  return { id, name, system, fields, byName, minLength };
}

export type FieldValue = number | bigint | string | Buffer;

function cString(buf: Buffer, start: number, end: number): string {
  const nul = buf.indexOf(0, start);
  return buf.toString('utf8', start, nul < 0 || nul > end ? end : nul);
}

/**
 * Decode one field of the record at buf[start, start+len). 1/2/4-byte integers come back
 * as number, 8-byte ones as bigint (exact), strings as string. undefined when the field
 * (or the data it points to) lies outside the record.
 */
export function readField(buf: Buffer, start: number, len: number, f: FieldFormat): FieldValue | undefined {
  const end = start + len;
  const at = start + f.offset;
  switch (f.kind) {
    case 'int': {
      if (at + f.size > end) return undefined;
      switch (f.size) {
        case 1: return f.signed ? buf.readInt8(at) : buf.readUInt8(at);
        case 2: return f.signed ? buf.readInt16LE(at) : buf.readUInt16LE(at);
        case 4: return f.signed ? buf.readInt32LE(at) : buf.readUInt32LE(at);
        default: return f.signed ? buf.readBigInt64LE(at) : buf.readBigUInt64LE(at);
      }
    }
    case 'fixed-string':
      if (at + f.size > end) return undefined;
      return cString(buf, at, at + f.size);
    case 'tail-string':
      if (at > end) return undefined;
      return cString(buf, at, end);
    case 'data-loc':
    case 'rel-loc': {
      if (at + 4 > end) return undefined;
      const v = buf.readUInt32LE(at);
      const off = (v & 0xffff) + (f.kind === 'rel-loc' ? f.offset + 4 : 0);
      const n = v >>> 16;
      if (off + n > len) return undefined;
      return f.isText ? cString(buf, start + off, start + off + n) : Buffer.from(buf.subarray(start + off, start + off + n));
    }
    case 'bytes':
      if (at + f.size > end) return undefined;
      return Buffer.from(buf.subarray(at, at + f.size));
  }
}

/** Every field of a record, in format order (tests and debugging; not the hot path). */
export function decodeEvent(fmt: EventFormat, buf: Buffer, start: number, len: number): Map<string, FieldValue | undefined> {
  const out = new Map<string, FieldValue | undefined>();
  for (const f of fmt.fields) out.set(f.name, readField(buf, start, len, f));
  return out;
}
