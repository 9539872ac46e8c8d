// parsers/tracedat: trace-cmd's binary trace.dat (versions 6 and 7) → TraceRecords.
// See spec/trace-formats.md §5. Public surface only.
import type { ParserSink } from '../../src/record/types.js';
import { type ByteSource, TraceDatError, openFileSource } from './byte-source.js';
import { streamEvents } from './events.js';
import { type MetaProblem, type UnameOption, readMetadata, readUnameOption } from './metadata.js';
import { createHostReporter, unameNodename } from '../text/host-name.js';
import { createRecordMapper } from './records.js';
import { restoreZstdFileBudget, setZstdFileBudget } from './zstd-guard.js';

export { detectTraceDat } from './header.js';
export { TraceDatError } from './byte-source.js';

export interface TraceDatOptions {
  onProgress?(bytesDone: number, bytesTotal: number): void;
  /** Time the whole file may spend in the zstd decoder (zstd-guard.ts); default: per-frame deadlines only. */
  zstdBudgetMs?: number;
}

/**
 * Parse a trace.dat into `sink`. Reads with positioned, bounded reads (one page or one
 * decompressed chunk per CPU in memory). Damage inside the trace data is reported through
 * sink.malformed with its byte offset and parsing goes on; the promise rejects with a
 * TraceDatError (carrying the offset) only when nothing can be read at all: wrong magic,
 * unsupported version, or metadata (formats, buffer table) that cannot be located.
 */
export async function parseTraceDatSource(src: ByteSource, sink: ParserSink, opts: TraceDatOptions = {}): Promise<void> {
  // One file at a time per process has a budget (the fuzzer runs its cases one by one).
  const prev = setZstdFileBudget(opts.zstdBudgetMs);
  try {
    await parseWithin(src, sink, opts);
  } finally {
    restoreZstdFileBudget(prev);
  }
}

async function parseWithin(src: ByteSource, sink: ParserSink, opts: TraceDatOptions): Promise<void> {
  const problems: MetaProblem[] = [];
  const meta = readMetadata(src, problems);
  for (const p of problems) sink.malformed({ src: { file: src.file, byteOffset: p.byteOffset }, message: p.message });
  if (meta.clock !== undefined) sink.clock(meta.clock);
  if (meta.uname !== undefined) reportUname(meta.uname, src.file, sink);
  if (meta.cpuData.length === 0) {
    sink.malformed({ src: { file: src.file, byteOffset: 0 }, message: 'the file holds no per-CPU trace data' });
  }
  const mapper = createRecordMapper(meta, sink, src.file);
  await streamEvents(src, meta, mapper, opts);
  mapper.end();
}

export async function parseTraceDat(path: string, sink: ParserSink, opts: TraceDatOptions = {}): Promise<void> {
  const src = openFileSource(path);
  try {
    await parseTraceDatSource(src, sink, opts);
  } catch (e) {
    if (e instanceof TraceDatError) throw new TraceDatError(`${path}: ${e.message.replace(/^byte \d+: /, '')}`, e.byteOffset);
    throw e;
  } finally {
    src.close();
  }
}

/** The recording host from the UNAME option's nodename (a bad one is a problem at its byte offset). */
function reportUname(u: UnameOption, file: string, sink: ParserSink): void {
  const n = unameNodename(u.text);
  const src = { file, byteOffset: u.byteOffset };
  if (!n.ok) sink.malformed({ src, message: `UNAME option: ${n.error}` });
  else createHostReporter(sink)(n.name, src, 'trace.dat UNAME option nodename');
}

/**
 * What a trace.dat's metadata says about the input without reading its trace data: the
 * recording host (UNAME), for planning a merge (src/cli/input-merge.ts). A file whose
 * metadata cannot be read says nothing here; analysing it reports why.
 */
export function probeTraceDat(path: string, sink: ParserSink): void {
  let src: ByteSource | undefined;
  try {
    src = openFileSource(path);
    const u = readUnameOption(src);
    if (u !== undefined) reportUname(u, src.file, sink);
  } catch (e) {
    // Damage, a decoder's refusal, an fs error: the probe only plans; parsing the file
    // runs the same reads again and reports what is wrong where it is.
    if (!(e instanceof Error)) throw e;
  } finally {
    src?.close();
  }
}
