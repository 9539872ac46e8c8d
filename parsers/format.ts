// How an input format plugs in: detection from the first bytes, and either a line parser
// (text formats, fed by parsers/lines.ts) or a whole-file parser (binary formats that
// need positioned reads, like trace.dat). Adding a format is one parser file plus its
// entry in parsers/index.ts.

import type { LineParser, ParserSink } from '../src/record/types.js';

export interface FileParseOptions {
  readonly onProgress?: (bytesDone: number, bytesTotal: number) => void;
  /** QEMU's trace-events file, for simpletrace inputs (--trace-events). */
  readonly traceEvents?: string;
}

export type InputFormat =
  | {
      readonly name: string;
      readonly kind: 'lines';
      /** Given the first bytes of the input and its first lines, is this the format? */
      readonly detect: (head: Buffer, firstLines: readonly string[]) => boolean;
      readonly create: (file: string, sink: ParserSink) => LineParser;
      /**
       * Its trace lines may come after any number of lines of other text (QEMU's own
       * messages before the first trace event): when no format matches the first lines,
       * detection looks for one of its lines further on, bounded (src/cli/detect.ts).
       */
      readonly detectLate?: boolean;
    }
  | {
      readonly name: string;
      readonly kind: 'file';
      readonly detect: (head: Buffer, firstLines: readonly string[]) => boolean;
      readonly parse: (path: string, sink: ParserSink, opts: FileParseOptions) => Promise<void>;
      /**
       * What the file's metadata says about the input (sink.host, sink.clock), read without
       * its trace data: for planning a merge of several inputs before any is analysed.
       * Optional; reports nothing when the metadata cannot be read.
       */
      readonly probe?: (path: string, sink: ParserSink) => void;
    };

/**
 * Thrown by a parser when nothing at all can be read (wrong magic, unsupported version):
 * the CLI reports the message and exits 2. Anything less is reported through
 * ParserSink.malformed and parsing goes on.
 */
export class UnusableInputError extends Error {}
