// QEMU's "log" trace backend (spec vfio-migration §4.1): one line per trace event on
// stderr or in the `-D FILE` log, `"<event> " FMT`, optionally prefixed with
// `PID@SEC.USEC:` (the thread id and the wall-clock time from gettimeofday):
//
//   719585@1608130130.441188:vfio_migration_set_state  (0000:65:00.0) state 3
//   vfio_migration_set_state  (0000:65:00.0) state 3
//
// VFIO events become MarkerRecords whose text is the event line without the prefix,
// exactly like the same event written through QEMU's ftrace backend (a trace_marker
// print event); src/decode/qemu-events.ts gives them meaning. Everything else QEMU logs
// (other trace events, error messages, monitor output) is skipped.
//
// Time: the prefix is wall-clock time, not a trace clock: records carry it as Unix-epoch
// nanoseconds (µs resolution) and the parser reports the clock as "realtime". Lines
// without the prefix have no time.

import type { LineParser, MarkerRecord, ParserSink } from '../src/record/types.js';
import { detach } from './text/detach.js';
import { isDigit, parseSmallDec } from './text/numbers.js';
import { parseTraceTimestamp } from './text/timestamp.js';

const EVENT_PREFIX = 'vfio_';

export function createQemuLogParser(file: string, sink: ParserSink): LineParser {
  let clockReported = false;

  function line(text: string, lineNo: number): void {
    if (text.length === 0) return;
    let i = 0;
    let tid: number | undefined;
    let tsNs: bigint | undefined;
    if (isDigit(text.charCodeAt(0))) {
      // "PID@SEC.USEC:" (or an unrelated line that starts with a digit)
      const at = text.indexOf('@');
      const colon = text.indexOf(':', at + 1);
      if (at > 0 && colon > at && parseSmallDec(text, 0, at) >= 0) {
        const ts = parseTraceTimestamp(text, at + 1, colon);
        if (ts === undefined || text.indexOf('.', at) > colon || text.indexOf('.', at) < 0) {
          sink.malformed({ src: { file, line: lineNo }, message: `bad PID@SEC.USEC: prefix: ${JSON.stringify(text.slice(0, 60))}` });
          return;
        }
        tid = parseSmallDec(text, 0, at);
        tsNs = ts;
        i = colon + 1;
      }
    }
    if (!text.startsWith(EVENT_PREFIX, i) || !isEventStart(text, i)) {
      sink.skipped();
      return;
    }
    if (tsNs !== undefined && !clockReported) {
      clockReported = true;
      sink.clock('realtime');
    }
    const r: MarkerRecord = {
      kind: 'marker',
      tsNs,
      pid: undefined,
      tid,
      comm: undefined,
      cpu: undefined,
      src: { file, line: lineNo },
      text: detach(i === 0 ? text : text.slice(i)),
    };
    sink.record(r);
  }

  return { line, end() {} };
}

/** `vfio_name` followed by a space or the end of the line (not e.g. "vfio_pci: error …"). */
function isEventStart(s: string, i: number): boolean {
  let j = i;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    const word = (c >= 48 && c <= 57) || (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
    if (!word) break;
    j++;
  }
  return j === s.length || s.charCodeAt(j) === 32;
}

/** QEMU log-backend output: a `PID@SEC.USEC:vfio_…` or a bare `vfio_… ` trace line among the first lines. */
export function detectQemuLog(firstLines: readonly string[]): boolean {
  return firstLines.some((l) => /^\d+@\d+\.\d+:[a-z]\w* /.test(l) || /^vfio_\w+ /.test(l));
}
