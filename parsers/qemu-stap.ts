// qemu-trace-stap / SystemTap over QEMU's USDT probes (the dtrace backend, the only one
// RHEL's qemu-kvm builds have): scripts/tracetool/format/log_stap.py generates, per event,
//
//   printf("%d@%d <event> " FMT "\n", pid(), gettimeofday_ns(), args…)
//
// so a line is `PID@NS <event> <args>`, e.g.
//
//   4711@1753123408089815123 vfio_migration_set_state  (0000:65:00.0) state 3
//
// pid() is the process id (SystemTap's tgid), not the thread; the time is wall-clock
// nanoseconds (clock "realtime"). Like the log backend (parsers/qemu-log.ts), events that
// may concern a migration become MarkerRecords with the text after the prefix; other
// events and other lines are counted as skipped; a broken prefix is malformed. String
// arguments are user_string_n(…, 512): longer ones arrive cut, which the event parsers
// see as an unknown format rather than a wrong value.

import type { LineParser, MarkerRecord, ParserSink } from '../src/record/types.js';
import { detach } from './text/detach.js';
import { isDigit, parseSmallDec } from './text/numbers.js';
import { eventNameEnd, isKeptEvent } from './text/qemu-trace-line.js';

const PREFIX = /^(\d{1,10})@(\d{1,20}) /;

export function createQemuStapParser(file: string, sink: ParserSink): LineParser {
  let clockReported = false;
  function line(text: string, lineNo: number): void {
    if (text.length === 0) return;
    if (!isDigit(text.charCodeAt(0))) {
      sink.skipped(); // stap's own messages (WARNING: …, Pass 5: …)
      return;
    }
    const m = PREFIX.exec(text);
    if (m === null) {
      sink.malformed({ src: { file, line: lineNo }, message: `bad PID@NS prefix: ${JSON.stringify(text.slice(0, 60))}` });
      return;
    }
    const i = m[0].length;
    if (eventNameEnd(text, i) < 0) {
      sink.malformed({ src: { file, line: lineNo }, message: `no event name after PID@NS: ${JSON.stringify(text.slice(0, 60))}` });
      return;
    }
    if (!isKeptEvent(text, i)) {
      sink.skipped();
      return;
    }
    if (!clockReported) {
      clockReported = true;
      sink.clock('realtime');
    }
    const r: MarkerRecord = {
      kind: 'marker',
      tsNs: BigInt(m[2] ?? '0'),
      pid: parseSmallDec(text, 0, (m[1] ?? '').length),
      tid: undefined,
      comm: undefined,
      cpu: undefined,
      src: { file, line: lineNo },
      text: detach(text.slice(i)),
    };
    sink.record(r);
  }
  return { line, end() {} };
}

/** `PID@NS event` with a nanosecond stamp (≥ 16 digits: epoch ns), among the first lines. */
export function detectQemuStap(firstLines: readonly string[]): boolean {
  return firstLines.some((l) => /^\d{1,10}@\d{16,20} [a-z_]\w*( |$)/.test(l));
}
