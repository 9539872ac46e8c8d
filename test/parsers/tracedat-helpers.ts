// Test helpers for parsers/tracedat: run `trace-cmd report -R -t` and parse its lines,
// decode the same file generically with our event stream, compare every event; and a
// small v7 writer that rebuilds a file from another one's pieces (used for the zlib
// fixture and synthetic pages), built from the SAME layout descriptions the parser uses.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import type { InputProblem, ParserSink, TraceRecord } from '../../src/record/types.js';
import { bufferSource, openFileSource } from '../../parsers/tracedat/byte-source.js';
import { COMPRESSED_BLOCK_HEADER, compressZlib } from '../../parsers/tracedat/compression.js';
import { type FieldFormat, type FieldValue, decodeEvent, readField } from '../../parsers/tracedat/event-format.js';
import { streamEvents } from '../../parsers/tracedat/events.js';
import { FILE_HEADER, V7_COMPRESSION_HEADER } from '../../parsers/tracedat/header.js';
import { encodeLayout } from '../../parsers/tracedat/layout.js';
import { readMetadata, type MetaProblem, type TraceDatMeta } from '../../parsers/tracedat/metadata.js';
import { PAGE_HEADER_64 } from '../../parsers/tracedat/page.js';
import {
  BUFFER_OPTION_CPU,
  BUFFER_OPTION_HEAD,
  OPTION_HEADER,
  OPT,
  SECTION_HEADER,
  parseBufferOption,
  parseOptionList,
} from '../../parsers/tracedat/sections.js';

export const TRACE_CMD = '/usr/bin/trace-cmd';
export const haveTraceCmd = fs.existsSync(TRACE_CMD);

// ---------------------------------------------------------------- trace-cmd report -R -t

export type ReportLine =
  | { readonly kind: 'event'; readonly instance: string; readonly comm: string; readonly pid: number; readonly cpu: number; readonly tsNs: bigint; readonly name: string; readonly rest: string }
  | { readonly kind: 'lost'; readonly cpu: number; readonly count: number | undefined };

const EVENT_RE = /^\s*(.*)-(\d+)\s+\[(\d+)\]\s+(\d+)\.(\d{9}):\s+(\S+):\s?\s*(.*)$/;
const INSTANCE_RE = /^([^\s:]+):\s+(.*-\d+\s+\[\d+\]\s.*)$/;
const LOST_RE = /^CPU:(\d+) \[(?:(\d+) )?EVENTS DROPPED\]$/;

export function parseReportLines(text: string): ReportLine[] {
  const out: ReportLine[] = [];
  for (const line of text.split('\n')) {
    const l = LOST_RE.exec(line);
    if (l !== null) {
      out.push({ kind: 'lost', cpu: Number(l[1]), count: l[2] === undefined ? undefined : Number(l[2]) });
      continue;
    }
    // Events of a named instance are prefixed with "NAME: " (trace-cmd extract -B).
    const inst = INSTANCE_RE.exec(line);
    const m = EVENT_RE.exec(inst?.[2] ?? line);
    if (m === null) continue;
    out.push({
      kind: 'event',
      instance: inst?.[1] ?? '',
      comm: m[1] ?? '',
      pid: Number(m[2]),
      cpu: Number(m[3]),
      tsNs: BigInt(m[4] ?? '0') * 1_000_000_000n + BigInt(m[5] ?? '0'),
      name: (m[6] ?? '').replace(/:$/, ''),
      rest: m[7] ?? '',
    });
  }
  return out;
}

export function traceCmdReport(file: string): ReportLine[] {
  const text = execFileSync(TRACE_CMD, ['report', '-R', '-t', '-i', file], { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
  return parseReportLines(text);
}

// ---------------------------------------------------------------- our generic decode

export interface DecodedEvent {
  readonly kind: 'event';
  readonly instance: string;
  readonly cpu: number | undefined;
  readonly tsNs: bigint;
  readonly pid: number;
  readonly name: string;
  readonly comm: string;
  readonly fields: readonly { readonly f: FieldFormat; readonly v: FieldValue | undefined }[];
}
export type Decoded = DecodedEvent | { readonly kind: 'lost'; readonly cpu: number | undefined; readonly count: number | undefined; readonly tsNs: bigint };

export async function decodeAll(fileOrBuf: string | Buffer): Promise<{ items: Decoded[]; problems: MetaProblem[]; meta: TraceDatMeta }> {
  const src = typeof fileOrBuf === 'string' ? openFileSource(fileOrBuf) : bufferSource(fileOrBuf, 'mem');
  const problems: MetaProblem[] = [];
  try {
    const meta = readMetadata(src, problems);
    const items: Decoded[] = [];
    await streamEvents(src, meta, {
      problem: (byteOffset, message) => problems.push({ byteOffset, message }),
      lost: (c) => items.push({ kind: 'lost', cpu: c.cpu, count: c.lostCount, tsNs: BigInt(c.ts) }),
      event: (c, fmt) => {
        const values = decodeEvent(fmt, c.buf, c.recStart, c.recLen);
        const pid = c.buf.readInt32LE(c.recStart + 4);
        items.push({
          kind: 'event',
          instance: c.instance,
          cpu: c.cpu,
          tsNs: BigInt(c.ts),
          pid,
          name: fmt.name,
          comm: meta.cmdlines.get(pid) ?? '<...>',
          fields: fmt.fields.filter((f) => !f.name.startsWith('common_')).map((f) => ({ f, v: values.get(f.name) })),
        });
      },
    });
    return { items, problems, meta };
  } finally {
    src.close();
  }
}

/** Does trace-cmd's rendering `s` of field f show value v? (print-fmt driven: %d, %u, %lx, 0x%08lx …) */
function sameValue(s: string, f: FieldFormat, v: FieldValue | undefined): boolean {
  if (v === undefined) return false;
  if (typeof v === 'string') return s === v.replace(/\n$/, '');
  if (Buffer.isBuffer(v)) return true; // raw arrays: trace-cmd prints ARRAY[..]; not compared
  const bits = BigInt(8 * f.size);
  const big = BigInt(v);
  const u = big < 0n ? big + (1n << bits) : big;
  const sgn = u >= 1n << (bits - 1n) ? u - (1n << bits) : u;
  const u64 = sgn < 0n ? sgn + (1n << 64n) : sgn; // a signed value printed with %lx
  if (/^-?\d+$/.test(s) && (BigInt(s) === u || BigInt(s) === sgn)) return true;
  const hex = /^(0x)?([0-9a-f]+)$/.exec(s);
  if (hex !== null) {
    const h = BigInt(`0x${hex[2] ?? '0'}`);
    if (h === u || h === u64) return true;
  }
  // ftrace:print's ip is resolved to a symbol through kallsyms.
  return f.name === 'ip' && /^[A-Za-z_][\w.]*$/.test(s);
}

/** Split "a=1 b=x y c=3" by the expected field names in order. */
function splitFields(rest: string, names: readonly string[]): Map<string, string> | string {
  const out = new Map<string, string>();
  let r = rest;
  for (let i = 0; i < names.length; i++) {
    const n = names[i] ?? '';
    if (!r.startsWith(`${n}=`)) return `expected ${n}= in "${r}"`;
    r = r.slice(n.length + 1);
    const next = names[i + 1];
    const cut = next === undefined ? -1 : r.indexOf(` ${next}=`);
    if (next !== undefined && cut < 0) return `missing ${next}=`;
    out.set(n, next === undefined ? r.trimEnd() : r.slice(0, cut));
    r = next === undefined ? '' : r.slice(cut + 1);
  }
  return out;
}

/** Every difference between trace-cmd's report and our decoding (empty = identical). */
export function compareWithReport(report: readonly ReportLine[], ours: readonly Decoded[]): string[] {
  const diffs: string[] = [];
  if (report.length !== ours.length) diffs.push(`count: trace-cmd ${report.length}, ours ${ours.length}`);
  const n = Math.min(report.length, ours.length);
  for (let i = 0; i < n && diffs.length < 20; i++) {
    const r = report[i];
    const o = ours[i];
    if (r === undefined || o === undefined) continue;
    if (r.kind === 'lost' || o.kind === 'lost') {
      const same = r.kind === 'lost' && o.kind === 'lost' && r.cpu === o.cpu && r.count === o.count;
      if (!same) diffs.push(`#${i}: trace-cmd ${r.kind} cpu ${r.cpu} vs ours ${o.kind} cpu ${o.cpu}`);
      continue;
    }
    const head = `#${i} ${r.name}@${r.tsNs}`;
    if (r.tsNs !== o.tsNs) diffs.push(`${head}: ts ours ${o.tsNs}`);
    if (r.cpu !== o.cpu) diffs.push(`${head}: cpu ours ${o.cpu}`);
    if (r.pid !== o.pid) diffs.push(`${head}: pid ${r.pid} ours ${o.pid}`);
    if (r.instance !== o.instance) diffs.push(`${head}: instance ${r.instance} ours ${o.instance}`);
    if (r.comm !== o.comm) diffs.push(`${head}: comm ${r.comm} ours ${o.comm}`);
    if (r.name !== o.name) diffs.push(`${head}: name ours ${o.name}`);
    const parts = splitFields(r.rest, o.fields.map((x) => x.f.name));
    if (typeof parts === 'string') {
      diffs.push(`${head}: ${parts}`);
      continue;
    }
    for (const { f, v } of o.fields) {
      const s = parts.get(f.name) ?? '';
      if (!sameValue(s, f, v)) diffs.push(`${head}: ${f.name} trace-cmd "${s}" ours ${String(v)}`);
    }
  }
  return diffs;
}

// ---------------------------------------------------------------- v7 rebuild (fixtures)

export interface V7Pieces {
  readonly pageSize: number;
  /** Raw payloads of the metadata sections by id (16..21). */
  readonly meta: ReadonlyMap<number, Buffer>;
  /** Plain options (not references, not BUFFER). */
  readonly options: readonly { readonly id: number; readonly data: Buffer }[];
  readonly clock: string;
  readonly cpus: readonly { readonly cpu: number; readonly pages: Buffer }[];
}

/** Take an UNCOMPRESSED v7 file apart (section chain walked with the parser's layouts). */
export function splitV7(file: string): V7Pieces {
  const d = fs.readFileSync(file);
  let p = d.indexOf(0, 10) + 1 + 6; // version\0, endian, long size, page size
  const pageSize = d.readUInt32LE(p - 4);
  p = d.indexOf(0, p) + 1;
  p = d.indexOf(0, p) + 1;
  const firstOptions = Number(d.readBigUInt64LE(p));
  const sections = new Map<number, { id: number; flags: number; payload: Buffer }>();
  p += 8;
  while (p + 16 <= d.length) {
    const size = Number(d.readBigUInt64LE(p + 8));
    sections.set(p, { id: d.readUInt16LE(p), flags: d.readUInt16LE(p + 2), payload: d.subarray(p + 16, p + 16 + size) });
    p += 16 + size;
  }
  const metaPieces = new Map<number, Buffer>();
  const options: { id: number; data: Buffer }[] = [];
  let clock = '';
  const cpus: { cpu: number; pages: Buffer }[] = [];
  let off = firstOptions;
  while (off !== 0) {
    const s = sections.get(off);
    if (s === undefined || s.flags !== 0) throw new Error('splitV7 needs an uncompressed v7 file');
    const list = parseOptionList(s.payload, 7, off + 16, false);
    for (const o of list.options) {
      if (o.id >= OPT.HEADER_INFO && o.id <= OPT.CMDLINES) {
        const t = sections.get(Number(o.data.readBigUInt64LE(0)));
        if (t !== undefined) metaPieces.set(o.id, t.payload);
      } else if (o.id === OPT.BUFFER) {
        const b = parseBufferOption(o);
        clock = b.clock;
        for (const x of b.cpus) cpus.push({ cpu: x.cpu, pages: d.subarray(Number(x.offset), Number(x.offset + x.size)) });
      } else options.push({ id: o.id, data: o.data });
    }
    off = Number(list.next);
  }
  return { pageSize, meta: metaPieces, options, clock, cpus };
}

function section(id: number, flags: number, payload: Buffer): Buffer {
  return Buffer.concat([encodeLayout(SECTION_HEADER, { id, flags, descriptionId: 0xffffffff, size: BigInt(payload.length) }), payload]);
}
function option(id: number, data: Buffer): Buffer {
  return Buffer.concat([encodeLayout(OPTION_HEADER, { id, size: data.length }), data]);
}
function u64(v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
}
function block(data: Buffer): Buffer {
  const z = compressZlib(data);
  return Buffer.concat([encodeLayout(COMPRESSED_BLOCK_HEADER, { csize: z.length, usize: data.length }), z]);
}

/** Write a v7 file from pieces, compressed with zlib (sections and 10-page chunks) or not. */
export function writeV7(pieces: V7Pieces, compression: 'none' | 'zlib'): Buffer {
  const z = compression === 'zlib';
  const head = Buffer.concat([
    encodeLayout(FILE_HEADER, { magic0: 0x17, magic1: 0x08, magic2: 0x44, tracing: 'tracing', version: '7', endian: 0, longSize: 8, pageSize: pieces.pageSize }),
  ]);
  const compHeadLen = encodeLayout(V7_COMPRESSION_HEADER, { compression, compressionVersion: z ? '1.2.13' : '', firstOptionsOffset: 0n }).length;
  let pos = head.length + compHeadLen;
  const metaSecs: Buffer[] = [];
  const refs: Buffer[] = [];
  for (const id of [OPT.HEADER_INFO, OPT.FTRACE_EVENTS, OPT.EVENT_FORMATS, OPT.KALLSYMS, OPT.PRINTK, OPT.CMDLINES]) {
    const payload = pieces.meta.get(id);
    if (payload === undefined) continue;
    const s = section(id, z ? 1 : 0, z ? block(payload) : payload);
    refs.push(option(id, u64(pos)));
    metaSecs.push(s);
    pos += s.length;
  }
  const firstOptionsAt = pos;
  const plain = pieces.options.map((o) => option(o.id, o.data));
  const opts1Len = 16 + refs.reduce((n, b) => n + b.length, 0) + plain.reduce((n, b) => n + b.length, 0) + 6 + 8;
  const bufferSecAt = firstOptionsAt + opts1Len;
  // BUFFER section: header, zero padding to a page boundary, then each CPU's data.
  let dataAt = Math.ceil((bufferSecAt + 16) / pieces.pageSize) * pieces.pageSize;
  const cpuBlobs: Buffer[] = [];
  const cpuEntries: Buffer[] = [];
  const dataStart = dataAt;
  for (const c of pieces.cpus) {
    let blob: Buffer;
    let size: number;
    if (z) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < c.pages.length; i += 10 * pieces.pageSize) chunks.push(block(c.pages.subarray(i, i + 10 * pieces.pageSize)));
      const count = Buffer.alloc(4);
      count.writeUInt32LE(chunks.length);
      blob = Buffer.concat([count, ...chunks]);
      size = blob.length - 4; // trace-cmd 3.1.6's 4-bytes-short size (§5.6)
    } else {
      blob = c.pages;
      size = blob.length;
    }
    cpuEntries.push(encodeLayout(BUFFER_OPTION_CPU, { cpu: c.cpu, offset: BigInt(dataAt), size: BigInt(size) }));
    const padded = Buffer.alloc(Math.ceil(blob.length / pieces.pageSize) * pieces.pageSize);
    blob.copy(padded);
    cpuBlobs.push(padded);
    dataAt += padded.length;
  }
  const bufferPayload = Buffer.concat([Buffer.alloc(dataStart - (bufferSecAt + 16)), ...cpuBlobs]);
  const bufferSec = section(OPT.BUFFER, z ? 1 : 0, bufferPayload);
  const opts2At = bufferSecAt + bufferSec.length;
  const bufferOpt = Buffer.concat([
    encodeLayout(BUFFER_OPTION_HEAD, { sectionOffset: BigInt(bufferSecAt), instance: '', clock: pieces.clock, pageSize: pieces.pageSize, cpuCount: pieces.cpus.length }),
    ...cpuEntries,
  ]);
  const opts1 = section(OPT.DONE, 0, Buffer.concat([...refs, ...plain, option(OPT.DONE, u64(opts2At))]));
  if (opts1.length !== opts1Len) throw new Error('writeV7: options size mismatch');
  const opts2 = section(OPT.DONE, 0, Buffer.concat([option(OPT.BUFFER, bufferOpt), option(OPT.DONE, u64(0))]));
  const compHead = encodeLayout(V7_COMPRESSION_HEADER, { compression, compressionVersion: z ? '1.2.13' : '', firstOptionsOffset: BigInt(firstOptionsAt) });
  return Buffer.concat([head, compHead, ...metaSecs, opts1, bufferSec, opts2]);
}

// ---------------------------------------------------------------- synthetic pages

export type Entry =
  | { readonly t: 'data'; readonly delta: number; readonly payload: Buffer }
  | { readonly t: 'extend'; readonly delta: bigint }
  | { readonly t: 'stamp'; readonly ts: bigint }
  | { readonly t: 'pad'; readonly delta: number; readonly bytes: number };

/** Build one ring-buffer page (§5.7) with the parser's own PAGE_HEADER_64 layout. */
export function buildPage(pageSize: number, timestamp: bigint, entries: readonly Entry[], flags = 0, lostCount?: number): Buffer {
  const body: Buffer[] = [];
  const word = (typeLen: number, delta: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(((delta << 5) | typeLen) >>> 0);
    return b;
  };
  const u32 = (v: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    return b;
  };
  for (const e of entries) {
    switch (e.t) {
      case 'data': {
        const len = Math.ceil(e.payload.length / 4) * 4;
        const padded = Buffer.alloc(len);
        e.payload.copy(padded);
        if (len <= 112) body.push(word(len / 4, e.delta), padded);
        else body.push(word(0, e.delta), u32(len + 4), padded);
        break;
      }
      case 'extend':
        body.push(word(30, Number(e.delta & 0x7ffffffn)), u32(Number(e.delta >> 27n)));
        break;
      case 'stamp':
        body.push(word(31, Number(e.ts & 0x7ffffffn)), u32(Number((e.ts >> 27n) & 0xffffffffn)));
        break;
      case 'pad':
        body.push(word(29, e.delta), u32(e.bytes), Buffer.alloc(e.bytes - 4));
        break;
    }
  }
  const data = Buffer.concat(body);
  const commit = BigInt(data.length) | (flags === 0 ? 0n : BigInt(flags) | 0xffffffff00000000n);
  const page = Buffer.alloc(pageSize);
  encodeLayout(PAGE_HEADER_64, { timestamp, commit }).copy(page, 0);
  data.copy(page, 16);
  if (lostCount !== undefined) page.writeBigUInt64LE(BigInt(lostCount), 16 + data.length);
  return page;
}

/** A record of event `id` with common_pid `pid` and `fields` bytes from offset 8. */
export function recordBytes(id: number, pid: number, rest: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16LE(id, 0);
  h.writeInt32LE(pid, 4);
  return Buffer.concat([h, rest]);
}

export { readField };

// ---------------------------------------------------------------- an in-memory sink

export interface Collected {
  readonly records: TraceRecord[];
  readonly problems: InputProblem[];
  skipped: number;
  clocks: string[];
}
export function collector(): { sink: ParserSink; out: Collected } {
  const out: Collected = { records: [], problems: [], skipped: 0, clocks: [] };
  return {
    out,
    sink: {
      record: (r) => out.records.push(r),
      skipped: (n = 1) => {
        out.skipped += n;
      },
      malformed: (p) => out.problems.push(p),
      clock: (c) => out.clocks.push(c),
    },
  };
}

