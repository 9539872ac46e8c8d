// The generic event stream of a trace.dat: every ring-buffer record of every CPU, merged
// by time, with its event format looked up by common_type (spec/trace-formats.md §5.8:
// ids are per kernel build, always map them through the formats stored in the file).
// Knows nothing about syscalls or VFIO; records.ts maps events to TraceRecords.
import { type ByteSource } from './byte-source.js';
import { compressedPages, rawPages, type PageSource, type ProblemFn } from './cpu-data.js';
import { type EventFormat } from './event-format.js';
import { mergeCursors } from './merge.js';
import { type TraceDatMeta } from './metadata.js';
import { type Cursor, ITEM_LOST, ITEM_RECORD, createCursor } from './page.js';

export interface EventVisitor {
  /** A data record whose common_type has a stored format. */
  event(c: Cursor, fmt: EventFormat): void;
  /** The page this CPU continues with lost events before it (count when stored). */
  lost(c: Cursor): void;
  problem: ProblemFn;
}

export interface StreamOptions {
  /** On-disk trace-data bytes consumed so far and in total. */
  onProgress?(bytesDone: number, bytesTotal: number): void;
}

/** Common fields every record starts with (§5.8): common_type u16 at 0 ... common_pid at 4. */
const COMMON_LENGTH = 8;

export async function streamEvents(src: ByteSource, meta: TraceDatMeta, v: EventVisitor, opts: StreamOptions = {}): Promise<void> {
  const geo = { pageSize: meta.pageSize, headerSize: meta.pageHeaderSize, commitSize: meta.commitSize };
  const byId: (EventFormat | undefined)[] = new Array<EventFormat | undefined>(0x10000);
  for (const [id, f] of meta.formats) byId[id] = f;
  // Cursors in (instance order, cpu) order: ties in time go to the lower CPU (§5.7).
  const specs = [...meta.cpuData].sort((a, b) => (a.instance === b.instance ? (a.cpu ?? 0) - (b.cpu ?? 0) : 0));
  const sources: PageSource[] = [];
  const cursors: Cursor[] = specs.map((s) => {
    let ps: PageSource;
    if (s.compressed && meta.codec !== undefined) ps = compressedPages(src, s, meta.pageSize, meta.codec, v.problem);
    else {
      if (s.compressed) v.problem(s.offset, `CPU ${s.cpu ?? '?'} data is flagged compressed but the file says "none"; read as raw pages`);
      ps = rawPages(src, s, meta.pageSize, v.problem);
    }
    sources.push(ps);
    return createCursor(ps, s.cpu, s.instance, geo, v.problem);
  });
  const total = specs.reduce((n, s) => n + s.size, 0);
  const progress = (): void => {
    if (opts.onProgress === undefined) return;
    let done = 0;
    for (const s of sources) done += s.consumed;
    opts.onProgress(Math.min(done, total), total);
  };
  const visit = (c: Cursor): void => {
    if (c.kind === ITEM_LOST) {
      v.lost(c);
      return;
    }
    if (c.kind !== ITEM_RECORD) return;
    if (c.recLen < COMMON_LENGTH) {
      v.problem(c.fileOffset, `CPU ${c.cpu ?? '?'}: record of ${c.recLen} bytes is shorter than the common fields`);
      return;
    }
    const type = c.buf.readUInt16LE(c.recStart);
    const fmt = byId[type];
    if (fmt === undefined) {
      v.problem(c.fileOffset, `CPU ${c.cpu ?? '?'}: unknown event id ${type} (no stored format); record skipped`);
      return;
    }
    v.event(c, fmt);
  };
  await mergeCursors(cursors, visit, async () => {
    progress();
    await new Promise<void>((resolve) => setImmediate(resolve));
  });
  progress();
}
