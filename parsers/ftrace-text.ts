// ftrace text: the tracefs `trace` file (with its header) and `trace_pipe` output
// (spec trace-formats §2). Event lines:
//
//    qemu-system-x86-19794   [001] .....  1868.003137: sys_ioctl(fd: 4, cmd: 0x3b6b, arg: 0x7ffd67f3c4f0)
//    live_migration-19835   [000] .....  1868.003674: sys_pread64 -> 0x4
//    live_migration-19835   [000] ...1.  1868.003695: tracing_mark_write: vfio_migration_set_state  (0000:65:00.0) state 3
//    live_migration-20999   [001] DBZff  1876.884654: pwrite64_entry: (0x7f0686114470) fd=4 … val_u32=3 …
//
// with or without the TGID column and the irq-info flags, under any trace_clock. Syscall
// entry/exit pairs become one record each (parsers/text/syscall-assembler.ts). What the
// text cannot show: the bytes read or written (except through a uprobe's fetch args, or
// the bytes newer kernels append to write/pwrite64 entries), the path of an openat (except
// on newer kernels), ioctl argument structs, the process id without options/record-tgid,
// and nanoseconds (the text rounds to microseconds).
//
// Speed: most lines of a real trace are of no interest. A line is rejected after the
// prefix scan by a character test on the body; regexes only run on rare lines.

import type { LineParser, ParserSink } from '../src/record/types.js';
import { PREFIX_BAD, PREFIX_NONE, PREFIX_OK, commOf, newPrefixScan, readPrefixScan, scanEventPrefix, type PrefixScan } from './text/event-prefix.js';
import { scanEventPrefixBytes } from './text/event-prefix-bytes.js';
import { captureHeaderClock } from './text/clock-sync-marker.js';
import { createInterner, detach } from './text/detach.js';
import { parseLostLine } from './text/lost-events.js';
import { parseProbeBody } from './text/probe-args.js';
import { createSyscallAssembler, syscallAt, type EventCtx } from './text/syscall-assembler.js';
import { buildEnterInfo, newSyscallArgs, parseRetHex, scanColonArgs } from './text/syscall-args.js';
import { hasFraction, parseTraceTimestamp } from './text/timestamp.js';
import { createStreamOrder } from './stream-order.js';
import { cutShort } from './text/cut-line.js';
import { createHostReporter } from './text/host-name.js';

export interface FtraceTextOptions {
  /**
   * The trace_clock the capture used (`cat trace_clock`). The text does not name it
   * (except in the header comment `migscope capture` writes); the default is the kernel's
   * default, "local", or "counter" when the timestamps are raw integers (counter, uptime
   * and x86-tsc print integers; spec §2.4).
   */
  readonly clock?: string;
}

const LATENCY_MESSAGE =
  'ftrace latency-format output (options/latency-format=1) is not supported: it has no CPU column and µs times relative to the buffer start; disable it (echo 0 > options/latency-format) and read trace again';

/** `qemu-sys-20585     1..... 164886us+: sys_ioctl(…)`: a latency-format event line (spec §2.8). */
const LATENCY_LINE = /^\S.{0,15}-\d+\s+\d+\S{4,6}\s+\d+us.: /;

const MARK_PREFIX = 'tracing_mark_write: ';
/** The header comment capture/ftrace.ts writes (docs/tracers.md). */
const FTRACE_CAPTURE_HEADER = '# migscope-ftrace-capture ';

export function createFtraceTextParser(file: string, sink: ParserSink, options: FtraceTextOptions = {}): LineParser {
  const asm = createSyscallAssembler(file, sink);
  const scan = newPrefixScan();
  const args = newSyscallArgs();
  const intern = createInterner();
  /** Each thread's last comm (commOf). */
  const commByTid = new Map<number, string>();
  let clockReported = false;
  let latency = false;
  let lastTs: bigint | undefined;
  /** The clock a migscope capture names in its header comment. */
  let headerClock: string | undefined;
  /** The previous line was a print event: a prefix-less line is the rest of its text. */
  let afterPrint = false;
  /** Line number of a last line the input ended without a newline after (else -1). */
  let cutLine = -1;
  /** The line lineBytes scanned and handed on: `scan` holds its prefix already (else -1). */
  let prescanned = -1;
  // Each CPU's ring buffer is in time order (spec trace-formats §2.6).
  const order = createStreamOrder(file, 'CPU', (p) => sink.malformed(p));
  const reportHost = createHostReporter(sink);

  function malformed(lineNo: number, message: string): void {
    sink.malformed(lineNo === cutLine ? cutShort(file, lineNo, message, lastTs) : { src: { file, line: lineNo }, message, ...(lastTs !== undefined ? { tsNs: lastTs } : {}) });
  }

  function header(text: string, lineNo: number): void {
    if (text.startsWith('##### ')) {
      const lost = parseLostLine(text);
      if (lost !== undefined) {
        asm.lost(lastTs, lost.cpu, lost.count, lineNo);
        return;
      }
    }
    // "# entries-in-buffer/entries-written: 234/2886   #P:2": written minus kept were
    // overwritten before the snapshot (spec §2.2), all before the first line shown.
    if (text.startsWith('# entries-in-buffer/entries-written: ')) {
      const m = /^# entries-in-buffer\/entries-written: (\d{1,15})\/(\d{1,15})/.exec(text);
      if (m !== null) {
        const lost = Number(m[2]) - Number(m[1]);
        if (lost > 0) asm.lost(undefined, undefined, lost, lineNo);
      }
      return;
    }
    if (isLatencyHeader(text)) latency = true;
    headerClock = captureHeaderClock(text) ?? headerClock;
    // `migscope capture --tracer ftrace` names its host (optional: older captures do not).
    if (text.startsWith(FTRACE_CAPTURE_HEADER)) {
      const host = / host=(\S*)/.exec(text);
      if (host !== null) reportHost(host[1] ?? '', { file, line: lineNo }, 'capture header host=', lastTs);
    }
  }

  /** Parse the line's timestamp into lastTs; false (and reported) when malformed or a duplicate. */
  function stamp(text: string, lineNo: number): boolean {
    const tsNs = parseTraceTimestamp(text, scan.tsStart, scan.tsEnd);
    if (tsNs === undefined) {
      // Bounded quote: the "timestamp" of a garbled line can be most of a 1 MiB line.
      malformed(lineNo, `bad timestamp ${JSON.stringify(scan.tsEnd - scan.tsStart > 40 ? `${text.slice(scan.tsStart, scan.tsStart + 40)}…` : text.slice(scan.tsStart, scan.tsEnd))}`);
      return false;
    }
    if (!clockReported) {
      clockReported = true;
      sink.clock(options.clock ?? headerClock ?? (hasFraction(text, scan.tsStart, scan.tsEnd) ? 'local' : 'counter'));
    }
    const ts = order.check(scan.cpu, tsNs, text, lineNo);
    if (ts === undefined) return false; // a duplicate: reported, dropped
    lastTs = ts;
    return true;
  }

  function ctxOf(text: string, lineNo: number): EventCtx | undefined {
    if (!stamp(text, lineNo)) return undefined;
    return { tsNs: lastTs, pid: scan.tgid >= 0 ? scan.tgid : undefined, tid: scan.tid, comm: commOf(text, scan, intern, commByTid), cpu: scan.cpu, line: lineNo };
  }

  function syscall(text: string, lineNo: number, b: number): void {
    // "sys_NAME(" entry or "sys_NAME -> 0xRET" exit.
    const n = text.length;
    const paren = text.indexOf('(', b + 4);
    const sp = text.indexOf(' ', b + 4);
    const e = paren < 0 ? (sp < 0 ? n : sp) : sp < 0 || paren < sp ? paren : sp;
    const name = syscallAt(text, b + 4, e);
    if (name === undefined) {
      sink.skipped();
      return;
    }
    if (text.charCodeAt(e) === 40) {
      if (!scanColonArgs(text, e + 1, true, args)) {
        malformed(lineNo, `cannot parse the arguments of sys_${name}: ${excerpt(text, b)}`);
        return;
      }
      const info = buildEnterInfo(name, args, text);
      if (typeof info === 'string') {
        malformed(lineNo, info);
        return;
      }
      const ctx = ctxOf(text, lineNo);
      if (ctx !== undefined) asm.enter(ctx, name, info);
      return;
    }
    if (!text.startsWith(' -> ', e)) {
      malformed(lineNo, `sys_${name} event is neither an entry "(" nor an exit " -> ": ${excerpt(text, b)}`);
      return;
    }
    const ret = parseRetHex(text, e + 4, n);
    if (ret === undefined) {
      malformed(lineNo, `bad return value in sys_${name} exit: ${excerpt(text, b)}`);
      return;
    }
    if (stamp(text, lineNo)) asm.exit(scan.tid, name, ret);
  }

  function event(text: string, lineNo: number): void {
    const b = scan.bodyStart;
    const c = text.charCodeAt(b);
    if (c === 115 && text.startsWith('sys_', b)) {
      syscall(text, lineNo, b);
      return;
    }
    if (c === 116 && text.startsWith(MARK_PREFIX, b)) {
      afterPrint = true;
      const ctx = ctxOf(text, lineNo);
      if (ctx !== undefined) asm.marker(ctx, detach(text.slice(b + MARK_PREFIX.length)));
      return;
    }
    // A uprobe/kprobe: "EVENT: (" … (spec §3.3). Anything else is an event of no interest.
    // The name is word characters, so the only possible ": (" is right after them: look
    // there instead of searching the whole body (most lines of a busy trace end here).
    const colon = eventNameEnd(text, b);
    if (colon < 0 || text.charCodeAt(colon) !== 58 || text.charCodeAt(colon + 1) !== 32 || text.charCodeAt(colon + 2) !== 40 || !isEventName(text, b, colon)) {
      sink.skipped();
      return;
    }
    const probe = parseProbeBody(text, colon + 2);
    if (probe === undefined) {
      sink.skipped();
      return;
    }
    const ctx = ctxOf(text, lineNo);
    if (ctx !== undefined) asm.probe(ctx, text.slice(b, colon), probe.isReturn, probe.args);
  }

  function line(text: string, lineNo: number, unterminated?: boolean): void {
    if (unterminated === true) cutLine = lineNo;
    const c0 = text.charCodeAt(0);
    if (c0 === 35) {
      // '#': header and commentary (spec §2.2), and the buffer-started annotation.
      afterPrint = false;
      header(text, lineNo);
      return;
    }
    if (text.length === 0) return;
    if (latency) {
      if (text.trim().length === 0) return;
      malformed(lineNo, LATENCY_MESSAGE);
      return;
    }
    const status = prescanned === lineNo ? PREFIX_OK : scanEventPrefix(text, scan);
    prescanned = -1;
    if (status === PREFIX_OK) {
      afterPrint = false;
      event(text, lineNo);
      return;
    }
    // Not an event line: a lost-events line, the rest of a multi-line marker, or junk.
    const lost = parseLostLine(text);
    if (lost !== undefined) {
      afterPrint = false;
      asm.lost(lastTs, lost.cpu, lost.count, lineNo);
      return;
    }
    if (status === PREFIX_NONE && afterPrint) {
      // A trace_marker write containing newlines: only its first line has the prefix
      // (spec §2.5.3). The marker record keeps the first line.
      sink.skipped();
      return;
    }
    afterPrint = false;
    if (text.trim().length === 0) return; // blank line
    if (status === PREFIX_BAD) {
      malformed(lineNo, `truncated or garbled event line: ${excerpt(text, 0)}`);
      return;
    }
    if (LATENCY_LINE.test(text)) {
      malformed(lineNo, LATENCY_MESSAGE);
      return;
    }
    malformed(lineNo, `not an ftrace event line: ${excerpt(text, 0)}`);
  }

  /**
   * The byte fast path (parsers/lines.ts): an event line whose body is of no interest is
   * counted as skipped here, exactly as line() would, without becoming a string (95 % of
   * the lines of a busy host's trace: sched_switch, futex, …). Any other line goes to
   * line(), with its prefix scan kept when it has one. Headers, empty lines and latency
   * format are line()'s.
   */
  function lineBytes(b: Uint8Array, start: number, end: number, lineNo: number): boolean {
    if (latency) return false;
    const kind = classifyLineBytes(b, start, end, scan);
    if (kind === LINE_OF_INTEREST) prescanned = lineNo;
    if (kind !== LINE_SKIPPABLE) return false;
    afterPrint = false;
    sink.skipped();
    return true;
  }

  /** Lines a filter ahead of the parser found skippable with classifyLineBytes (parsers/line-filter.ts): what lineBytes does for each. */
  function skipLines(count: number): void {
    if (count <= 0) return;
    afterPrint = false;
    sink.skipped(count);
  }

  /** A line of interest with its prefix scanned by the line filter: scan[at] is its kind, then PrefixScan's fields (line-filter.ts). */
  function lineScanned(text: string, lineNo: number, s: Int32Array, at: number): void {
    if (!latency && s[at] === LINE_OF_INTEREST) {
      readPrefixScan(s, at + 1, scan);
      prescanned = lineNo;
    }
    line(text, lineNo);
  }

  return { line, lineBytes, skipLines, lineScanned, end: () => asm.end() };
}

/** A header line that says the trace is in latency format (no fast path from there on: line() reports its lines). */
export function isLatencyHeader(text: string): boolean {
  return /^# \S+ latency trace v/.test(text) || text.startsWith('#  cmd     pid');
}

/** classifyLineBytes: a header, blank or not an event line (line() decides). */
export const LINE_OTHER = 0;
/** classifyLineBytes: an event line line() parses; `scan` holds its prefix. */
export const LINE_OF_INTEREST = 1;
/** classifyLineBytes: an event line of no interest, counted as skipped without becoming a string. */
export const LINE_SKIPPABLE = 2;

/**
 * The byte fast path's decision on b[start, end) (one line of pure-ASCII input, without
 * its newline and "\r"), outside latency format: the parser's lineBytes, and the line
 * filter that runs it on another thread (parsers/line-filter.ts), so both skip the same lines.
 */
export function classifyLineBytes(b: Uint8Array, start: number, end: number, scan: PrefixScan): number {
  if (end === start || b[start] === 35) return LINE_OTHER;
  if (scanEventPrefixBytes(b, start, end, scan) !== PREFIX_OK) return LINE_OTHER;
  return bodyOfInterest(b, start + scan.bodyStart, end) ? LINE_OF_INTEREST : LINE_SKIPPABLE;
}

/**
 * Would event() do more than count the line as skipped? Mirrors its tests on bytes: a
 * "sys_" body naming a syscall migscope pairs, a marker, or "NAME: (" (a probe; its body
 * is parsed by the string path, which may still skip it).
 */
function bodyOfInterest(s: Uint8Array, b: number, n: number): boolean {
  const c = s[b];
  if (c === 115 && startsWithBytes(s, b, n, SYS)) {
    const paren = indexOfByte(s, b + 4, n, 40);
    const sp = indexOfByte(s, b + 4, n, 32);
    const e = paren < 0 ? (sp < 0 ? n : sp) : sp < 0 || paren < sp ? paren : sp;
    return pairedSyscall(s, b + 4, e);
  }
  if (c === 116 && startsWithBytes(s, b, n, MARK)) return true;
  let colon = b;
  const limit = Math.min(n, b + 65);
  while (colon < limit && isWordByte(s[colon] ?? 0)) colon++;
  if (colon === limit && limit < n) return false; // longer than an event name (eventNameEnd: -1)
  return colon > b && colon - b <= 64 && colon + 2 < n && s[colon] === 58 && s[colon + 1] === 32 && s[colon + 2] === 40;
}

const SYS = Buffer.from('sys_', 'latin1');
const MARK = Buffer.from(MARK_PREFIX, 'latin1');
const PAIRED = ['read', 'write', 'ioctl', 'close', 'openat', 'pread64', 'pwrite64'].map((n) => Buffer.from(n, 'latin1'));

/** syscallAt on bytes: is s[start, end) one of the syscalls the assembler pairs? */
function pairedSyscall(s: Uint8Array, start: number, end: number): boolean {
  for (const name of PAIRED) if (name.length === end - start && startsWithBytes(s, start, end, name)) return true;
  return false;
}

function startsWithBytes(s: Uint8Array, at: number, end: number, w: Uint8Array): boolean {
  if (at + w.length > end) return false;
  for (let i = 0; i < w.length; i++) if (s[at + i] !== w[i]) return false;
  return true;
}

function indexOfByte(s: Uint8Array, from: number, end: number, c: number): number {
  for (let i = from; i < end; i++) if (s[i] === c) return i;
  return -1;
}

function isWordByte(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

/** End of the run of word characters starting at `start` (at most 65 of them), or -1 when longer. */
function eventNameEnd(s: string, start: number): number {
  const limit = Math.min(s.length, start + 65);
  for (let i = start; i < limit; i++) {
    const c = s.charCodeAt(i);
    const word = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
    if (!word) return i;
  }
  return limit < s.length ? -1 : limit;
}

/** An event name: word characters only (rejects bodies that merely contain ": ("). */
function isEventName(s: string, start: number, end: number): boolean {
  if (end <= start || end - start > 64) return false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    const word = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
    if (!word) return false;
  }
  return true;
}

function excerpt(s: string, from: number): string {
  const t = s.slice(from, from + 100);
  return JSON.stringify(t.length < s.length - from ? t + '…' : t);
}

/**
 * Is this ftrace text? `trace` starts with "# tracer:"; `trace_pipe` output starts with
 * event lines whose bodies are the kernel's own renderings (`sys_x(`, `sys_x -> `,
 * `tracing_mark_write: `), which `trace-cmd report` never prints (it names events:
 * `sys_enter_x:`, `print:`), or with a lost-events line.
 */
export function detectFtraceText(firstLines: readonly string[]): boolean {
  const scan = newPrefixScan();
  let kernelStyle = 0;
  for (const l of firstLines) {
    if (l.trim() === '') continue;
    if (l.startsWith('# tracer:')) return true;
    if (l.startsWith('cpus=')) return false;
    if (/^CPU:\d+ \[LOST /.test(l)) return true;
    if (l.startsWith('#')) continue;
    if (scanEventPrefix(l, scan) !== 2) continue;
    const body = l.slice(scan.bodyStart);
    if (/^(?:sys_enter_|sys_exit_|print: )/.test(body) || /^\w+: {2}/.test(body)) return false;
    if (/^sys_\w+(?:\(| -> )/.test(body) || body.startsWith(MARK_PREFIX) || /^\w+: \(0x/.test(body)) kernelStyle++;
  }
  return kernelStyle > 0;
}
