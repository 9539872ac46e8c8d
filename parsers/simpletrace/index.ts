// QEMU simpletrace binary (layout.ts) → MarkerRecords with the same text the log backend
// would have printed (`<event> <format with args>`), so src/decode and the migration
// tracker read them like any QEMU trace line; dropped-events records → LostEventsRecords.
//
// The file maps event ids to names itself (mapping records); the argument types and
// format come from the trace-events file QEMU was built with (`--trace-events FILE`,
// else a `trace-events-all` or `trace-events` beside the trace). Without it, an event
// that carries arguments cannot be printed: kept events (those that concern a migration)
// are then malformed, with their byte offset and what is missing; other events are skipped.
//
// Time: trace/simple.c stamps records with get_clock(), CLOCK_MONOTONIC on Linux: the
// clock is "mono", the same as bpftrace's nsecs, so a capture's clock-sync maps both.
// Every read is bounded by the file: a length or string that runs past the end, or an
// unknown event id, is reported with its byte offset; the records before it are kept.

import { open } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ParserSink } from '../../src/record/types.js';
import { UnusableInputError } from '../format.js';
import { decodeLayout, type Layout } from '../tracedat/layout.js';
import { isKeptEvent } from '../text/qemu-trace-line.js';
import { DROPPED_EVENT_ID, EVENT_HEAD, EVENT_HEAD_SIZE, FILE_HEADER, HEADER_EVENT_ID, HEADER_MAGIC, MAPPING_HEAD, RECORD_TYPE, RECORD_TYPE_EVENT, RECORD_TYPE_MAPPING, SUPPORTED_VERSION } from './layout.js';
import { parseTraceEvents, type TraceEventDef } from './trace-events.js';
import { cPrintf, cTypeBits, type PrintfArg } from './printf.js';

const MAGIC_LE = Buffer.alloc(16);
MAGIC_LE.writeBigUInt64LE(HEADER_EVENT_ID, 0);
MAGIC_LE.writeBigUInt64LE(HEADER_MAGIC, 8);

export function detectSimpletrace(head: Buffer): boolean {
  return head.length >= 16 && head.subarray(0, 16).equals(MAGIC_LE);
}

const MAX_NAME = 1024;
const MAX_RECORD = 1 << 20;
const CHUNK = 1 << 20;

export interface SimpletraceOptions {
  /** The trace-events file; undefined: look beside the trace. */
  readonly traceEvents?: string;
  readonly onProgress?: (bytesDone: number, bytesTotal: number) => void;
}

function findTraceEvents(path: string, given: string | undefined): string | undefined {
  if (given !== undefined) return given;
  for (const n of ['trace-events-all', 'trace-events']) {
    const p = join(dirname(path), n);
    if (existsSync(p)) return p;
  }
  return undefined;
}

export async function parseSimpletrace(path: string, sink: ParserSink, opts: SimpletraceOptions = {}): Promise<void> {
  const eventsPath = findTraceEvents(path, opts.traceEvents);
  let defs: ReadonlyMap<string, TraceEventDef> = new Map();
  if (eventsPath !== undefined) {
    let text: string;
    try {
      text = readFileSync(eventsPath, 'utf8');
    } catch (e) {
      throw new UnusableInputError(`${eventsPath}: cannot read the trace-events file: ${(e as Error).message}`);
    }
    const te = parseTraceEvents(text);
    defs = te.events;
    for (const p of te.problems.slice(0, 20)) sink.malformed({ src: { file: eventsPath, line: p.line }, message: p.message });
  }
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    let buf = Buffer.alloc(0);
    let bufStart = 0;
    /** buf covering [off, off+n), or undefined at the end of the file. */
    const need = async (off: number, n: number): Promise<Buffer | undefined> => {
      if (off + n > size) return undefined;
      if (off < bufStart || off + n > bufStart + buf.length) {
        const len = Math.min(size - off, Math.max(CHUNK, n));
        const b = Buffer.alloc(len);
        const { bytesRead } = await fh.read(b, 0, len, off);
        buf = b.subarray(0, bytesRead);
        bufStart = off;
        if (bytesRead < n) return undefined;
      }
      return buf.subarray(off - bufStart, off - bufStart + n);
    };
    const decode = async (layout: Layout, off: number): Promise<ReturnType<typeof decodeLayout>> => {
      const b = await need(off, layout.size ?? 0);
      return b === undefined ? undefined : decodeLayout(layout, b, 0);
    };

    const h = await decode(FILE_HEADER, 0);
    if (h === undefined || h.big('headerEventId') !== HEADER_EVENT_ID || h.big('magic') !== HEADER_MAGIC) {
      throw new UnusableInputError(`${path}: not a QEMU simpletrace file (header id or magic wrong; big-endian files are not read)`);
    }
    const version = h.big('version');
    if (version !== SUPPORTED_VERSION) throw new UnusableInputError(`${path}: simpletrace log version ${version}; only version 4 (QEMU ≥ 2.6… current) is read`);
    sink.clock('mono');

    const names = new Map<bigint, string>();
    let off = 24;
    let lastProgress = 0;
    const bad = (at: number, message: string): void => sink.malformed({ src: { file: path, byteOffset: at }, message });
    while (off < size) {
      if (off - lastProgress > 16 * CHUNK) {
        lastProgress = off;
        opts.onProgress?.(off, size);
      }
      const t = await decode(RECORD_TYPE, off);
      if (t === undefined) {
        bad(off, `truncated record type (${size - off} bytes left)`);
        break;
      }
      const type = t.big('type');
      const at = off;
      if (type === RECORD_TYPE_MAPPING) {
        const m = await decode(MAPPING_HEAD, off + 8);
        const len = m?.num('nameLength');
        if (m === undefined || len === undefined || len > MAX_NAME) {
          bad(at, m === undefined ? 'truncated mapping record' : `mapping record name of ${len} bytes (corrupt)`);
          break;
        }
        const nameBytes = await need(off + 20, len);
        if (nameBytes === undefined) {
          bad(at, 'truncated mapping record name');
          break;
        }
        names.set(m.big('eventId'), nameBytes.toString('latin1'));
        off += 20 + len;
        continue;
      }
      if (type !== RECORD_TYPE_EVENT) {
        bad(at, `unknown record type ${type}; the rest of the file cannot be framed`);
        break;
      }
      const e = await decode(EVENT_HEAD, off + 8);
      if (e === undefined) {
        bad(at, 'truncated event record header');
        break;
      }
      const length = e.num('length');
      if (length < EVENT_HEAD_SIZE || length > MAX_RECORD) {
        bad(at, `event record length ${length} (corrupt); the rest of the file cannot be framed`);
        break;
      }
      const body = await need(off + 8 + EVENT_HEAD_SIZE, length - EVENT_HEAD_SIZE);
      if (body === undefined) {
        bad(at, `event record of ${length} bytes runs past the end of the file`);
        break;
      }
      const body2 = Buffer.from(body); // `need` may refill its buffer on the next call
      off += 8 + length;
      const id = e.big('eventId');
      const tsNs = e.big('timestampNs');
      const pid = e.num('pid');
      const base = { tsNs, pid, tid: undefined, comm: undefined, cpu: undefined, src: { file: path, byteOffset: at } };
      if (id === DROPPED_EVENT_ID) {
        const count = body2.length >= 8 ? body2.readBigUInt64LE(0) : undefined;
        sink.record({ kind: 'lost-events', ...base, count: count === undefined ? undefined : Number(count) });
        continue;
      }
      const name = names.get(id);
      if (name === undefined) {
        bad(at, `event id ${id} has no mapping record before it`);
        continue;
      }
      if (!isKeptEvent(name, 0)) {
        sink.skipped();
        continue;
      }
      const def = defs.get(name);
      if (def === undefined) {
        if (body2.length === 0) {
          sink.record({ kind: 'marker', ...base, text: name });
          continue;
        }
        bad(at, `${name}: arguments cannot be printed without its trace-events entry (${eventsPath === undefined ? 'pass --trace-events FILE, the trace-events-all QEMU was built with' : `not in ${eventsPath}`})`);
        continue;
      }
      const args: PrintfArg[] = [];
      let p = 0;
      let ok = true;
      for (const a of def.args) {
        if (a.isString) {
          if (p + 4 > body2.length) { ok = false; break; }
          const n = body2.readUInt32LE(p);
          if (p + 4 + n > body2.length) { ok = false; break; }
          args.push({ s: body2.toString('utf8', p + 4, p + 4 + n) });
          p += 4 + n;
        } else {
          if (p + 8 > body2.length) { ok = false; break; }
          args.push({ n: body2.readBigUInt64LE(p), ...cTypeBits(a.type) });
          p += 8;
        }
      }
      const text = ok ? cPrintf(def.format, args) : undefined;
      if (text === undefined) {
        bad(at, `${name}: the record's ${body2.length} argument bytes do not match its trace-events declaration`);
        continue;
      }
      sink.record({ kind: 'marker', ...base, text: `${name} ${text}` });
    }
    opts.onProgress?.(size, size);
  } finally {
    await fh.close();
  }
}
