// trace.dat v7 sections and option lists (spec/trace-formats.md §5.4, §5.5; trace-cmd
// lib/trace-cmd/trace-input.c handle_options / read_section_header, trace-output.c
// out_write_section_header), plus the option records v6 shares (§5.3 item 9).
import { type ByteSource, TraceDatError, readExact, toBounded, MAX_METADATA_BYTES } from './byte-source.js';
import { COMPRESSED_BLOCK_HEADER, type Codec, decompressBlock } from './compression.js';
import { decodeLayout, defineLayout } from './layout.js';

/** §5.4 section header (16 bytes). */
export const SECTION_HEADER = defineLayout([
  { name: 'id', type: 'u16' },
  { name: 'flags', type: 'u16' },
  { name: 'descriptionId', type: 'u32' },
  { name: 'size', type: 'u64' },
]);

/** §5.4/§5.5 one option record's header: u16 id, u32 size, then `size` bytes of data. */
export const OPTION_HEADER = defineLayout([
  { name: 'id', type: 'u16' },
  { name: 'size', type: 'u32' },
]);

/** §5.5 BUFFER option (v7), fixed part after the section offset and the two strings. */
export const BUFFER_OPTION_HEAD = defineLayout([
  { name: 'sectionOffset', type: 'u64' },
  { name: 'instance', type: 'cstr' },
  { name: 'clock', type: 'cstr' },
  { name: 'pageSize', type: 'u32' },
  { name: 'cpuCount', type: 'u32' },
]);

/** §5.5 BUFFER option (v7): one entry per CPU with data. */
export const BUFFER_OPTION_CPU = defineLayout([
  { name: 'cpu', type: 'u32' },
  { name: 'offset', type: 'u64' },
  { name: 'size', type: 'u64' },
]);

export const SECTION_FLAG_COMPRESSED = 1;

/**
 * Option / section ids (§5.5): trace-cmd's enum of TRACECMD_OPTION_* (lib/trace-cmd/include/
 * trace-cmd-local.h / trace-cmd.h), the same numbers in v6 and v7.
 */
export const OPT = {
  DONE: 0,
  CPUSTAT: 2,
  BUFFER: 3,
  TRACECLOCK: 4,
  /**
   * `uname(2)` of the recording host as text, "sysname nodename release machine" and a NUL
   * (tracecmd/trace-record.c add_uname: sprintf "%s %s %s %s", length strlen()s + 4); written
   * by every `trace-cmd record`, into the v6 options block and the v7 options chain alike.
   */
  UNAME: 5,
  CPUCOUNT: 8,
  STRINGS: 15,
  HEADER_INFO: 16,
  FTRACE_EVENTS: 17,
  EVENT_FORMATS: 18,
  KALLSYMS: 19,
  PRINTK: 20,
  CMDLINES: 21,
  BUFFER_TEXT: 22,
} as const;

export interface SectionHeader {
  readonly at: number;
  readonly id: number;
  readonly flags: number;
  /** Payload size on disk. */
  readonly size: number;
  readonly payloadAt: number;
}

export function readSectionHeader(src: ByteSource, at: number): SectionHeader {
  const raw = readExact(src, at, 16, 'section header');
  const h = decodeLayout(SECTION_HEADER, raw, 0);
  if (h === undefined) throw new TraceDatError('unreadable section header', at);
  const size = toBounded(h.big('size'), Math.max(0, src.size - at - 16), `section (id ${h.num('id')}) size`, at + 8);
  return { at, id: h.num('id'), flags: h.num('flags'), size, payloadAt: at + 16 };
}

/** The (decompressed) payload of a metadata section. */
export function readSectionPayload(src: ByteSource, sec: SectionHeader, codec: Codec | undefined): Buffer {
  if ((sec.flags & SECTION_FLAG_COMPRESSED) === 0) return readExact(src, sec.payloadAt, sec.size, `section ${sec.id} payload`);
  if (codec === undefined) throw new TraceDatError(`section ${sec.id} is flagged compressed but the file says "none"`, sec.at + 2);
  const raw = readExact(src, sec.payloadAt, sec.size, `section ${sec.id} payload`);
  const b = decodeLayout(COMPRESSED_BLOCK_HEADER, raw, 0);
  if (b === undefined) throw new TraceDatError(`compressed section ${sec.id} is shorter than its block header`, sec.payloadAt);
  const csize = b.num('csize');
  const usize = b.num('usize');
  if (8 + csize > raw.length) {
    throw new TraceDatError(`compressed section ${sec.id}: frame of ${csize} bytes exceeds the section (${raw.length - 8})`, sec.payloadAt);
  }
  if (usize > MAX_METADATA_BYTES) throw new TraceDatError(`compressed section ${sec.id}: absurd size ${usize}`, sec.payloadAt + 4);
  try {
    return decompressBlock(codec, raw.subarray(8, 8 + csize), usize);
  } catch (e) {
    throw new TraceDatError(`section ${sec.id}: ${e instanceof Error ? e.message : String(e)}`, sec.payloadAt + 8);
  }
}

export interface OptionRecord {
  readonly id: number;
  readonly data: Buffer;
  /** File offset of the option record (for messages; inside a compressed section: the section's). */
  readonly at: number;
}

/**
 * Parse an option list. v7 lists end with DONE carrying the next options section offset
 * (returned); v6 lists end with a bare u16 0. `baseAt`/`compressed` only shape messages.
 */
export function parseOptionList(
  buf: Buffer,
  version: 6 | 7,
  baseAt: number,
  compressed: boolean,
): { readonly options: OptionRecord[]; readonly next: bigint; readonly length: number } {
  const options: OptionRecord[] = [];
  let p = 0;
  const where = (q: number): number => (compressed ? baseAt : baseAt + q);
  for (;;) {
    if (version === 6 && p + 2 <= buf.length && buf.readUInt16LE(p) === OPT.DONE) {
      return { options, next: 0n, length: p + 2 };
    }
    const h = decodeLayout(OPTION_HEADER, buf, p);
    if (h === undefined) throw new TraceDatError('option list ends without DONE (truncated?)', where(p));
    const size = h.num('size');
    if (p + 6 + size > buf.length) {
      throw new TraceDatError(`option ${h.num('id')} claims ${size} bytes, only ${buf.length - p - 6} left`, where(p));
    }
    const data = buf.subarray(p + 6, p + 6 + size);
    if (h.num('id') === OPT.DONE) {
      if (size < 8) throw new TraceDatError('DONE option without the next-options offset', where(p));
      return { options, next: data.readBigUInt64LE(0), length: p + 6 + size };
    }
    options.push({ id: h.num('id'), data, at: where(p) });
    p += 6 + size;
  }
}

/** Follow the v7 options chain (§5.4) from the header's first-options offset; loops are errors. */
export function readOptionsChain(
  src: ByteSource,
  first: bigint,
  codec: Codec | undefined,
  broken?: (e: TraceDatError) => void,
): OptionRecord[] {
  const all: OptionRecord[] = [];
  const seen = new Set<number>();
  let off = first;
  let at = 0;
  while (off !== 0n) {
    if (all.length > 0 && broken !== undefined) {
      // Past the first list a broken link (typically a truncated file losing its trailing
      // options) is reported and the options read so far are kept.
      try {
        readOneOptions();
      } catch (e) {
        if (!(e instanceof TraceDatError)) throw e;
        broken(e);
        return all;
      }
      continue;
    }
    readOneOptions();
  }
  return all;

  function readOneOptions(): void {
    const pos = toBounded(off, src.size, 'options section offset', at);
    if (seen.has(pos)) throw new TraceDatError(`options chain loops back to byte ${pos}`, at);
    seen.add(pos);
    const sec = readSectionHeader(src, pos);
    if (sec.id !== OPT.DONE) throw new TraceDatError(`expected an OPTIONS section, found section id ${sec.id}`, pos);
    const payload = readSectionPayload(src, sec, codec);
    const list = parseOptionList(payload, 7, sec.payloadAt, (sec.flags & SECTION_FLAG_COMPRESSED) !== 0);
    all.push(...list.options);
    at = sec.payloadAt;
    off = list.next;
  }
}

export interface BufferCpu {
  readonly cpu: number;
  readonly offset: bigint;
  readonly size: bigint;
}

export interface BufferOption {
  readonly sectionOffset: bigint;
  readonly instance: string;
  readonly clock: string;
  readonly pageSize: number;
  readonly cpus: readonly BufferCpu[];
}

/** Decode a v7 BUFFER option (§5.5); the cpu count is checked against the option size. */
export function parseBufferOption(opt: OptionRecord): BufferOption {
  const h = decodeLayout(BUFFER_OPTION_HEAD, opt.data, 0);
  if (h === undefined) throw new TraceDatError('BUFFER option is truncated', opt.at);
  const n = h.num('cpuCount');
  const entry = BUFFER_OPTION_CPU.size ?? 20;
  if (h.length + n * entry > opt.data.length) {
    throw new TraceDatError(`BUFFER option lists ${n} CPUs but holds room for ${Math.floor((opt.data.length - h.length) / entry)}`, opt.at);
  }
  const cpus: BufferCpu[] = [];
  for (let i = 0; i < n; i++) {
    const c = decodeLayout(BUFFER_OPTION_CPU, opt.data, h.length + i * entry);
    if (c === undefined) throw new TraceDatError('BUFFER option CPU entry is truncated', opt.at);
    cpus.push({ cpu: c.num('cpu'), offset: c.big('offset'), size: c.big('size') });
  }
  return {
    sectionOffset: h.big('sectionOffset'),
    instance: h.str('instance'),
    clock: h.str('clock'),
    pageSize: h.num('pageSize'),
    cpus,
  };
}
