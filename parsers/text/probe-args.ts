// Uprobe/kprobe event bodies with named fetch arguments (spec trace-formats §3.3, §3.4):
//
//   kernel     (0x7f0686114470) fd=4 buf=0x7f0685aeed50 count=4 … comm="live_migration"
//              (0x7f06864c33c7 <- 0x7f0686114470) ret=4          return probe: (ret addr <- func)
//   kprobe     (ksys_pwrite64+0x0/0xb0) fd=4 …
//   report     (7fd934514470) fd=4 …
//              (7fd934514470 <- 7fd9348c33c7) ret=4             libtraceevent: (func <- ret addr)
//   report -R  __probe_ip=7fd934514470 fd=4 … comm=live_migration
//              __probe_func=7fd934514470 __probe_ret_ip=7fd9348c33c7 ret=4
//
// Arguments are parsed generically as name=value; which names matter is decided by the
// caller (probe-call.ts). The parenthesis is not interpreted beyond "entry or return".

import { parseDecOrHexBig } from './numbers.js';

export interface ProbeArg {
  readonly name: string;
  /** The value text, without the quotes of a string argument. */
  readonly value: string;
}

export interface ProbeBody {
  readonly isReturn: boolean;
  readonly args: readonly ProbeArg[];
}

/** Parse a probe body starting at s[start], or undefined when the body is not a probe's. */
export function parseProbeBody(s: string, start: number): ProbeBody | undefined {
  const c = s.charCodeAt(start);
  if (c === 40) {
    // "(" … ")": addresses or symbol+off/size, optionally "X <- Y" for return probes.
    const close = s.indexOf(')', start);
    if (close < 0) return undefined;
    const inner = s.slice(start + 1, close);
    if (inner.length === 0 || /[^\w.+/<\- ]/.test(inner)) return undefined;
    const isReturn = inner.includes(' <- ');
    if (!isReturn && inner.includes(' ')) return undefined;
    let i = close + 1;
    if (i < s.length) {
      if (s.charCodeAt(i) !== 32) return undefined;
      i++;
    }
    const args = parseNameValues(s, i);
    return args === undefined ? undefined : { isReturn, args };
  }
  if (s.startsWith('__probe_', start)) {
    const all = parseNameValues(s, start);
    if (all === undefined) return undefined;
    const isReturn = all.some((a) => a.name === '__probe_ret_ip' || a.name === '__probe_func');
    return { isReturn, args: all.filter((a) => !a.name.startsWith('__probe_')) };
  }
  return undefined;
}

/**
 * "name=value name="quoted value" …". A token without "=" continues the previous value
 * (an unquoted string argument containing spaces, as `report -R` prints `comm=`).
 */
function parseNameValues(s: string, start: number): ProbeArg[] | undefined {
  const out: ProbeArg[] = [];
  let i = start;
  const n = s.length;
  while (i < n) {
    if (s.charCodeAt(i) === 32) {
      i++;
      continue;
    }
    const sp = s.indexOf(' ', i);
    const eq = s.indexOf('=', i);
    if (eq < 0 || (sp >= 0 && sp < eq)) {
      // No "=" in this token.
      const end = sp < 0 ? n : sp;
      const prev = out.pop();
      if (prev === undefined) return undefined;
      out.push({ name: prev.name, value: prev.value + ' ' + s.slice(i, end) });
      i = end;
      continue;
    }
    const name = s.slice(i, eq);
    if (!/^[A-Za-z_]\w*$/.test(name)) return undefined;
    let v = eq + 1;
    if (s.charCodeAt(v) === 34) {
      // Quoted: ends at a quote followed by " name=" or the end of the line.
      let q = s.indexOf('"', v + 1);
      while (q >= 0 && !(q + 1 === n || /^ [A-Za-z_]\w*=/.test(s.slice(q + 1, q + 66)))) q = s.indexOf('"', q + 1);
      if (q < 0) return undefined;
      out.push({ name, value: s.slice(v + 1, q) });
      i = q + 1;
      continue;
    }
    const end = sp < 0 ? n : sp;
    out.push({ name, value: s.slice(v, end) });
    i = end;
  }
  return out;
}

/** A numeric fetch argument (decimal, signed decimal or 0x hex), or undefined. */
export function probeNum(args: readonly ProbeArg[], name: string): bigint | undefined {
  for (const a of args) if (a.name === name) return parseDecOrHexBig(a.value, 0, a.value.length);
  return undefined;
}
