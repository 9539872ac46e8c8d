// Which input format a file or stream is, from its first bytes (parsers/format.ts detect).
//
// Every format is tried on the first lines of the first 64 KiB. A QEMU log may open with
// any number of QEMU's own messages before its first trace event (CPUID warnings, "char
// device redirected to …", one per vCPU and device; without -msg timestamp=on they carry
// no stamp that says "QEMU log"): when nothing matched the first lines, the formats marked
// `detectLate` (qemu-log, qemu-stap) are looked for line by line further on, up to
// LATE_DETECT_BYTES, and the input says where its first trace line was. Past that bound
// the message says what was scanned and that --format decides.

import type { InputFormat } from '../../parsers/format.js';

export const HEAD_BYTES = 64 * 1024;
/** How far detection reads for a late-starting QEMU log: a bound on the read, not on the log. */
export const LATE_DETECT_BYTES = 4 * 1024 * 1024;
/** Lines the first pass gives every format. */
const FIRST_LINES = 39;

export function firstLines(head: Buffer): string[] {
  return head.toString('utf8').split('\n', FIRST_LINES + 1).slice(0, FIRST_LINES);
}

/** The first format whose detect() accepts the head and its first lines. */
export function detectFirst(head: Buffer, formats: readonly InputFormat[]): InputFormat | undefined {
  const lines = firstLines(head);
  return formats.find((f) => f.detect(head, lines));
}

export interface LateDetection {
  readonly format: InputFormat;
  /** 1-based line and byte offset of the first line the format recognised. */
  readonly line: number;
  readonly byteOffset: number;
  /** Said with the input (InputFile.detection). */
  readonly note: string;
}

/** The earliest complete line of `buf` that a `detectLate` format recognises, and which format. */
export function detectLate(buf: Buffer, formats: readonly InputFormat[]): LateDetection | undefined {
  const late = formats.filter((f) => f.kind === 'lines' && f.detectLate === true);
  if (late.length === 0) return undefined;
  const text = buf.toString('utf8');
  const lines = text.split('\n');
  if (!text.endsWith('\n')) lines.pop(); // cut by the read's end
  let byteOffset = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    const l = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const f = late.find((x) => x.detect(buf, [l]));
    if (f !== undefined) {
      const note = `${f.name} detected at line ${i + 1} (byte ${byteOffset}), its first trace line: the ${i} line(s) before it are not trace events (QEMU's own messages; skipped and counted)`;
      return { format: f, line: i + 1, byteOffset, note };
    }
    byteOffset += Buffer.byteLength(raw, 'utf8') + 1;
  }
  return undefined;
}

function sizeText(n: number): string {
  return n >= 1024 * 1024 ? `${(n / (1024 * 1024)).toFixed(n % (1024 * 1024) === 0 ? 0 : 1)} MiB` : n >= 1024 ? `${Math.round(n / 1024)} KiB` : `${n} bytes`;
}

/**
 * Why no format was found: what the first line was, what was scanned (`scanned` bytes of
 * an input of `total`, undefined for a stream read to its end), and what to pass instead.
 */
export function unrecognisedMessage(file: string, head: Buffer, formats: readonly InputFormat[], scanned: number, whole: boolean): string {
  const first = firstLines(head)[0] ?? '';
  const late = formats.filter((f) => f.kind === 'lines' && f.detectLate === true).map((f) => f.name);
  const far = late.length === 0 ? '' : ` No format matched its first ${FIRST_LINES} lines, and no ${late.join(' or ')} trace line was found in ${whole ? `all of its ${sizeText(scanned)}` : `its first ${sizeText(scanned)}`} (a QEMU log of only QEMU's own messages has no trace events).`;
  return (
    `${file}: unrecognised trace format (first line: ${JSON.stringify(first.slice(0, 80))}).${far} ` +
    `Known formats: ${formats.map((f) => f.name).join(', ')}. Pass --format NAME if detection is wrong.`
  );
}
