// Fixed on-disk structures of trace.dat, described ONCE as data (STYLE.md "Declarative
// binary layouts"): each description compiles into a binary-parser Parser for decoding
// and into an encoder that the test fixtures use to build bytes. Everything in trace.dat
// after the endianness byte is in the file's byte order; only little-endian files are
// accepted (spec/trace-formats.md §5.1), so every integer here is little-endian.
// binary-parser's ESM entry ships no .d.mts; its CJS build (same code) carries the types.
import { Parser } from 'binary-parser/dist/binary_parser.js';

export type FieldType = 'u8' | 'u16' | 'u32' | 'u64' | 'cstr';

export interface LayoutField {
  readonly name: string;
  readonly type: FieldType | 'chars';
  /** For 'chars': the fixed length in bytes. */
  readonly length?: number;
}

export interface Layout {
  readonly fields: readonly LayoutField[];
  /** Size in bytes when every field has a fixed size; undefined with a 'cstr' field. */
  readonly size: number | undefined;
  readonly parser: Parser;
}

export type LayoutValue = number | bigint | string;

const FIXED_SIZE: Readonly<Record<FieldType, number | undefined>> = {
  u8: 1,
  u16: 2,
  u32: 4,
  u64: 8,
  cstr: undefined,
};

export function defineLayout(fields: readonly LayoutField[]): Layout {
  let parser = new Parser().endianness('little');
  let size: number | undefined = 0;
  for (const f of fields) {
    switch (f.type) {
      case 'u8': parser = parser.uint8(f.name); break;
      case 'u16': parser = parser.uint16le(f.name); break;
      case 'u32': parser = parser.uint32le(f.name); break;
      case 'u64': parser = parser.uint64le(f.name); break;
      case 'cstr': parser = parser.string(f.name, { zeroTerminated: true, encoding: 'latin1' }); break;
      case 'chars': parser = parser.string(f.name, { length: f.length ?? 0, encoding: 'latin1' }); break;
    }
    const s = f.type === 'chars' ? (f.length ?? 0) : FIXED_SIZE[f.type];
    size = size === undefined || s === undefined ? undefined : size + s;
  }
  // saveOffset lets callers of variable-size layouts (cstr) know where the next item starts.
  parser = parser.saveOffset('__end');
  return { fields, size, parser };
}

/** The decoded fields of one layout instance, with checked accessors (parse, don't cast). */
export interface Decoded {
  num(name: string): number;
  big(name: string): bigint;
  str(name: string): string;
  /** Bytes consumed. */
  readonly length: number;
}

/**
 * Decode `layout` at buf[off..]. The caller checks beforehand that the fixed part fits
 * (binary-parser throws a RangeError past the end of the buffer; decode turns that into
 * undefined so a short buffer is the caller's "truncated" case, not a crash).
 */
export function decodeLayout(layout: Layout, buf: Buffer, off: number): Decoded | undefined {
  if (layout.size !== undefined && off + layout.size > buf.length) return undefined;
  let raw: unknown;
  try {
    raw = layout.parser.parse(buf.subarray(off));
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const values = new Map<string, unknown>(Object.entries(raw));
  const end = values.get('__end');
  if (typeof end !== 'number') return undefined;
  return {
    length: end,
    num(name) {
      const v = values.get(name);
      if (typeof v !== 'number') throw new Error(`layout field ${name} is not a number`);
      return v;
    },
    big(name) {
      const v = values.get(name);
      if (typeof v !== 'bigint') throw new Error(`layout field ${name} is not a bigint`);
      return v;
    },
    str(name) {
      const v = values.get(name);
      if (typeof v !== 'string') throw new Error(`layout field ${name} is not a string`);
      return v;
    },
  };
}

/** Build the bytes of one layout instance (used by test fixtures and the fixture writer). */
export function encodeLayout(layout: Layout, values: Readonly<Record<string, LayoutValue>>): Buffer {
  const parts: Buffer[] = [];
  for (const f of layout.fields) {
    const v = values[f.name];
    if (v === undefined) throw new Error(`encodeLayout: missing ${f.name}`);
    switch (f.type) {
      case 'u8': { const b = Buffer.alloc(1); b.writeUInt8(Number(v)); parts.push(b); break; }
      case 'u16': { const b = Buffer.alloc(2); b.writeUInt16LE(Number(v)); parts.push(b); break; }
      case 'u32': { const b = Buffer.alloc(4); b.writeUInt32LE(Number(v)); parts.push(b); break; }
      case 'u64': { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); parts.push(b); break; }
      case 'cstr': parts.push(Buffer.from(`${String(v)}\0`, 'latin1')); break;
      case 'chars': {
        const b = Buffer.alloc(f.length ?? 0);
        b.write(String(v), 'latin1');
        parts.push(b);
        break;
      }
    }
  }
  return Buffer.concat(parts);
}
