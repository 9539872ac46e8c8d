// trace-cmd trace.dat, version 7, uncompressed (spec/trace-formats.md §5.2, §5.4–5.8),
// streamed to disk so multi-GB files never sit in memory: the metadata sections of the
// real sample vfio-mig-v7-nocompress.dat (header_page/header_event, ftrace formats,
// kallsyms, printk) with the event formats of this machine's kernel (event-formats.ts) and
// saved cmdlines for the model's tasks, then one ring-buffer page stream per CPU
// (§5.7: page header, type_len/time_delta words, TIME_EXTEND for gaps >= 2^27 ns), then
// the options section holding the BUFFER option. The per-CPU data sizes and the offset of
// the last options section are patched in when the data is written.
//
// Other variants come from trace-cmd itself: `trace-cmd convert --file-version 6
// --compression none` (v6) and `--compression zstd` (v7 + zstd, trace-cmd's default).
// Every on-disk structure is encoded with the parser's own layout descriptions
// (parsers/tracedat/*.ts), as the test helpers do.
import { closeSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { FILE_HEADER, V7_COMPRESSION_HEADER } from '../../parsers/tracedat/header.js';
import { encodeLayout } from '../../parsers/tracedat/layout.js';
import { PAGE_HEADER_64 } from '../../parsers/tracedat/page.js';
import { BUFFER_OPTION_CPU, BUFFER_OPTION_HEAD, OPT, OPTION_HEADER, SECTION_HEADER } from '../../parsers/tracedat/sections.js';
import { splitV7 } from '../../test/parsers/tracedat-helpers.js';
import { EVENT_FORMAT_TEXTS } from './event-formats.js';
import type { GenResult } from './ftrace-text.js';
import { EV_ENTER, EV_EXIT, EV_MARKER, EV_SWITCH, EV_WAKEUP, SYSCALL_NR, createWorld, type Ev, type WorldOptions } from './model.js';

export const SAMPLE_V7 = new URL('../../../test/fixtures/samples/trace-cmd/vfio-mig-v7-nocompress.dat', import.meta.url).pathname;

const PAGE_SIZE = 4096;
const PAGE_HEADER = 16;
const TWO27 = 2 ** 27;
/** ftrace:print's event id in the sample's FTRACE_EVENTS section. */
const PRINT_ID = 5;

/** Event ids from the format texts ("ID: n"), by event name. */
function formatIds(): Map<string, number> {
  const ids = new Map<string, number>();
  for (const sys of Object.values(EVENT_FORMAT_TEXTS)) {
    for (const [name, text] of Object.entries(sys)) {
      const m = /\nID: (\d+)\n/.exec(text);
      if (m === null) throw new Error(`no ID in format of ${name}`);
      ids.set(name, Number(m[1]));
    }
  }
  return ids;
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
}
function u64(v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
}
function cstr(s: string): Buffer {
  return Buffer.from(`${s}\0`, 'latin1');
}

/** EVENT_FORMATS payload: u32 systems; per system name\0, u32 count, count × (u64 size, text) (§5.4). */
function eventFormatsPayload(): Buffer {
  const parts: Buffer[] = [u32(Object.keys(EVENT_FORMAT_TEXTS).length)];
  for (const [sys, events] of Object.entries(EVENT_FORMAT_TEXTS)) {
    parts.push(cstr(sys), u32(Object.keys(events).length));
    for (const text of Object.values(events)) {
      const t = Buffer.from(text, 'latin1');
      parts.push(u64(t.length), t);
    }
  }
  return Buffer.concat(parts);
}

function cmdlinesPayload(tasks: readonly { comm: string; tid: number }[]): Buffer {
  const seen = new Set<number>();
  let text = '';
  for (const t of tasks) {
    if (t.tid === 0 || seen.has(t.tid)) continue;
    seen.add(t.tid);
    text += `${t.tid} ${t.comm}\n`;
  }
  const b = Buffer.from(text, 'latin1');
  return Buffer.concat([u64(b.length), b]);
}

function section(id: number, payload: Buffer): Buffer {
  return Buffer.concat([encodeLayout(SECTION_HEADER, { id, flags: 0, descriptionId: 0xffffffff, size: BigInt(payload.length) }), payload]);
}
function option(id: number, data: Buffer): Buffer {
  return Buffer.concat([encodeLayout(OPTION_HEADER, { id, size: data.length }), data]);
}

/** One CPU's ring-buffer pages, appended to a file descriptor as they fill. */
interface PageWriter {
  add(ts: number, rec: Buffer, len: number): void;
  finish(): number;
}

function createPageWriter(fd: number, startPos: number): PageWriter {
  const page = Buffer.alloc(PAGE_SIZE);
  let p = PAGE_HEADER;
  let last = 0;
  let pos = startPos;
  let open = false;
  const flush = (): void => {
    if (!open) return;
    page.writeBigUInt64LE(BigInt(p - PAGE_HEADER), 8);
    page.fill(0, p);
    writeSync(fd, page, 0, PAGE_SIZE, pos);
    pos += PAGE_SIZE;
    open = false;
  };
  return {
    add(ts, rec, len) {
      let delta = open ? ts - last : 0;
      const extend = delta >= TWO27;
      const need = 4 + len + (extend ? 8 : 0);
      if (!open || p + need > PAGE_SIZE) {
        flush();
        encodeLayout(PAGE_HEADER_64, { timestamp: BigInt(ts), commit: 0n }).copy(page, 0);
        p = PAGE_HEADER;
        delta = 0;
        open = true;
      } else if (extend) {
        // TIME_EXTEND (type_len 30): delta = array[0] << 27 | time_delta (§5.7).
        page.writeUInt32LE(((delta % TWO27) * 32 + 30) >>> 0, p);
        page.writeUInt32LE(Math.floor(delta / TWO27), p + 4);
        p += 8;
        delta = 0;
      }
      page.writeUInt32LE((delta * 32 + len / 4) >>> 0, p);
      rec.copy(page, p + 4, 0, len);
      p += 4 + len;
      last = ts;
    },
    finish() {
      flush();
      return pos - startPos;
    },
  };
}

/** Record bytes for one half-event (field offsets from event-formats.ts). */
function encodeRecord(e: Ev, ids: ReadonlyMap<string, number>, rec: Buffer): number {
  rec.fill(0, 0, 128);
  const id = (name: string): number => ids.get(name) ?? 0;
  const t = e.task;
  rec.writeInt32LE(t.tid, 4);
  const str16 = (s: string, at: number): void => {
    rec.write(s.slice(0, 15), at, 'latin1');
  };
  switch (e.kind) {
    case EV_ENTER: {
      const c = e.call;
      if (c === undefined) return 0;
      rec.writeUInt16LE(id(`sys_enter_${c.name}`), 0);
      rec.writeInt32LE(SYSCALL_NR[c.name], 8);
      switch (c.name) {
        case 'pread64':
        case 'pwrite64':
          rec.writeBigUInt64LE(BigInt(c.fd), 16);
          rec.writeBigUInt64LE(BigInt(c.buf), 24);
          rec.writeBigUInt64LE(BigInt(c.count), 32);
          rec.writeBigUInt64LE(BigInt(c.pos), 40);
          return 48;
        case 'read':
        case 'write':
          rec.writeBigUInt64LE(BigInt(c.fd), 16);
          rec.writeBigUInt64LE(BigInt(c.buf), 24);
          rec.writeBigUInt64LE(BigInt(c.count), 32);
          return 40;
        case 'ioctl':
          rec.writeBigUInt64LE(BigInt(c.fd), 16);
          rec.writeBigUInt64LE(BigInt(c.cmd), 24);
          rec.writeBigUInt64LE(BigInt(c.arg), 32);
          return 40;
        case 'futex':
          rec.writeBigUInt64LE(BigInt(c.buf), 16);
          rec.writeBigUInt64LE(0x80n, 24);
          rec.writeBigUInt64LE(2n, 32);
          return 64;
      }
      return 0;
    }
    case EV_EXIT: {
      const c = e.call;
      if (c === undefined) return 0;
      rec.writeUInt16LE(id(`sys_exit_${c.name}`), 0);
      rec.writeInt32LE(SYSCALL_NR[c.name], 8);
      rec.writeBigInt64LE(BigInt(c.ret), 16);
      return 24;
    }
    case EV_SWITCH: {
      const n = e.other;
      if (n === undefined) return 0;
      rec.writeUInt16LE(id('sched_switch'), 0);
      rec.writeUInt8(1, 2); // irqs off
      rec.writeUInt8(2, 3);
      str16(t.comm, 8);
      rec.writeInt32LE(t.tid, 24);
      rec.writeInt32LE(t.prio, 28);
      rec.writeBigInt64LE(e.prevState === 'S' ? 1n : 0n, 32);
      str16(n.comm, 40);
      rec.writeInt32LE(n.tid, 56);
      rec.writeInt32LE(n.prio, 60);
      return 64;
    }
    case EV_MARKER: {
      // ftrace:print (ID 5 in the sample's ftrace formats): ip at 8, buf[] at 16, the text
      // with the newline trace_marker adds and a NUL, padded to 4 bytes. Marker texts
      // stay short enough for a type_len record (≤ 112 bytes, §5.7).
      const n = rec.write(`${e.text}\n\0`, 16, 'latin1');
      rec.writeUInt16LE(PRINT_ID, 0);
      rec.writeUInt8(1, 3);
      rec.writeBigUInt64LE(0xffffffff8a2c5e10n, 8);
      const len = Math.ceil((16 + n) / 4) * 4;
      if (len > 112) throw new Error(`bench generator: marker too long for a type_len record: ${e.text}`);
      return len;
    }
    case EV_WAKEUP: {
      const w = e.other;
      if (w === undefined) return 0;
      rec.writeUInt16LE(id('sched_wakeup'), 0);
      rec.writeUInt8(5, 3);
      str16(w.comm, 8);
      rec.writeInt32LE(w.tid, 24);
      rec.writeInt32LE(w.prio, 28);
      rec.writeInt32LE(w.cpu, 32);
      return 36;
    }
  }
  return 0;
}

/** Write a v7 uncompressed trace.dat of at least `targetBytes` bytes of trace data. */
export function generateTraceDat(path: string, targetBytes: number, world: WorldOptions): GenResult {
  const w = createWorld(world);
  const ids = formatIds();
  const sample = splitV7(SAMPLE_V7);
  const meta = new Map<number, Buffer>(sample.meta);
  meta.set(OPT.EVENT_FORMATS, eventFormatsPayload());
  meta.set(OPT.CMDLINES, cmdlinesPayload(w.tasks));

  const head = encodeLayout(FILE_HEADER, { magic0: 0x17, magic1: 0x08, magic2: 0x44, tracing: 'tracing', version: '7', endian: 0, longSize: 8, pageSize: PAGE_SIZE });
  const compHeadLen = encodeLayout(V7_COMPRESSION_HEADER, { compression: 'none', compressionVersion: '', firstOptionsOffset: 0n }).length;
  let pos = head.length + compHeadLen;
  const metaSecs: Buffer[] = [];
  const refs: Buffer[] = [];
  for (const id of [OPT.HEADER_INFO, OPT.FTRACE_EVENTS, OPT.EVENT_FORMATS, OPT.KALLSYMS, OPT.PRINTK, OPT.CMDLINES]) {
    const payload = meta.get(id);
    if (payload === undefined) continue;
    const s = section(id, payload);
    refs.push(option(id, u64(pos)));
    metaSecs.push(s);
    pos += s.length;
  }
  // Plain options of the sample (clock, uname, version, trace id), not its CPU statistics.
  const plain = sample.options.filter((o) => o.id !== OPT.CPUSTAT).map((o) => option(o.id, o.data));
  const firstOptionsAt = pos;
  const opts1Payload = Buffer.concat([...refs, ...plain, option(OPT.DONE, u64(0))]);
  const opts1 = section(OPT.DONE, opts1Payload);
  const doneAt = firstOptionsAt + opts1.length - 8; // the DONE option's u64: patched below
  const bufferSecAt = firstOptionsAt + opts1.length;
  const dataStart = Math.ceil((bufferSecAt + 16) / PAGE_SIZE) * PAGE_SIZE;

  const fd = openSync(path, 'w');
  const tmpPath = `${path}.cpu1.tmp`;
  const fds = [fd];
  for (let c = 1; c < world.cpus; c++) fds.push(openSync(`${tmpPath}${c}`, 'w+'));
  try {
    let at = 0;
    const put = (b: Buffer): void => {
      writeSync(fd, b, 0, b.length, at);
      at += b.length;
    };
    put(head);
    put(encodeLayout(V7_COMPRESSION_HEADER, { compression: 'none', compressionVersion: '', firstOptionsOffset: BigInt(firstOptionsAt) }));
    for (const s of metaSecs) put(s);
    put(opts1);
    // BUFFER section header; its size (padding + all CPU data) is patched below.
    put(encodeLayout(SECTION_HEADER, { id: OPT.BUFFER, flags: 0, descriptionId: 0xffffffff, size: 0n }));
    put(Buffer.alloc(dataStart - at));

    // CPU 0 streams straight into the file; other CPUs into temporary files appended after.
    const writers = fds.map((f, c) => createPageWriter(f, c === 0 ? dataStart : 0));
    const rec = Buffer.alloc(128);
    let records = 0;
    let written = 0;
    while (written < targetBytes) {
      const e = w.next();
      const len = encodeRecord(e, ids, rec);
      if (len === 0) continue;
      const cpu = e.task.cpu;
      writers[cpu]?.add(e.ts, rec, len);
      records++;
      written += 4 + len;
    }
    const sizes = writers.map((wr) => wr.finish());
    const cpuOffsets: number[] = [];
    let off = dataStart;
    for (let c = 0; c < sizes.length; c++) {
      cpuOffsets.push(off);
      off += sizes[c] ?? 0;
    }
    // Append the other CPUs' pages.
    const chunk = Buffer.alloc(8 << 20);
    for (let c = 1; c < fds.length; c++) {
      const src = fds[c] ?? -1;
      let rp = 0;
      const size = sizes[c] ?? 0;
      while (rp < size) {
        const n = readSync(src, chunk, 0, Math.min(chunk.length, size - rp), rp);
        if (n <= 0) throw new Error('short read of a temporary CPU file');
        writeSync(fd, chunk, 0, n, (cpuOffsets[c] ?? 0) + rp);
        rp += n;
      }
    }
    const opts2At = off;
    const bufferOpt = Buffer.concat([
      encodeLayout(BUFFER_OPTION_HEAD, { sectionOffset: BigInt(bufferSecAt), instance: '', clock: sample.clock, pageSize: PAGE_SIZE, cpuCount: sizes.length }),
      ...sizes.map((s, c) => encodeLayout(BUFFER_OPTION_CPU, { cpu: c, offset: BigInt(cpuOffsets[c] ?? 0), size: BigInt(s) })),
    ]);
    const opts2 = section(OPT.DONE, Buffer.concat([option(OPT.BUFFER, bufferOpt), option(OPT.DONE, u64(0))]));
    writeSync(fd, opts2, 0, opts2.length, opts2At);
    writeSync(fd, u64(opts2At), 0, 8, doneAt);
    writeSync(fd, u64(opts2At - (bufferSecAt + 16)), 0, 8, bufferSecAt + 8);
    return { bytes: opts2At + opts2.length, records, sessions: w.sessions() };
  } finally {
    for (const f of fds) closeSync(f);
    for (let c = 1; c < world.cpus; c++) unlinkSync(`${tmpPath}${c}`);
  }
}
