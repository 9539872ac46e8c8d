// The last line of an input that ends without a newline: ftrace, trace-cmd and bpftrace end
// every line with one, so a missing newline means the file was cut in the middle of the
// line (a capture killed mid-write, a full disk, a copy stopped early). When that line
// cannot be read it is reported as truncated, not as a garbled line.

import type { InputProblem } from '../../src/record/types.js';

export function cutShort(file: string, lineNo: number, why: string, lastTs: bigint | undefined): InputProblem {
  return {
    src: { file, line: lineNo },
    kind: 'truncated',
    message: `the input ends in the middle of its last line (no newline after it; cut off?): ${why}`,
    ...(lastTs !== undefined ? { tsNs: lastTs } : {}),
  };
}
