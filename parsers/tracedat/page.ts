// Ring-buffer page walker (spec/trace-formats.md §5.7; kernel kernel/trace/ring_buffer.c
// rb_event_length / rb_update_read_stamp, libtraceevent kbuffer-parse.c translate_data).
// One cursor per CPU; it holds one page (or one decompressed chunk) and exposes the
// current item in mutable fields so the merge loop allocates nothing per record.
import { type PageSource, type ProblemFn } from './cpu-data.js';
import { decodeLayout, defineLayout } from './layout.js';

/** §5.7 page header with an 8-byte long (header_page: timestamp at 0, commit at 8). */
export const PAGE_HEADER_64 = defineLayout([
  { name: 'timestamp', type: 'u64' },
  { name: 'commit', type: 'u64' },
]);
/** The same with a 4-byte long. */
export const PAGE_HEADER_32 = defineLayout([
  { name: 'timestamp', type: 'u64' },
  { name: 'commit', type: 'u32' },
]);

/** Event header word: type_len in the low 5 bits, time_delta in the high 27 (little-endian). */
export const TYPE_PADDING = 29;
export const TYPE_TIME_EXTEND = 30;
export const TYPE_TIME_STAMP = 31;
export const TS_SHIFT = 27;
/** commit word: low 27 bits = data bytes; bit 31 missed events; bit 30 count stored (§5.7, §8.6). */
export const COMMIT_MASK = (1 << 27) - 1;
export const MISSED_EVENTS = 0x80000000;
export const MISSED_STORED = 0x40000000;
const COMMIT_RESERVED = 0x38000000;
const TWO27 = 2 ** 27;
/** Below this a number plus one 27-bit delta is still exact. */
const SAFE_T = Number.MAX_SAFE_INTEGER - TWO27;
const TS_MSB = 0xf8n << 56n;

export const ITEM_DONE = 0;
export const ITEM_RECORD = 1;
export const ITEM_LOST = 2;

export interface Cursor {
  readonly cpu: number | undefined;
  readonly instance: string;
  /** ITEM_RECORD, ITEM_LOST or ITEM_DONE. */
  kind: number;
  /** Exact time: a number while it is a safe integer, a bigint beyond. */
  ts: number | bigint;
  /** ITEM_RECORD: the record bytes are buf[recStart, recStart+recLen). */
  buf: Buffer;
  recStart: number;
  recLen: number;
  /** File offset of the record (raw data) or of its compressed chunk. */
  fileOffset: number;
  /** True when fileOffset is a compressed chunk's. */
  compressed: boolean;
  /** Compressed data: the record's offset inside its decompressed chunk (a file offset cannot name it). */
  inChunk: number;
  /** ITEM_LOST: count when the page stored one. */
  lostCount: number | undefined;
  readonly pages: PageSource;
  advance(): void;
}

export interface PageGeometry {
  readonly pageSize: number;
  readonly headerSize: number;
  readonly commitSize: 4 | 8;
}

export function createCursor(
  pages: PageSource,
  cpu: number | undefined,
  instance: string,
  geo: PageGeometry,
  problem: ProblemFn,
): Cursor {
  const layout = geo.commitSize === 8 ? PAGE_HEADER_64 : PAGE_HEADER_32;
  const hsz = geo.headerSize;
  const cpuName = cpu ?? '?';
  let inPage = false;
  let p = 0;
  let end = 0;
  let t = 0; // running time while exact as a number
  let tb = 0n; // running time once it is not
  let big = false;
  let pageTs: number | bigint = 0;
  let pendingLost = false;
  let pendingCount: number | undefined;
  let held = false;
  let heldTs: number | bigint = 0;

  const where = (q: number): number => (pages.compressed ? pages.fileOffset : pages.fileOffset + (q - pages.start));
  const what = (q: number): string =>
    pages.compressed
      ? `CPU ${cpuName} compressed chunk at byte ${pages.fileOffset}, page ${pages.pageInChunk}, offset ${q - pages.start}`
      : `CPU ${cpuName} page at byte ${pages.fileOffset}, offset ${q - pages.start}`;

  function loadPage(): boolean {
    while (pages.next()) {
      const buf = pages.buf;
      const s = pages.start;
      if (pages.avail < hsz) {
        problem(pages.fileOffset, `${what(s)}: page header cut off (truncated)`);
        continue;
      }
      const h = decodeLayout(layout, buf, s);
      if (h === undefined) continue;
      const stamp = h.big('timestamp');
      const commit = geo.commitSize === 8 ? h.big('commit') : BigInt(h.num('commit'));
      const low = Number(commit & 0xffffffffn);
      const high = commit >> 32n;
      const size = low & COMMIT_MASK;
      // The flag bits are set as a negative int: sign-extended on 64-bit (§8.6). Anything
      // else in the high half, or in bits 27..29, is corruption.
      if ((high !== 0n && high !== 0xffffffffn) || (low & COMMIT_RESERVED) !== 0 || (high !== 0n && (low & MISSED_EVENTS) === 0)) {
        problem(where(s + 8), `${what(s)}: bad page header (commit word 0x${commit.toString(16)}); page skipped`);
        continue;
      }
      if (size > geo.pageSize - hsz) {
        problem(where(s + 8), `${what(s)}: bad page header (commit says ${size} data bytes, page holds ${geo.pageSize - hsz}); page skipped`);
        continue;
      }
      end = s + hsz + size;
      if (end > s + pages.avail) {
        problem(where(s + pages.avail), `${what(s)}: page data cut off after ${pages.avail - hsz} of ${size} bytes (truncated)`);
        end = s + pages.avail;
      }
      if ((low & MISSED_EVENTS) !== 0) {
        pendingLost = true;
        pendingCount = undefined;
        const at = s + hsz + size;
        if ((low & MISSED_STORED) !== 0 && at + geo.commitSize <= s + pages.avail) {
          pendingCount = geo.commitSize === 8 ? Number(buf.readBigUInt64LE(at)) : buf.readUInt32LE(at);
        }
      }
      if (stamp <= BigInt(SAFE_T)) {
        t = Number(stamp);
        big = false;
        pageTs = t;
      } else {
        tb = stamp;
        big = true;
        pageTs = stamp;
      }
      p = s + hsz;
      inPage = true;
      return true;
    }
    return false;
  }

  function addDelta(d: number): void {
    if (big) tb += BigInt(d);
    else {
      t += d;
      if (t > SAFE_T) {
        tb = BigInt(t);
        big = true;
      }
    }
  }

  const cur: Cursor = {
    cpu,
    instance,
    kind: ITEM_DONE,
    ts: 0,
    buf: pages.buf,
    recStart: 0,
    recLen: 0,
    fileOffset: 0,
    compressed: pages.compressed,
    inChunk: 0,
    lostCount: undefined,
    pages,
    advance() {
      if (held) {
        held = false;
        cur.kind = ITEM_RECORD;
        cur.ts = heldTs;
        return;
      }
      for (;;) {
        if (!inPage) {
          if (!loadPage()) {
            cur.kind = ITEM_DONE;
            return;
          }
        }
        if (p >= end) {
          inPage = false;
          if (pendingLost) {
            // A page that lost events but holds none: the gap is at its timestamp.
            pendingLost = false;
            cur.kind = ITEM_LOST;
            cur.ts = pageTs;
            cur.lostCount = pendingCount;
            cur.fileOffset = pages.fileOffset;
            return;
          }
          continue;
        }
        const buf = pages.buf;
        if (p + 4 > end) {
          problem(where(p), `${what(p)}: event header runs past the page data; rest of page skipped`);
          inPage = false;
          continue;
        }
        const w = buf.readUInt32LE(p);
        const typeLen = w & 0x1f;
        const delta = w >>> 5;
        const at = p;
        p += 4;
        let len: number;
        if (typeLen >= 29 || typeLen === 0) {
          if (typeLen === TYPE_PADDING && delta === 0) {
            // The rest of the page is empty.
            inPage = false;
            continue;
          }
          if (p + 4 > end) {
            problem(where(at), `${what(at)}: event (type ${typeLen}) runs past the page data; rest of page skipped`);
            inPage = false;
            continue;
          }
          const a0 = buf.readUInt32LE(p);
          if (typeLen === TYPE_PADDING) {
            // A discarded event: 4 + array[0] bytes in total; its delta still counts.
            if (p + a0 > end || a0 < 4) {
              problem(where(at), `${what(at)}: padding of ${a0} bytes runs past the page data; rest of page skipped`);
              inPage = false;
              continue;
            }
            addDelta(delta);
            p += a0;
            continue;
          }
          if (typeLen === TYPE_TIME_EXTEND) {
            p += 4;
            if (!big && a0 < 2 ** 26) {
              const ext = a0 * TWO27 + delta;
              if (ext <= SAFE_T - t) {
                t += ext;
                continue;
              }
            }
            if (!big) {
              tb = BigInt(t);
              big = true;
            }
            tb += (BigInt(a0) << 27n) + BigInt(delta);
            continue;
          }
          if (typeLen === TYPE_TIME_STAMP) {
            // Absolute time; the top 5 bits come from the current time (§5.7).
            p += 4;
            const cur0 = big ? tb : BigInt(t);
            const abs = ((BigInt(a0) << 27n) + BigInt(delta)) | (cur0 & TS_MSB);
            if (abs <= BigInt(SAFE_T)) {
              t = Number(abs);
              big = false;
            } else {
              tb = abs;
              big = true;
            }
            continue;
          }
          // type_len 0: array[0] is the length including itself (records > 112 bytes).
          if (a0 < 4) {
            problem(where(at), `${what(at)}: record length word ${a0} is too small; rest of page skipped`);
            inPage = false;
            continue;
          }
          len = ((a0 - 4 + 3) & ~3) >>> 0;
          p += 4;
        } else {
          len = typeLen * 4;
        }
        if (p + len > end) {
          problem(where(at), `${what(at)}: record of ${len} bytes runs past the page data; rest of page skipped`);
          inPage = false;
          continue;
        }
        addDelta(delta);
        cur.buf = buf;
        cur.recStart = p;
        cur.recLen = len;
        cur.fileOffset = where(at);
        // buf is the whole decompressed chunk for compressed data: `at` is the offset in it
        cur.inChunk = at;
        p += len;
        const ts = big ? tb : t;
        if (pendingLost) {
          // trace-cmd prints the drop marker right before the page's first record.
          pendingLost = false;
          held = true;
          heldTs = ts;
          cur.kind = ITEM_LOST;
          cur.ts = ts;
          cur.lostCount = pendingCount;
          return;
        }
        cur.kind = ITEM_RECORD;
        cur.ts = ts;
        return;
      }
    },
  };
  return cur;
}
