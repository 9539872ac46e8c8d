// A plain QMP transcript: the JSON objects a QMP client sent and received, one a line, as
// `socat - UNIX-CONNECT:qmp.sock | tee`, a script or a QMP client library writes them
// (docs/input-formats.md). Lines may carry a direction arrow (`-> `, `<- `, `> `, `< `);
// an object that spans lines (QEMU's `pretty=on`) is collected until its braces balance.
//
// Each message becomes a QmpRecord (parsers/text/qmp-message.ts). Events carry QEMU's
// own wall-clock timestamp (clock "realtime"); commands and replies carry no time in a
// transcript, so they keep only their order. Blank lines and lines that are not JSON
// (a client's prompts or comments) are counted as skipped; a line that starts a JSON
// object but is not valid QMP is malformed, with its line.

import type { LineParser, ParserSink } from '../src/record/types.js';
import { createJsonAccumulator, parseQmpMessage } from './text/qmp-message.js';

const ARROW = /^\s*(?:->|<-|>|<)?\s*/;

export function createQmpTranscriptParser(file: string, sink: ParserSink): LineParser {
  let clockReported = false;
  const acc = createJsonAccumulator();
  let startLine = 0;

  function emit(text: string, lineNo: number): void {
    const m = parseQmpMessage(text);
    if (!m.ok) {
      sink.malformed({ src: { file, line: lineNo }, message: `QMP: ${m.error}` });
      return;
    }
    if (m.tsNs !== undefined && !clockReported) {
      clockReported = true;
      sink.clock('realtime');
    }
    sink.record({ kind: 'qmp', tsNs: m.tsNs, pid: undefined, tid: undefined, comm: undefined, cpu: undefined, src: { file, line: lineNo }, dir: m.dir, message: m.message, monitor: undefined });
  }

  function line(text: string, lineNo: number): void {
    // The arrow may prefix every line of a multi-line object too; JSON never starts a line with one.
    const body = text.replace(ARROW, '');
    if (!acc.open) {
      if (body.length === 0) return;
      if (body.charCodeAt(0) !== 123) {
        sink.skipped();
        return;
      }
      startLine = lineNo;
    }
    const r = acc.add(body);
    if (r === 'more') return;
    if (typeof r !== 'string') {
      sink.malformed({ src: { file, line: startLine }, message: `QMP: ${r.error}` });
      return;
    }
    emit(r, startLine);
  }

  return {
    line,
    end() {
      if (acc.open) {
        sink.malformed({ src: { file, line: startLine }, message: 'QMP: JSON message not closed at the end of the input' });
        acc.reset();
      }
    },
  };
}

/** A QMP greeting, command, reply or event object among the first lines. */
export function detectQmpTranscript(firstLines: readonly string[]): boolean {
  return firstLines.some((l) => /^\s*(?:->|<-|>|<)?\s*\{\s*"(?:QMP|execute|exec-oob|return|error|event|timestamp)"\s*:/.test(l));
}
