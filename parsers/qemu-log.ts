// QEMU's "log" trace backend (spec vfio-migration §4.1; docs/input-formats.md): one line
// per trace event on stderr or in the `-D FILE` log, `"<event> " FMT`, in three forms:
//
//   719585@1608130130.441188:vfio_migration_set_state  (0000:65:00.0) state 3
//       ≤ 10.0 with `-msg timestamp=on`: thread id (qemu_get_thread_id) and gettimeofday
//       (scripts/tracetool/backend/log.py before 10.1)
//   2025-07-21T18:43:28.089815Z vfio_migration_set_state  (0000:65:00.0) state 3
//       10.1+ with `-msg timestamp=on`: qemu_log() itself prefixes every message with
//       g_date_time_format_iso8601 in UTC (util/log.c); the fraction is left out when the
//       microseconds are 0. The same prefix is on QEMU's own messages then.
//   vfio_migration_set_state  (0000:65:00.0) state 3
//       no timestamps: no time at all; the records keep only their order.
//
// Migration-related events become MarkerRecords whose text is the event line without
// the prefix, exactly like the same event written through QEMU's ftrace backend
// (parsers/text/qemu-trace-line.ts says which are kept). Other trace events and QEMU's
// own messages (`qemu-system-x86_64: terminating on signal 15`) are counted as skipped;
// a line whose prefix is broken is malformed.
//
// Time: both prefixes are wall-clock time, not a trace clock: records carry Unix-epoch
// nanoseconds (µs resolution) and the parser reports the clock as "realtime". An input
// with events but no stamp at all reports the clock "order-only".

import type { LineParser, MarkerRecord, ParserSink } from '../src/record/types.js';
import { detach } from './text/detach.js';
import { isDigit, parseSmallDec } from './text/numbers.js';
import { parseTraceTimestamp } from './text/timestamp.js';
import { eventNameEnd, isBareKeptEventLine, isKeptEvent } from './text/qemu-trace-line.js';

/** `2025-07-21T18:43:28.089815Z` / `…:28Z` / `…+02:00`: UTC epoch ns and where the stamp ends, or undefined. */
export function parseIsoStamp(s: string, i = 0): { tsNs: bigint; end: number } | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})/.exec(i === 0 ? s : s.slice(i));
  if (m === null) return undefined;
  const [y, mo, d, h, mi, se] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return undefined;
  let ms = Date.UTC(y, mo - 1, d, h, mi, se);
  const tz = m[8] ?? 'Z';
  if (tz !== 'Z') {
    const sign = tz.startsWith('-') ? -1 : 1;
    const digits = tz.slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  const frac = m[7] ?? '';
  const fracNs = frac === '' ? 0n : BigInt(frac.padEnd(9, '0'));
  return { tsNs: BigInt(ms) * 1_000_000n + fracNs, end: i + m[0].length };
}

export function createQemuLogParser(file: string, sink: ParserSink): LineParser {
  let clockReported = false;
  let bareEvents = false;

  function line(text: string, lineNo: number): void {
    if (text.length === 0) return;
    let i = 0;
    let tid: number | undefined;
    let tsNs: bigint | undefined;
    const c0 = text.charCodeAt(0);
    if (isDigit(c0)) {
      const iso = text.length > 20 && text.charCodeAt(4) === 45 && text.charCodeAt(10) === 84; // "YYYY-…T"
      if (iso) {
        const st = parseIsoStamp(text);
        if (st === undefined || text.charCodeAt(st.end) !== 32) {
          sink.malformed({ src: { file, line: lineNo }, message: `bad ISO 8601 timestamp prefix: ${JSON.stringify(text.slice(0, 60))}` });
          return;
        }
        tsNs = st.tsNs;
        i = st.end + 1;
      } else {
        // "TID@SEC.USEC:" (or an unrelated line that starts with a digit)
        const at = text.indexOf('@');
        const colon = text.indexOf(':', at + 1);
        if (at > 0 && colon > at && parseSmallDec(text, 0, at) >= 0) {
          const ts = parseTraceTimestamp(text, at + 1, colon);
          if (ts === undefined || text.indexOf('.', at) > colon || text.indexOf('.', at) < 0) {
            sink.malformed({ src: { file, line: lineNo }, message: `bad TID@SEC.USEC: prefix: ${JSON.stringify(text.slice(0, 60))}` });
            return;
          }
          tid = parseSmallDec(text, 0, at);
          tsNs = ts;
          i = colon + 1;
        }
      }
    }
    if (eventNameEnd(text, i) < 0 || !isKeptEvent(text, i)) {
      sink.skipped();
      return;
    }
    if (tsNs !== undefined && !clockReported) {
      clockReported = true;
      sink.clock('realtime');
    }
    if (tsNs === undefined) bareEvents = true;
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

  return {
    line,
    end() {
      if (!clockReported && bareEvents) sink.clock('order-only');
    },
  };
}

/** QEMU log-backend output: a trace line in one of the three forms among the first lines. */
export function detectQemuLog(firstLines: readonly string[]): boolean {
  return firstLines.some((l) => {
    if (/^\d+@\d+\.\d+:[a-z_]\w*( |$)/.test(l)) return true;
    const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}) /.exec(l);
    // 10.1+ stamps QEMU's own messages too: `… qemu-system-x86_64: terminating on signal 15`.
    if (iso !== null) return isBareKeptEventLine(l.slice(iso[0].length)) || /^qemu-[\w-]+: /.test(l.slice(iso[0].length));
    return isBareKeptEventLine(l);
  });
}
