// Splits a byte stream into lines for a LineParser without holding the input: one chunk
// and one partial line in memory. Over-long lines (hostile input) are cut off and
// reported, not buffered without bound.
//
// Speed (bench/RESULTS.md): every byte of a multi-GB trace passes through here. Each
// chunk is decoded once into one flat string (latin1 when the chunk is pure ASCII, the
// common case, checked natively by isAscii; UTF-8 otherwise, with an incomplete trailing
// sequence carried to the next chunk), and lines are slices of it. Only the one line that
// straddles two chunks is built by concatenation: concatenating every chunk onto the
// previous partial line (a cons string) made every later slice and scan of that chunk
// slower.

import { isAscii } from 'node:buffer';
import type { LineParser, ParserSink } from '../src/record/types.js';

/** Lines longer than this are reported as malformed and skipped (no trace format comes near it). */
export const MAX_LINE_BYTES = 1 << 20;

export interface FeedOptions {
  readonly file: string;
  readonly sink: Pick<ParserSink, 'malformed'>;
  readonly onBytes?: (n: number) => void;
}

/** Length of `b` without an incomplete UTF-8 sequence at its end (that tail waits for the next chunk). */
function completeUtf8(b: Buffer): number {
  const n = b.length;
  for (let i = n - 1; i >= 0 && i >= n - 4; i--) {
    const c = b[i] ?? 0;
    if (c < 0x80) return n; // ASCII: nothing pending
    if (c >= 0xc0) {
      const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
      return n - i < need ? i : n;
    }
    // a continuation byte: keep looking for its lead byte
  }
  return n;
}

/**
 * The same splitter, pushed one chunk at a time (synchronously): for inputs read on demand,
 * e.g. a QEMU log merged into a capture's timeline (src/cli/input-merge.ts), which is read
 * a chunk at a time while the capture streams.
 */
export interface LineFeeder {
  push(chunk: Buffer | string): void;
  /** End of input: the last unterminated line, then parser.end(). */
  end(): void;
  /**
   * `count` whole lines given to the parser by someone else (parsers/line-filter.ts), so
   * that the next line pushed is numbered after them. Only between lines: after a push
   * that ended with "\n".
   */
  advance(count: number): void;
}

export function createLineFeeder(parser: LineParser, opts: FeedOptions): LineFeeder {
  let rest = '';
  let carry: Buffer | undefined; // bytes of a UTF-8 sequence cut by the chunk boundary
  let lineNo = 0;
  let skippingLong = false;
  const lineBytes = parser.lineBytes?.bind(parser);

  const tooLong = (): void => {
    if (!skippingLong) {
      opts.sink.malformed({ src: { file: opts.file, line: lineNo + 1 }, message: `line longer than ${MAX_LINE_BYTES} bytes; skipped` });
    }
    skippingLong = true;
    rest = '';
  };

  const emit = (line: string): void => {
    lineNo++;
    if (skippingLong) {
      skippingLong = false; // the tail of an over-long line
      return;
    }
    parser.line(line.length > 0 && line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line, lineNo);
  };

  function push(chunk: Buffer | string): void {
    let buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    opts.onBytes?.(buf.length);
    if (carry !== undefined) {
      buf = Buffer.concat([carry, buf]);
      carry = undefined;
    }
    let text: string;
    const ascii = isAscii(buf);
    if (ascii) text = buf.toString('latin1');
    else {
      const end = completeUtf8(buf);
      if (end < buf.length) carry = Buffer.from(buf.subarray(end));
      text = buf.toString('utf8', 0, end);
    }
    let start = 0;
    if (rest.length > 0 || skippingLong) {
      const nl = text.indexOf('\n');
      if (nl < 0) {
        if (!skippingLong) rest += text;
        if (rest.length > MAX_LINE_BYTES) tooLong();
        return;
      }
      const line = rest + text.slice(0, nl);
      rest = '';
      if (line.length > MAX_LINE_BYTES) {
        tooLong();
        lineNo++;
        skippingLong = false;
      } else emit(line);
      start = nl + 1;
    }
    // The parser's byte fast path sees each whole line of an ASCII chunk first (there a
    // byte offset is a character offset); a line it does not take is sliced as before.
    const fast = ascii ? lineBytes : undefined;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      if (nl - start > MAX_LINE_BYTES) {
        tooLong();
        lineNo++;
        skippingLong = false;
      } else if (fast !== undefined && fast(buf, start, nl > start && buf[nl - 1] === 13 ? nl - 1 : nl, lineNo + 1)) lineNo++;
      else emit(text.slice(start, nl));
      start = nl + 1;
    }
    if (start < text.length) {
      rest = text.slice(start);
      if (rest.length > MAX_LINE_BYTES) tooLong();
    }
  }

  function end(): void {
    if (carry !== undefined) rest += carry.toString('utf8'); // a cut sequence at the very end: U+FFFD
    if (rest.length > 0 && !skippingLong) {
      lineNo++;
      parser.line(rest.endsWith('\r') ? rest.slice(0, -1) : rest, lineNo, true);
    }
    parser.end();
  }

  function advance(count: number): void {
    if (rest.length > 0 || skippingLong || carry !== undefined) throw new Error('line feeder: advance() inside a line');
    lineNo += count;
  }

  return { push, end, advance };
}

export async function feedLines(input: AsyncIterable<Buffer | string>, parser: LineParser, opts: FeedOptions): Promise<void> {
  const feeder = createLineFeeder(parser, opts);
  for await (const chunk of input) feeder.push(chunk);
  feeder.end();
}
