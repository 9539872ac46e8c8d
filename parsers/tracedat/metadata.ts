// Everything in a trace.dat except the trace data itself: page header geometry, event
// formats, saved cmdlines, clock, and where each CPU's data lies. Version 6 is read
// sequentially (spec/trace-formats.md §5.3), version 7 through its options chain and
// the sections the options point to (§5.4, §5.5). kallsyms and printk are never read.
import { type ByteSource, TraceDatError, bufferSource, readExact, toBounded, MAX_METADATA_BYTES } from './byte-source.js';
import { type Codec, codecOf } from './compression.js';
import { type EventFormat, parseEventFormat, parseFieldLine } from './event-format.js';
import { type Follower, type Resync, followerFits, resyncAfter } from './format-resync.js';
import { type FileHeader, readFileHeader } from './header.js';
import {
  OPT,
  SECTION_FLAG_COMPRESSED,
  type OptionRecord,
  type SectionHeader,
  parseBufferOption,
  readOptionsChain,
  readSectionHeader,
  readSectionPayload,
} from './sections.js';

/** One CPU's ring-buffer data in the file. */
export interface CpuDataSpec {
  /** undefined when the CPU is not known (recovered data without its BUFFER option). */
  readonly cpu: number | undefined;
  readonly instance: string;
  readonly offset: number;
  /** On-disk size; for compressed data only a hint (trace-cmd 3.1.6 stores it 4 bytes short, §5.6). */
  readonly size: number;
  readonly compressed: boolean;
}

export interface TraceDatMeta {
  readonly header: FileHeader;
  readonly codec: Codec | undefined;
  readonly pageSize: number;
  /** Bytes before the first event in a page: 8 + sizeof(long) (from header_page's `data`). */
  readonly pageHeaderSize: number;
  /** Size of the page header's `commit` word (a long). */
  readonly commitSize: 4 | 8;
  readonly formats: ReadonlyMap<number, EventFormat>;
  readonly cmdlines: ReadonlyMap<number, string>;
  readonly clock: string | undefined;
  readonly cpuData: readonly CpuDataSpec[];
  /** The UNAME option (the recording host), when the file has one. */
  readonly uname: UnameOption | undefined;
}

/** The UNAME option's text (its NUL and anything after dropped) and the file offset of its record. */
export interface UnameOption {
  readonly text: string;
  readonly byteOffset: number;
}

/** The text of a UNAME option's data: a C string (trace-cmd counts the NUL in the size). */
function unameOf(data: Buffer, byteOffset: number): UnameOption {
  const nul = data.indexOf(0);
  return { text: data.toString('utf8', 0, nul < 0 ? data.length : nul), byteOffset };
}

export interface MetaProblem {
  readonly byteOffset: number;
  readonly message: string;
}

/** Sequential reads over a source; `at` maps a position to the file offset used in messages. */
interface Seq {
  pos: number;
  readonly src: ByteSource;
  readonly at: (pos: number) => number;
}

function need(s: Seq, n: number, what: string): Buffer {
  if (n > MAX_METADATA_BYTES) throw new TraceDatError(`${what}: absurd length ${n}`, s.at(s.pos));
  if (s.pos + n > s.src.size) {
    throw new TraceDatError(`${what}: needs ${n} bytes, only ${Math.max(0, s.src.size - s.pos)} left (truncated?)`, s.at(s.pos));
  }
  const b = readExact(s.src, s.pos, n, what);
  s.pos += n;
  return b;
}
const u32 = (s: Seq, what: string): number => need(s, 4, what).readUInt32LE(0);
const u64 = (s: Seq, what: string): number => {
  const at = s.at(s.pos);
  return toBounded(need(s, 8, what).readBigUInt64LE(0), MAX_METADATA_BYTES, what, at);
};
function cstr(s: Seq, what: string): string {
  const max = Math.min(4096, s.src.size - s.pos);
  const b = Buffer.alloc(Math.max(0, max));
  s.src.readInto(b, 0, s.pos, b.length);
  const nul = b.indexOf(0);
  if (nul < 0) throw new TraceDatError(`${what}: string without terminating NUL`, s.at(s.pos));
  s.pos += nul + 1;
  return b.toString('latin1', 0, nul);
}
function tag(s: Seq, expected: string): void {
  const b = need(s, expected.length + 1, `"${expected}" tag`);
  if (b.toString('latin1', 0, expected.length) !== expected || b[expected.length] !== 0) {
    throw new TraceDatError(`expected "${expected}"`, s.at(s.pos - expected.length - 1));
  }
}

interface Collect {
  readonly formats: Map<number, EventFormat>;
  readonly problems: MetaProblem[];
  headerPage: string | undefined;
  cmdlines: Map<number, string>;
  uname: UnameOption | undefined;
}

/**
 * `u32 count, count × (u64 size, format text)` (§5.3 items 3–4). `after` is what follows the
 * list. A stored size that does not lead to what must follow is taken as a text that changed
 * while trace-cmd copied it (format-resync.ts): the text is read up to the next structure
 * and the list goes on from there, with a problem at the record. 'lost' when the rest of the
 * list cannot be located (only where the list ends its own section: v7).
 */
function readFormatList(s: Seq, system: string, c: Collect, after: Follower, sectionBound: boolean): 'read' | 'lost' {
  const n = u32(s, `${system} format count`);
  if (n * 8 > s.src.size - s.pos) throw new TraceDatError(`absurd format count ${n} for system "${system}"`, s.at(s.pos - 4));
  for (let i = 0; i < n; i++) {
    if (sectionBound && s.pos === s.src.size && i > 0) {
      c.problems.push({ byteOffset: s.at(s.pos), message: `system "${system}" ends after ${i} of its ${n} formats (the section ends)` });
      return 'read';
    }
    const rec = s.pos;
    const at = s.at(rec);
    const stored = need(s, 8, 'format size').readBigUInt64LE(0);
    const follower: Follower = i < n - 1 ? 'format' : after;
    const fits = stored <= BigInt(s.src.size - s.pos) && followerFits(s.src, s.pos + Number(stored), follower);
    let textEnd = s.pos + Number(stored);
    let next: Resync['next'] | undefined;
    if (!fits) {
      const r = resyncAfter(s.src, s.pos, follower);
      if (r === undefined && (!sectionBound || stored <= BigInt(s.src.size - s.pos))) {
        // Nothing better found: the stored size stands (u64, and need below, say what is
        // wrong with it where it does not fit: absurd, or past the end).
        s.pos = rec;
        const size = u64(s, 'format size');
        textEnd = s.pos + size;
      } else if (r === undefined) {
        c.problems.push({
          byteOffset: at,
          message: `event format ${i + 1} of ${n} of system "${system}": stored size ${stored} does not lead to the next format, and none was found after it; the rest of this section's formats are not read (their events are unknown)`,
        });
        s.pos = s.src.size;
        return 'lost';
      } else {
        c.problems.push({
          byteOffset: at,
          message:
            `event format ${i + 1} of ${n} of system "${system}": stored size ${stored} does not match its text ` +
            `(${r.textEnd - s.pos} bytes, up to byte ${s.at(r.textEnd)}); the format probably changed while trace-cmd copied it (another tracer adding or removing a probe)`,
        });
        textEnd = r.textEnd;
        next = r.next;
      }
    }
    const text = need(s, textEnd - s.pos, 'format text').toString('utf8');
    const f = parseEventFormat(text, system);
    if (typeof f === 'string') c.problems.push({ byteOffset: at, message: `event format skipped: ${f}` });
    else c.formats.set(f.id, f);
    if (next !== undefined && next !== 'format') {
      if (i < n - 1) c.problems.push({ byteOffset: s.at(s.pos), message: `system "${system}" ends after ${i + 1} of its ${n} formats` });
      return 'read';
    }
  }
  return 'read';
}

function readSystems(s: Seq, c: Collect, sectionBound: boolean): void {
  const n = u32(s, 'event system count');
  if (n > s.src.size - s.pos) throw new TraceDatError(`absurd event system count ${n}`, s.at(s.pos - 4));
  for (let i = 0; i < n; i++) {
    const name = cstr(s, 'event system name');
    const after: Follower = i < n - 1 ? 'system' : sectionBound ? 'end' : 'kallsyms';
    if (readFormatList(s, name, c, after, sectionBound) === 'lost') {
      if (i < n - 1) c.problems.push({ byteOffset: s.at(s.pos), message: `${n - 1 - i} later event systems not read` });
      return;
    }
  }
}

function readHeaders(s: Seq, c: Collect): void {
  tag(s, 'header_page');
  c.headerPage = need(s, u64(s, 'header_page size'), 'header_page text').toString('latin1');
  tag(s, 'header_event');
  need(s, u64(s, 'header_event size'), 'header_event text');
}

function parseCmdlines(text: string): Map<number, string> {
  const m = new Map<number, string>();
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp <= 0) continue;
    const pid = line.slice(0, sp);
    if (/^\d+$/.test(pid)) m.set(Number(pid), line.slice(sp + 1));
  }
  return m;
}

function clockFrom(text: string): string | undefined {
  const m = /\[([^\]]+)\]/.exec(text);
  return m?.[1];
}

/** Page header geometry from the stored header_page (§5.7), defaulting from the long size. */
function pageGeometry(headerPage: string | undefined, longSize: 4 | 8, pageSize: number): { size: number; commit: 4 | 8 } {
  let size = 8 + longSize;
  let commit: 4 | 8 = longSize;
  for (const line of (headerPage ?? '').split('\n')) {
    const f = parseFieldLine(line);
    if (f === undefined) continue;
    if (f.name === 'commit' && (f.size === 4 || f.size === 8) && f.offset === 8) commit = f.size;
    if (f.name === 'data' && f.offset >= 12 && f.offset <= 64) size = f.offset;
  }
  if (size >= pageSize) throw new TraceDatError(`page header (${size} bytes) does not fit a ${pageSize}-byte page`, 0);
  return { size, commit };
}

function sectionSeq(src: ByteSource, sec: SectionHeader, codec: Codec | undefined): Seq {
  const payload = readSectionPayload(src, sec, codec);
  const compressed = (sec.flags & SECTION_FLAG_COMPRESSED) !== 0;
  return { pos: 0, src: bufferSource(payload, src.file), at: (p) => (compressed ? sec.payloadAt : sec.payloadAt + p) };
}

function readV6(src: ByteSource, header: FileHeader, c: Collect): { clock: string | undefined; cpuData: CpuDataSpec[] } {
  const s: Seq = { pos: header.end, src, at: (p) => p };
  readHeaders(s, c);
  readFormatList(s, 'ftrace', c, 'systems', false);
  readSystems(s, c, false);
  for (const what of ['kallsyms', 'printk']) {
    const n = u32(s, `${what} size`);
    if (s.pos + n > src.size) throw new TraceDatError(`file ends inside ${what} (${n} bytes from byte ${s.pos}): truncated`, src.size);
    s.pos += n; // skipped, never read
  }
  c.cmdlines = parseCmdlines(need(s, u64(s, 'cmdlines size'), 'cmdlines').toString('utf8'));
  const ncpus = u32(s, 'CPU count');
  if (ncpus === 0 || ncpus > 65536) throw new TraceDatError(`absurd CPU count ${ncpus}`, s.pos - 4);
  let clock: string | undefined;
  for (;;) {
    const at = s.pos;
    const t = need(s, 10, 'options/flyrecord tag').toString('latin1');
    if (t === 'options  \0') {
      // v6 option records: u16 id, u32 size, data; a bare u16 0 ends the block (§5.3 item 9).
      for (;;) {
        const id = need(s, 2, 'option id').readUInt16LE(0);
        if (id === OPT.DONE) break;
        const oat = s.pos - 2;
        const data = need(s, u32(s, 'option size'), `option ${id}`);
        if (id === OPT.TRACECLOCK) clock ??= clockFrom(data.toString('latin1'));
        if (id === OPT.UNAME) c.uname ??= unameOf(data, oat);
        if (id === OPT.BUFFER) {
          c.problems.push({ byteOffset: oat, message: 'v6 extra buffer instance not read (only the top instance is)' });
        }
      }
    } else if (t === 'flyrecord\0') {
      const table = need(s, 16 * ncpus, 'flyrecord CPU table');
      const cpuData: CpuDataSpec[] = [];
      for (let cpu = 0; cpu < ncpus; cpu++) {
        const offset = toBounded(table.readBigUInt64LE(16 * cpu), src.size, `CPU ${cpu} data offset`, at + 10 + 16 * cpu);
        const size = table.readBigUInt64LE(16 * cpu + 8);
        // A size past the end of the file is a truncated file: keep what is there (the
        // page reader reports the truncation at the right offset).
        const sz = size > BigInt(src.size) ? src.size : Number(size);
        if (sz > 0) cpuData.push({ cpu, instance: '', offset, size: sz, compressed: false });
      }
      try {
        const clockText = need(s, u64(s, 'clock size'), 'clock text').toString('latin1');
        clock = clockFrom(clockText) ?? clock;
      } catch (e) {
        if (!(e instanceof TraceDatError)) throw e;
        c.problems.push({ byteOffset: e.byteOffset, message: e.message });
      }
      return { clock, cpuData };
    } else if (t === 'latency  \0') {
      throw new TraceDatError('latency-tracer text files hold no ring-buffer data', at);
    } else {
      throw new TraceDatError(`unknown v6 block tag ${JSON.stringify(t)}`, at);
    }
  }
}

function unameIn(options: readonly OptionRecord[]): UnameOption | undefined {
  const o = options.find((x) => x.id === OPT.UNAME);
  return o === undefined ? undefined : unameOf(o.data, o.at);
}

function refOffset(options: readonly OptionRecord[], id: number, name: string, src: ByteSource): number {
  const o = options.find((x) => x.id === id);
  if (o === undefined) throw new TraceDatError(`no ${name} option: the file's metadata is incomplete`, 0);
  if (o.data.length < 8) throw new TraceDatError(`${name} option too short`, o.at);
  return toBounded(o.data.readBigUInt64LE(0), src.size, `${name} section offset`, o.at);
}

function readV7(src: ByteSource, header: FileHeader, codec: Codec | undefined, c: Collect): { clock: string | undefined; cpuData: CpuDataSpec[]; pageSize: number } {
  let chainBroken = false;
  const options = readOptionsChain(src, header.firstOptionsOffset ?? 0n, codec, (e) => {
    chainBroken = true;
    c.problems.push({ byteOffset: e.byteOffset, message: `options chain broken (${e.message}); truncated file?` });
  });
  const meta = (id: number, name: string): Seq => {
    const at = refOffset(options, id, name, src);
    const sec = readSectionHeader(src, at);
    if (sec.id !== id) throw new TraceDatError(`${name} option points to a section with id ${sec.id}`, at);
    return sectionSeq(src, sec, codec);
  };
  readHeaders(meta(OPT.HEADER_INFO, 'HEADER_INFO'), c);
  readFormatList(meta(OPT.FTRACE_EVENTS, 'FTRACE_EVENTS'), 'ftrace', c, 'end', true);
  readSystems(meta(OPT.EVENT_FORMATS, 'EVENT_FORMATS'), c, true);
  try {
    const s = meta(OPT.CMDLINES, 'CMDLINES');
    c.cmdlines = parseCmdlines(need(s, u64(s, 'cmdlines size'), 'cmdlines').toString('utf8'));
  } catch (e) {
    if (!(e instanceof TraceDatError)) throw e;
    c.problems.push({ byteOffset: e.byteOffset, message: `${e.message}; comms unknown` });
  }
  let clock: string | undefined;
  let pageSize = header.pageSize;
  const cpuData: CpuDataSpec[] = [];
  c.uname = unameIn(options);
  for (const o of options) {
    if (o.id === OPT.TRACECLOCK) clock ??= clockFrom(o.data.toString('latin1'));
    if (o.id !== OPT.BUFFER) continue;
    const b = parseBufferOption(o);
    const secAt = toBounded(b.sectionOffset, src.size, 'BUFFER section offset', o.at);
    const sec = readSectionHeader(src, secAt);
    if (sec.id !== OPT.BUFFER) throw new TraceDatError(`BUFFER option points to a section with id ${sec.id}`, secAt);
    if (b.instance === '') {
      clock = b.clock !== '' ? b.clock : clock;
      if (b.pageSize !== header.pageSize) {
        if (b.pageSize < 256 || b.pageSize > 16 * 1024 * 1024 || (b.pageSize & (b.pageSize - 1)) !== 0) {
          throw new TraceDatError(`absurd BUFFER page size ${b.pageSize}`, o.at);
        }
        pageSize = b.pageSize;
      }
    } else if (b.pageSize !== pageSize) {
      c.problems.push({ byteOffset: o.at, message: `instance "${b.instance}" has page size ${b.pageSize}; not read` });
      continue;
    }
    for (const cpu of b.cpus) {
      const offset = toBounded(cpu.offset, src.size, `CPU ${cpu.cpu} data offset`, o.at);
      const size = cpu.size > BigInt(src.size) ? src.size : Number(cpu.size);
      if (size === 0) continue;
      cpuData.push({ cpu: cpu.cpu, instance: b.instance, offset, size, compressed: (sec.flags & SECTION_FLAG_COMPRESSED) !== 0 });
    }
  }
  if (cpuData.length === 0 && chainBroken) cpuData.push(...recoverCpuData(src, header, pageSize, c));
  else checkTiling(src, header, c);
  return { clock, cpuData, pageSize };
}

/**
 * v7 sections tile the file exactly (§5.4). Walking the few section headers finds a cut
 * even in parts never read (STRINGS, kallsyms): report it, read on.
 */
function checkTiling(src: ByteSource, header: FileHeader, c: Collect): void {
  const hb = Buffer.alloc(16);
  let pos = header.end;
  for (let n = 0; pos < src.size && n < 100000; n++) {
    if (src.readInto(hb, 0, pos, 16) < 16) {
      c.problems.push({ byteOffset: pos, message: 'section header cut off by the end of the file (truncated)' });
      return;
    }
    const size = hb.readBigUInt64LE(8);
    if (BigInt(pos) + 16n + size > BigInt(src.size)) {
      c.problems.push({ byteOffset: pos, message: `section id ${hb.readUInt16LE(0)} (${size} bytes) runs past the end of the file (truncated)` });
      return;
    }
    pos += 16 + Number(size);
  }
}

/**
 * A v7 file cut inside its trace data loses the options that say where each CPU's data
 * is (they follow the data, §5.4). Recover what can be read: walk the section chain to
 * the BUFFER section; compressed data is per CPU a chunk list starting page-aligned
 * (§5.6); raw pages are split where page timestamps go backwards (each CPU's pages are
 * in time order). CPU numbers are unknown then and reported as such, never guessed.
 */
function recoverCpuData(src: ByteSource, header: FileHeader, pageSize: number, c: Collect): CpuDataSpec[] {
  let pos = header.end;
  const hb = Buffer.alloc(16);
  const seen = new Set<number>();
  while (pos + 16 <= src.size && !seen.has(pos)) {
    seen.add(pos);
    src.readInto(hb, 0, pos, 16);
    const id = hb.readUInt16LE(0);
    const flags = hb.readUInt16LE(2);
    const size = hb.readBigUInt64LE(8);
    if (id === OPT.BUFFER) {
      const end = size > BigInt(src.size) ? src.size : Math.min(src.size, pos + 16 + Number(size));
      let p = Math.ceil((pos + 16) / pageSize) * pageSize;
      const out: CpuDataSpec[] = [];
      if ((flags & SECTION_FLAG_COMPRESSED) !== 0) {
        const w = Buffer.alloc(8);
        while (p + 4 <= end) {
          src.readInto(w, 0, p, 4);
          let n = w.readUInt32LE(0);
          let q = p + 4;
          while (n-- > 0 && q + 8 <= end) {
            src.readInto(w, 0, q, 8);
            q += 8 + w.readUInt32LE(0);
          }
          out.push({ cpu: undefined, instance: '', offset: p, size: Math.min(q, end) - p, compressed: true });
          p = Math.ceil(q / pageSize) * pageSize;
        }
      } else {
        let start = p;
        let last = -1n;
        for (; p + 8 <= end; p += pageSize) {
          src.readInto(hb, 0, p, 8);
          const ts = hb.readBigUInt64LE(0);
          if (ts < last) {
            out.push({ cpu: undefined, instance: '', offset: start, size: p - start, compressed: false });
            start = p;
          }
          last = ts;
        }
        if (end > start) out.push({ cpu: undefined, instance: '', offset: start, size: end - start, compressed: false });
      }
      c.problems.push({
        byteOffset: pos,
        message: `BUFFER option missing: recovered ${out.length} per-CPU data block(s) from the BUFFER section; CPU numbers unknown`,
      });
      return out;
    }
    if (size > BigInt(src.size)) break;
    pos += 16 + Number(size);
  }
  return [];
}

export function readMetadata(src: ByteSource, problems: MetaProblem[]): TraceDatMeta {
  const header = readFileHeader(src);
  let codec: Codec | undefined;
  try {
    codec = codecOf(header.compression);
  } catch (e) {
    throw new TraceDatError(e instanceof Error ? e.message : String(e), 11);
  }
  const c: Collect = { formats: new Map(), problems, headerPage: undefined, cmdlines: new Map(), uname: undefined };
  const r = header.version === 6 ? { ...readV6(src, header, c), pageSize: header.pageSize } : readV7(src, header, codec, c);
  const geo = pageGeometry(c.headerPage, header.longSize, r.pageSize);
  return {
    header,
    codec,
    pageSize: r.pageSize,
    pageHeaderSize: geo.size,
    commitSize: geo.commit,
    formats: c.formats,
    cmdlines: c.cmdlines,
    clock: r.clock,
    cpuData: r.cpuData,
    uname: c.uname,
  };
}

/**
 * Only the UNAME option, for planning a merge before any input is analysed (src/cli/
 * input-merge.ts): v7 keeps its options in a chain read without the event formats; v6 keeps
 * them after the formats, kallsyms and cmdlines, so the sequential read is needed.
 */
export function readUnameOption(src: ByteSource): UnameOption | undefined {
  const header = readFileHeader(src);
  if (header.version === 6) return readMetadata(src, []).uname;
  let codec: Codec | undefined;
  try {
    codec = codecOf(header.compression);
  } catch (e) {
    throw new TraceDatError(e instanceof Error ? e.message : String(e), 11);
  }
  return unameIn(readOptionsChain(src, header.firstOptionsOffset ?? 0n, codec, () => undefined));
}
