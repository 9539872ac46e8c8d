// Splits a byte stream into lines for a LineParser without holding the input: one chunk
// and one partial line in memory. Over-long lines (hostile input) are cut off and
// reported, not buffered without bound.

import { StringDecoder } from 'node:string_decoder';
import type { LineParser, ParserSink } from '../src/record/types.js';

/** Lines longer than this are reported as malformed and skipped (no trace format comes near it). */
export const MAX_LINE_BYTES = 1 << 20;

export interface FeedOptions {
  readonly file: string;
  readonly sink: Pick<ParserSink, 'malformed'>;
  readonly onBytes?: (n: number) => void;
}

export async function feedLines(input: AsyncIterable<Buffer | string>, parser: LineParser, opts: FeedOptions): Promise<void> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let lineNo = 0;
  let skippingLong = false;
  for await (const chunk of input) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    opts.onBytes?.(buf.length);
    const text = rest + decoder.write(buf);
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      lineNo++;
      if (skippingLong) {
        skippingLong = false;
      } else {
        const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
        parser.line(text.slice(start, end), lineNo);
      }
      start = nl + 1;
    }
    rest = start === 0 ? text : text.slice(start);
    if (rest.length > MAX_LINE_BYTES) {
      if (!skippingLong) {
        opts.sink.malformed({ src: { file: opts.file, line: lineNo + 1 }, message: `line longer than ${MAX_LINE_BYTES} bytes; skipped` });
      }
      skippingLong = true;
      rest = '';
    }
  }
  rest += decoder.end();
  if (rest.length > 0 && !skippingLong) {
    lineNo++;
    parser.line(rest.endsWith('\r') ? rest.slice(0, -1) : rest, lineNo);
  }
  parser.end();
}
