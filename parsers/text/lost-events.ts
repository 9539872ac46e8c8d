// Lines that say events were lost (spec trace-formats §2.6 and §6):
//
//   CPU:0 [LOST 1326 EVENTS]          trace_pipe: overwritten since the previous read
//   CPU:0 [LOST EVENTS]               trace: the page being read was overwritten; count unknown
//   [LOST 1326 EVENTS]                older kernels, no CPU
//   CPU:1 [1233 EVENTS DROPPED]       trace-cmd report: from the page header's missed-events count
//   CPU:1 [EVENTS DROPPED]            trace-cmd report: count unknown
//   ##### CPU 1 buffer started ####   trace: the CPU's earlier history is missing (count unknown)

import { isDigit, parseSmallDec } from './numbers.js';

export interface LostLine {
  /** undefined when the line does not name the CPU. */
  readonly cpu: number | undefined;
  /** undefined when the tracer does not say how many. */
  readonly count: number | undefined;
}

/** Parse a lost-events line, or undefined if `line` is not one. Cheap to call on any line. */
export function parseLostLine(line: string): LostLine | undefined {
  const c0 = line.charCodeAt(0);
  if (c0 === 35) return parseBufferStarted(line); // '#'
  let i = 0;
  let cpu: number | undefined;
  if (c0 === 67) {
    // 'C': "CPU:n "
    if (!line.startsWith('CPU:')) return undefined;
    i = 4;
    const s = i;
    while (i < line.length && isDigit(line.charCodeAt(i))) i++;
    if (i === s) return undefined;
    cpu = parseSmallDec(line, s, i);
    if (line.charCodeAt(i) !== 32) return undefined;
    i++;
  } else if (c0 !== 91) {
    return undefined; // '['
  }
  const rest = line.slice(i).trimEnd();
  if (rest === '[LOST EVENTS]' || rest === '[EVENTS DROPPED]') return { cpu, count: undefined };
  let m = /^\[LOST (\d{1,15}) EVENTS\]$/.exec(rest);
  if (m === null) m = /^\[(\d{1,15}) EVENTS DROPPED\]$/.exec(rest);
  if (m === null) return undefined;
  return { cpu, count: Number(m[1]) };
}

function parseBufferStarted(line: string): LostLine | undefined {
  if (!line.startsWith('##### CPU ')) return undefined;
  const m = /^##### CPU (\d{1,6}) buffer started ####\s*$/.exec(line);
  return m === null ? undefined : { cpu: Number(m[1]), count: undefined };
}
