// `trace-cmd report` text (spec trace-formats §6): the default rendering, `-R` (raw
// fields), `-t` (nanosecond timestamps), `-l` (latency columns), `--ts-diff` and `--cpu N`
// outputs, as trace-cmd 3.1.6 prints them:
//
//   cpus=2
//   CPU:1 [1233 EVENTS DROPPED]
//    live_migration-21294 [001]  1884.494548: sys_enter_pwrite64:   fd: 0x00000004, buf: 0x7fb2b80b6d20, count: 0x00000004, pos: 0x90000000000
//    live_migration-21294 [001]  1884.494551: sys_exit_pwrite64:    0x4
//    live_migration-21294 [001]  1884.494576: print:                tracing_mark_write: vfio_migration_set_state  (0000:65:00.0) state 3
//    live_migration-21066 [000]  1877.671656: pwrite64_entry:       (7fd934514470) fd=4 … val_u32=3 …
//
// Values come from each event's `print fmt` (`0x%08lx` for syscall arguments), not from
// the kernel's own syscall printer. The records are the same as parsers/ftrace-text.ts
// gives for the same facts (both use parsers/text/syscall-assembler.ts); what the text
// cannot show is the same too (see ftrace-text.ts), and the process id is never shown.
// Nor the host: the text has no UNAME line (`report --uname` prints it, but then no events),
// so this parser reports no ParserSink.host; --host or the trace.dat itself name it
// (docs/input-formats.md "The host an input names").

import type { LineParser, ParserSink } from '../src/record/types.js';
import { PREFIX_BAD, PREFIX_OK, commOf, newPrefixScan, scanEventPrefix } from './text/event-prefix.js';
import { createInterner, detach } from './text/detach.js';
import { parseLostLine } from './text/lost-events.js';
import { parseProbeBody } from './text/probe-args.js';
import { createSyscallAssembler, syscallAt, type EventCtx, type SyscallName } from './text/syscall-assembler.js';
import { buildEnterInfo, newSyscallArgs, parseRetHex, scanColonArgs, scanRawArgs } from './text/syscall-args.js';
import { hasFraction, parseTraceTimestamp } from './text/timestamp.js';
import { createStreamOrder } from './stream-order.js';
import { cutShort } from './text/cut-line.js';

export interface TraceCmdReportOptions {
  /**
   * The trace clock of the recording (trace.dat stores it; the report text does not show
   * it): default "local", or "counter" for raw integer timestamps.
   */
  readonly clock?: string;
}

/** `report -l`: `qemu-sys-21293   0.....  1884.493584: ` (comm cut to 8, CPU glued to the flags). */
const LATENCY_PREFIX = /^(.*?)-(\d+)\s+(\d+)[^\s\d]\S*\s+(\d+(?:\.\d+)?): /;

export function createTraceCmdReportParser(file: string, sink: ParserSink, options: TraceCmdReportOptions = {}): LineParser {
  const asm = createSyscallAssembler(file, sink);
  const scan = newPrefixScan();
  const args = newSyscallArgs();
  const intern = createInterner();
  let clockReported = false;
  let lastTs: bigint | undefined;
  /** Comm of a `report -l` line (scan positions do not apply to it). */
  let latencyComm: string | undefined;
  /** Line number of a last line the input ended without a newline after (else -1). */
  let cutLine = -1;
  // trace-cmd report merges the per-CPU buffers, each in time order (spec trace-formats §5.7).
  const order = createStreamOrder(file, 'CPU', (p) => sink.malformed(p));

  function malformed(lineNo: number, message: string): void {
    sink.malformed(lineNo === cutLine ? cutShort(file, lineNo, message, lastTs) : { src: { file, line: lineNo }, message, ...(lastTs !== undefined ? { tsNs: lastTs } : {}) });
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
      sink.clock(options.clock ?? (hasFraction(text, scan.tsStart, scan.tsEnd) ? 'local' : 'counter'));
    }
    const ts = order.check(scan.cpu, tsNs, text, lineNo);
    if (ts === undefined) return false; // a duplicate: reported, dropped
    lastTs = ts;
    return true;
  }

  function ctxOf(text: string, lineNo: number): EventCtx | undefined {
    if (!stamp(text, lineNo)) return undefined;
    const comm = latencyComm ?? commOf(text, scan, intern);
    return { tsNs: lastTs, pid: undefined, tid: scan.tid, comm, cpu: scan.cpu, line: lineNo };
  }

  function syscallEnter(text: string, lineNo: number, name: SyscallName, b: number): void {
    const ok = text.startsWith('__syscall_nr=', b) ? scanRawArgs(text, b, args) : scanColonArgs(text, b, false, args);
    if (!ok) {
      malformed(lineNo, `cannot parse the fields of sys_enter_${name}: ${excerpt(text, b)}`);
      return;
    }
    const info = buildEnterInfo(name, args, text);
    if (typeof info === 'string') {
      malformed(lineNo, info);
      return;
    }
    const ctx = ctxOf(text, lineNo);
    if (ctx !== undefined) asm.enter(ctx, name, info);
  }

  function syscallExit(text: string, lineNo: number, name: SyscallName, b: number): void {
    let ret: number | undefined;
    if (text.startsWith('__syscall_nr=', b)) {
      ret = scanRawArgs(text, b, args) ? args.ret : undefined;
    } else {
      let e = text.length;
      while (e > b && text.charCodeAt(e - 1) === 32) e--;
      ret = parseRetHex(text, b, e);
    }
    if (ret === undefined) {
      malformed(lineNo, `bad return value in sys_exit_${name}: ${excerpt(text, b)}`);
      return;
    }
    if (stamp(text, lineNo)) asm.exit(scan.tid, name, ret);
  }

  /** `print: tracing_mark_write: TEXT`, `print: 0xffffffff814aa001: TEXT`, `-R`: `ip=… buf=TEXT`. */
  function print(text: string, lineNo: number, b: number): void {
    let textStart: number;
    if (text.startsWith('ip=', b)) {
      const buf = text.indexOf(' buf=', b);
      if (buf < 0) {
        malformed(lineNo, `print event without buf=: ${excerpt(text, b)}`);
        return;
      }
      if (!isMarkerIp(text, b + 3, buf)) {
        sink.skipped();
        return;
      }
      textStart = buf + 5;
    } else {
      const colon = text.indexOf(': ', b);
      if (colon < 0) {
        malformed(lineNo, `print event without "ip: text": ${excerpt(text, b)}`);
        return;
      }
      // Kernel code can write print events too (trace_puts); trace_marker writes show
      // tracing_mark_write, or a bare address when the saved kallsyms do not cover it.
      if (!isMarkerIp(text, b, colon)) {
        sink.skipped();
        return;
      }
      textStart = colon + 2;
    }
    const ctx = ctxOf(text, lineNo);
    if (ctx !== undefined) asm.marker(ctx, detach(text.slice(textStart)));
  }

  function event(text: string, lineNo: number): void {
    let i = scan.bodyStart;
    const n = text.length;
    // `--ts-diff`: "(+17)" before the event name.
    if (text.charCodeAt(i) === 40 && text.charCodeAt(i + 1) === 43) {
      const close = text.indexOf(')', i);
      if (close < 0) {
        malformed(lineNo, `bad --ts-diff column: ${excerpt(text, i)}`);
        return;
      }
      i = close + 1;
    }
    while (i < n && text.charCodeAt(i) === 32) i++;
    const colon = text.indexOf(':', i);
    if (colon < 0 || colon === i) {
      malformed(lineNo, `event line without an event name: ${excerpt(text, 0)}`);
      return;
    }
    let b = colon + 1;
    while (b < n && text.charCodeAt(b) === 32) b++;
    const c = text.charCodeAt(i);
    if (c === 115 && text.startsWith('sys_e', i)) {
      // sys_enter_NAME / sys_exit_NAME
      const enter = text.startsWith('sys_enter_', i);
      const nameStart = i + (enter ? 10 : text.startsWith('sys_exit_', i) ? 9 : 0);
      const name = nameStart > i ? syscallAt(text, nameStart, colon) : undefined;
      if (name === undefined) {
        sink.skipped();
        return;
      }
      if (enter) syscallEnter(text, lineNo, name, b);
      else syscallExit(text, lineNo, name, b);
      return;
    }
    if (c === 112 && colon === i + 5 && text.startsWith('print', i)) {
      print(text, lineNo, b);
      return;
    }
    const probe = parseProbeBody(text, b);
    if (probe === undefined) {
      sink.skipped();
      return;
    }
    const ctx = ctxOf(text, lineNo);
    if (ctx !== undefined) asm.probe(ctx, text.slice(i, colon), probe.isReturn, probe.args);
  }

  function latencyLine(text: string): boolean {
    const m = LATENCY_PREFIX.exec(text);
    if (m === null) return false;
    const [all, comm, pid, cpu, ts] = m;
    if (comm === undefined || pid === undefined || cpu === undefined || ts === undefined) return false;
    scan.tid = Number(pid);
    scan.tgid = -1;
    scan.cpu = Number(cpu);
    scan.tsEnd = all.length - 2;
    scan.tsStart = scan.tsEnd - ts.length;
    scan.bodyStart = all.length;
    latencyComm = intern(comm.trim());
    return true;
  }

  function line(text: string, lineNo: number, unterminated?: boolean): void {
    if (unterminated === true) cutLine = lineNo;
    if (text.length === 0) return;
    const status = scanEventPrefix(text, scan);
    if (status === PREFIX_OK) {
      latencyComm = undefined;
      event(text, lineNo);
      return;
    }
    if (text.trim().length === 0) return;
    // Header: "cpus=N"; trace-cmd also says when a CPU recorded nothing.
    if (/^cpus=\d+\s*$/.test(text) || /^CPU \d+ is empty\s*$/.test(text)) return;
    const lost = parseLostLine(text);
    if (lost !== undefined) {
      asm.lost(lastTs, lost.cpu, lost.count, lineNo);
      return;
    }
    if (status !== PREFIX_BAD && latencyLine(text)) {
      event(text, lineNo);
      latencyComm = undefined;
      return;
    }
    malformed(lineNo, status === PREFIX_BAD ? `truncated or garbled event line: ${excerpt(text, 0)}` : `not a trace-cmd report line: ${excerpt(text, 0)}`);
  }

  return { line, end: () => asm.end() };
}

/** The ip of a trace_marker write: `tracing_mark_write`, or an unresolved `0x…` address. */
function isMarkerIp(s: string, start: number, end: number): boolean {
  if (end - start === 18 && s.startsWith('tracing_mark_write', start)) return true;
  return end - start > 2 && /^0x[0-9a-f]+$/.test(s.slice(start, end));
}

function excerpt(s: string, from: number): string {
  const t = s.slice(from, from + 100);
  return JSON.stringify(t.length < s.length - from ? t + '…' : t);
}

/**
 * Is this `trace-cmd report` output? It starts with "cpus=N", then event lines that name
 * their event (`sys_enter_x:`, `print:`) or "CPU:n [… EVENTS DROPPED]". Other report
 * modes (--stat, -E, --events) start with "cpus=" or format text but have no event lines.
 */
export function detectTraceCmdReport(firstLines: readonly string[]): boolean {
  const scan = newPrefixScan();
  const lines = firstLines.filter((l) => l.trim() !== '');
  const first = lines[0];
  if (first === undefined) return false;
  const cpus = /^cpus=\d+\s*$/.test(first);
  const rest = cpus ? lines.slice(1) : lines;
  if (rest.length === 0) return cpus;
  let events = 0;
  for (const l of rest) {
    if (/^CPU:\d+ \[(?:\d+ )?EVENTS DROPPED\]/.test(l)) {
      events++;
      continue;
    }
    if (scanEventPrefix(l, scan) === PREFIX_OK) {
      const body = l.slice(scan.bodyStart).replace(/^\(\+\d+\)/, '').trimStart();
      if (/^\w+: /.test(body) && !/^sys_\w+(?:\(| -> )/.test(body) && !body.startsWith('tracing_mark_write: ')) {
        events++;
        continue;
      }
      return false; // the kernel's own rendering: ftrace text
    }
    if (LATENCY_PREFIX.test(l)) {
      events++;
      continue;
    }
    return false;
  }
  return events > 0;
}
