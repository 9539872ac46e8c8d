// Input accounting for timestamped lines: a record whose time goes backwards on its
// stream, and the same record seen twice. A stream is what the tracer keeps in order:
// one CPU's ring buffer for ftrace and trace-cmd (spec trace-formats §2.6: the kernel
// orders each CPU's buffer, and `trace`/`trace_pipe` merge CPUs by time), one thread for
// bpftrace (a thread's next syscall cannot enter before its previous one returned; the
// per-CPU perf buffers can print two threads' records out of order, capture/reorder.ts).
//
// What is done, and why:
// - A duplicate (the same line text, same stream, same time, as a line still in the
//   recent-line window) is dropped and reported: overlapping captures and repeated lines
//   would otherwise count bytes twice and pair a syscall entry with a copy of itself.
//   A line is only compared when it is not ahead of its stream: when its time is below
//   the stream's latest, when it is the stream's previous line again, or while a replay
//   of already-seen lines is going on. Two identical lines at the same microsecond with
//   another line of the stream between them are real (ftrace text rounds to µs: an exit,
//   the next entry and an identical exit can share one), so they are kept.
// - A backwards step (a line earlier than the previous line of its stream) is reported
//   and the record kept in file order, with its time held at the stream's latest time
//   until the stream's clock passes it again: the decoder and tracker see the records in
//   file order, so a time earlier than an already-processed one would make a negative
//   duration. The problem gives the time the input showed.
//
// Streams of a gone process (host mode, `watch --all`: processes come and go for months):
// a stream may name the group it belongs to (bpftrace: the thread's process), and
// dropGroup() forgets the group's streams when the trace shows the process ended
// (migscope.bt's `vmmexit`). Without it every thread ever seen keeps its state. Why that
// loses nothing: a thread's record after the exit (a thread that outlived its leader,
// printed at its syscall's exit) is of a later syscall than any before it, so it enters
// after the thread's latest time and a fresh stream gives it the same time, no problem,
// as the kept state would; a later process reusing the pid or a tid starts fresh, as the
// decoder's forgetProcess does. Only an anomaly of such a straggler (a copy of, or a time
// earlier than, a line before the exit) goes unnoticed; the window still holds the lines.
//
// Window: the last WINDOW lines of interest over all streams (a replay that starts
// further back than that is reported as a backwards step and its records are kept;
// the problem says so). Keeping the lines costs no copy (the slots point at strings the
// line splitter made anyway) and pins at most the last few input chunks.

import type { InputProblem } from '../src/record/types.js';

export const ORDER_WINDOW = 4096;

/** How a format names its streams in messages. */
export type StreamUnit = 'CPU' | 'thread';

interface StreamState {
  /** Time of the stream's previous line as the input gave it. */
  lastRaw: bigint;
  /** Line number of the stream's previous line. */
  lastLine: number;
  /** Latest time of the stream so far: records are held at it (never earlier). */
  maxTs: bigint;
  /** Window sequence number of the stream's previous line. */
  lastSeq: number;
  /** The previous line of the stream was a duplicate: the next one is compared too. */
  replaying: boolean;
  /** The group the stream belongs to (bpftrace: the thread's pid); undefined when none was named. */
  readonly group: number | undefined;
}

export interface StreamOrder {
  /**
   * The line `text` of stream `key` at `tsNs` (line `lineNo`) is about to become a
   * record. Returns the time to give the record (tsNs, or the stream's latest time after a
   * backwards step), or undefined when the line is a duplicate to drop (reported).
   */
  check(key: number, tsNs: bigint, text: string, lineNo: number, group?: number): bigint | undefined;
  /** The group's streams are gone for good (a process that exited): forget their state. */
  dropGroup(group: number): void;
  /** Streams whose state is kept now (tests of host mode's memory). */
  liveStreams(): number;
}

export function createStreamOrder(file: string, unit: StreamUnit, report: (p: InputProblem) => void): StreamOrder {
  const streams = new Map<number, StreamState>();
  // The window: parallel arrays, written in place (no allocation per line).
  const texts: string[] = new Array<string>(ORDER_WINDOW).fill('');
  const times: bigint[] = new Array<bigint>(ORDER_WINDOW).fill(0n);
  const keys: number[] = new Array<number>(ORDER_WINDOW).fill(0);
  const lines: number[] = new Array<number>(ORDER_WINDOW).fill(0);
  let seq = 0; // lines stored so far

  function store(key: number, tsNs: bigint, text: string, lineNo: number): number {
    const slot = seq % ORDER_WINDOW;
    texts[slot] = text;
    times[slot] = tsNs;
    keys[slot] = key;
    lines[slot] = lineNo;
    return seq++;
  }

  /** Line number of an identical line of the stream in the window, newest first. */
  function search(key: number, tsNs: bigint, text: string): number | undefined {
    const n = Math.min(seq, ORDER_WINDOW);
    for (let i = 1; i <= n; i++) {
      const slot = (seq - i) % ORDER_WINDOW;
      if (times[slot] === tsNs && keys[slot] === key && texts[slot] === text) return lines[slot];
    }
    return undefined;
  }

  function inWindow(s: number): boolean {
    return seq - s <= ORDER_WINDOW;
  }

  // Consecutive lines are mostly of one CPU/thread: skip the map lookup for them.
  let lastKey = Number.NaN;
  let lastState: StreamState | undefined;

  return {
    liveStreams: () => streams.size,
    dropGroup(group) {
      for (const [key, s] of streams) if (s.group === group) streams.delete(key);
      // The one-entry cache may hold a dropped stream.
      lastKey = Number.NaN;
      lastState = undefined;
    },
    check(key, tsNs, text, lineNo, group) {
      const s = key === lastKey ? lastState : streams.get(key);
      if (s === undefined) {
        const at = store(key, tsNs, text, lineNo);
        lastState = { lastRaw: tsNs, lastLine: lineNo, maxTs: tsNs, lastSeq: at, replaying: false, group };
        lastKey = key;
        streams.set(key, lastState);
        return tsNs;
      }
      lastKey = key;
      lastState = s;
      if (tsNs > s.maxTs) {
        // The common case: the stream moves forward.
        s.replaying = false;
        s.lastSeq = store(key, tsNs, text, lineNo);
        s.lastRaw = tsNs;
        s.lastLine = lineNo;
        s.maxTs = tsNs;
        return tsNs;
      }
      let earlier: number | undefined;
      const searched = tsNs < s.maxTs || s.replaying;
      if (searched) earlier = search(key, tsNs, text);
      else if (inWindow(s.lastSeq) && texts[s.lastSeq % ORDER_WINDOW] === text) earlier = lines[s.lastSeq % ORDER_WINDOW];
      if (earlier !== undefined) {
        s.replaying = true;
        report({
          src: { file, line: lineNo },
          kind: 'duplicate',
          tsNs,
          message: `the same record as line ${earlier} (${unit} ${key}, same time and text): a repeated line or overlapping captures; dropped`,
        });
        return undefined;
      }
      s.replaying = false;
      if (tsNs < s.lastRaw) {
        report({
          src: { file, line: lineNo },
          kind: 'time-backwards',
          tsNs,
          message:
            `time goes backwards on ${unit} ${key}: ${fmtNs(tsNs)} after ${fmtNs(s.lastRaw)} at line ${s.lastLine} ` +
            `(concatenated or overlapping captures, or a clock change?); kept in file order, its records held at ${fmtNs(s.maxTs)} until that ${unit}'s time passes it` +
            (searched && seq > ORDER_WINDOW ? ` (compared for duplicates with the last ${ORDER_WINDOW} lines only)` : ''),
        });
      }
      s.lastSeq = store(key, tsNs, text, lineNo);
      s.lastRaw = tsNs;
      s.lastLine = lineNo;
      return s.maxTs;
    },
  };
}

/** Nanoseconds as "S.NNNNNNNNN s" (exact; the unit of the trace clock's text). */
function fmtNs(ns: bigint): string {
  const neg = ns < 0n;
  const a = neg ? -ns : ns;
  return `${neg ? '-' : ''}${a / 1_000_000_000n}.${(a % 1_000_000_000n).toString().padStart(9, '0')} s`;
}
