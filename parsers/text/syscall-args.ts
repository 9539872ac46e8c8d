// Argument lists of syscall events, in the three renderings the samples show
// (spec trace-formats §2.5.1, §6):
//
//   kernel text       sys_pwrite64(fd: 4, buf: 0x7f2276ef6d50, count: 4, pos: 0x90000000000)
//   report default    fd: 0x00000004, buf: 0x7f60b0f36d20, count: 0x00000004, pos: 0x90000000000
//   report -R         __syscall_nr=18 fd=0x00000004 buf=0x7f60b0f36d20 count=0x00000004 pos=0x90000000000
//
// Values are registers printed as hex: with "0x" (6.18 and trace-cmd), without it on
// older kernels, and in decimal on 6.18 only when < 10, where decimal and hex agree, so
// every value is read as hex. Newer kernels append user memory after some arguments:
// `buf: 0x… (03:00:00:00)` (+ a printable rendering in quotes) for write/pwrite64, and
// `filename: 0x… "/dev/vfio/12"` for path arguments (upstream "tracing: Have system call
// events record user array data", 2025). Both are read when present.
//
// Only the arguments migscope uses are kept, in a reused scratch object.

import { hexDigit, parseHexBig, parseHexNum, regToFd, u64ToSigned } from './numbers.js';
import type { EnterInfo, SyscallName } from './syscall-assembler.js';
import { detach } from './detach.js';

export interface SyscallArgs {
  fd: number | undefined;
  count: number | undefined;
  pos: bigint | undefined;
  cmd: number | undefined;
  arg: bigint | undefined;
  /** Syscall return value (exit events in -R form), signed. */
  ret: number | undefined;
  /** [start, end) of the "xx:xx:…" user bytes shown after `buf`, or -1. */
  bytesStart: number;
  bytesEnd: number;
  /** The path shown after `filename` (openat), when the kernel shows it. */
  path: string | undefined;
  /** The path was cut by the kernel ("..." appended): not the real name. */
  pathTruncated: boolean;
}

export function newSyscallArgs(): SyscallArgs {
  return { fd: undefined, count: undefined, pos: undefined, cmd: undefined, arg: undefined, ret: undefined, bytesStart: -1, bytesEnd: -1, path: undefined, pathTruncated: false };
}

function reset(a: SyscallArgs): void {
  a.fd = undefined;
  a.count = undefined;
  a.pos = undefined;
  a.cmd = undefined;
  a.arg = undefined;
  a.ret = undefined;
  a.bytesStart = -1;
  a.bytesEnd = -1;
  a.path = undefined;
  a.pathTruncated = false;
}

// Argument ids, recognised by length and characters without slicing.
const A_OTHER = 0;
const A_FD = 1;
const A_COUNT = 2;
const A_POS = 3;
const A_CMD = 4;
const A_ARG = 5;
const A_BUF = 6;
const A_FILENAME = 7;
const A_RET = 8;
const A_FILENAME_VAL = 9;

function argId(s: string, start: number, end: number): number {
  // `options/verbose` prefixes the C type ("unsigned int fd"): the name is the last word.
  const sp = s.lastIndexOf(' ', end - 1);
  if (sp >= start) start = sp + 1;
  switch (end - start) {
    case 2:
      return s.startsWith('fd', start) ? A_FD : A_OTHER;
    case 3:
      if (s.startsWith('pos', start)) return A_POS;
      if (s.startsWith('cmd', start)) return A_CMD;
      if (s.startsWith('arg', start)) return A_ARG;
      if (s.startsWith('buf', start)) return A_BUF;
      if (s.startsWith('ret', start)) return A_RET;
      return A_OTHER;
    case 5:
      return s.startsWith('count', start) ? A_COUNT : A_OTHER;
    case 8:
      return s.startsWith('filename', start) ? A_FILENAME : A_OTHER;
    case 14:
      return s.startsWith('__filename_val', start) ? A_FILENAME_VAL : A_OTHER;
    default:
      return A_OTHER;
  }
}

/** Store a hex register value; false when it is not hex. */
function store(a: SyscallArgs, id: number, s: string, start: number, end: number): boolean {
  switch (id) {
    case A_FD: {
      const n = parseHexNum(s, start, end);
      if (n !== undefined && n < 2 ** 31) {
        a.fd = n;
        return true;
      }
      const b = parseHexBig(s, start, end);
      if (b === undefined) return false;
      a.fd = regToFd(b);
      return true;
    }
    case A_COUNT: {
      const n = parseHexNum(s, start, end);
      if (n !== undefined) {
        a.count = n;
        return true;
      }
      const b = parseHexBig(s, start, end);
      if (b === undefined) return false;
      a.count = Number(b);
      return true;
    }
    case A_CMD: {
      const n = parseHexNum(s, start, end);
      if (n === undefined) return false;
      // cmd is an unsigned int; a 64-bit register may carry sign-extended junk above it.
      a.cmd = n > 0xffffffff ? n % 2 ** 32 : n;
      return true;
    }
    case A_POS:
      a.pos = parseHexBig(s, start, end);
      return a.pos !== undefined;
    case A_ARG:
      a.arg = parseHexBig(s, start, end);
      return a.arg !== undefined;
    case A_RET:
      a.ret = parseRetHex(s, start, end);
      return a.ret !== undefined;
    default:
      return true; // pointers and other arguments: not needed
  }
}

/**
 * Parse "name: value, name: value…" from s[start…]: up to ")" when `paren` (kernel text,
 * where the list is inside "sys_x(…)"), else to the end of the line (report default).
 * Returns false for a malformed list. Values are delimited with native indexOf (a value
 * ends at the next "," or, for the last one, at ")" or the end); only the arguments
 * migscope keeps are parsed digit by digit.
 */
export function scanColonArgs(s: string, start: number, paren: boolean, a: SyscallArgs): boolean {
  reset(a);
  let n = s.length;
  if (paren) {
    // The list ends with ")" (trailing spaces tolerated).
    while (n > start && s.charCodeAt(n - 1) === 32) n--;
    if (n <= start || s.charCodeAt(n - 1) !== 41) return false;
    n--;
    if (n === start) return true; // "sys_x()"
  }
  let i = start;
  for (;;) {
    const colon = s.indexOf(': ', i);
    if (colon < 0 || colon >= n) return false;
    const id = argId(s, i, colon);
    const vs = colon + 2;
    let ve = s.indexOf(',', vs);
    if (ve < 0 || ve > n) ve = n;
    // Newer kernels: user memory after the value (" (xx:…)" or ' "…"'), which may itself
    // contain commas: parse it properly.
    const sp = s.indexOf(' ', vs);
    if (sp >= 0 && sp < ve) {
      if (sp === vs || !store(a, id, s, vs, sp)) return false;
      const c = s.charCodeAt(sp + 1);
      if (c === 40) ve = scanBytes(s, sp + 2, a, id);
      else if (c === 34) ve = scanString(s, sp + 2, paren, a, id);
      else return false;
      if (ve < 0 || ve > n) return false;
    } else if (ve === vs || !store(a, id, s, vs, ve)) {
      return false;
    }
    if (ve === n) return true;
    if (s.charCodeAt(ve) !== 44 || s.charCodeAt(ve + 1) !== 32) return false; // ", "
    i = ve + 2;
  }
}

/** "(xx:xx:… [, ...])" then optionally ` "printable"` or ` "printable"...`; returns the index after. */
function scanBytes(s: string, i: number, a: SyscallArgs, id: number): number {
  const start = i;
  let count = 0;
  for (;;) {
    if (hexDigit(s.charCodeAt(i)) < 0 || hexDigit(s.charCodeAt(i + 1)) < 0) {
      if (i === start && s.charCodeAt(i) === 41) break; // empty array
      return -1;
    }
    i += 2;
    count++;
    const c = s.charCodeAt(i);
    if (c === 58) {
      i++;
      continue;
    }
    break;
  }
  const end = i;
  if (s.startsWith(', ...', i)) i += 5;
  if (s.charCodeAt(i) !== 41) return -1;
  i++;
  if (id === A_BUF) {
    a.bytesStart = start;
    a.bytesEnd = end;
  }
  // The printable rendering has exactly one character per byte.
  if (count > 0 && s.charCodeAt(i) === 32 && s.charCodeAt(i + 1) === 34) {
    const close = i + 2 + count;
    if (s.charCodeAt(close) !== 34) return -1;
    i = close + 1;
    if (s.startsWith('...', i)) i += 3;
  }
  return i;
}

/**
 * A quoted user string. The kernel does not escape quotes inside it, so its end is the
 * first `"` followed by ", name: " or by the closing ")" at the end of the line.
 */
function scanString(s: string, i: number, paren: boolean, a: SyscallArgs, id: number): number {
  let q = s.indexOf('"', i);
  while (q >= 0) {
    const after = q + 1;
    if (paren ? s.charCodeAt(after) === 41 && after + 1 === s.length : after === s.length) break;
    if (s.startsWith(', ', after) && /^[A-Za-z_][\w ]*: /.test(s.slice(after + 2, after + 40))) break;
    q = s.indexOf('"', after);
  }
  if (q < 0) return -1;
  if (id === A_FILENAME) {
    let path = s.slice(i, q);
    if (path.endsWith('...')) {
      a.pathTruncated = true;
      path = path.slice(0, -3);
    }
    a.path = detach(path);
  }
  return q + 1;
}

/**
 * Parse "name=value name=value…" (report -R) from s[start…] to the end of the line.
 * Unknown names are skipped; their values end at the next space.
 */
export function scanRawArgs(s: string, start: number, a: SyscallArgs): boolean {
  reset(a);
  const n = s.length;
  let i = start;
  while (i < n) {
    const eq = s.indexOf('=', i);
    if (eq < 0) return false;
    const id = argId(s, i, eq);
    if (id === A_FILENAME_VAL) {
      // The dynamic string is the last field of the format: the rest of the line.
      a.path = detach(s.slice(eq + 1));
      return true;
    }
    let v = eq + 1;
    while (v < n && s.charCodeAt(v) !== 32) v++;
    if (id !== A_OTHER && !store(a, id, s, eq + 1, v)) return false;
    i = v + 1;
  }
  return true;
}

/**
 * The value of the first min(count, 8) user bytes, little-endian (AccessRecord.value), or
 * undefined when fewer bytes were shown than that.
 */
export function bytesValue(s: string, a: SyscallArgs, count: number): bigint | undefined {
  if (a.bytesStart < 0 || count <= 0) return undefined;
  const need = Math.min(count, 8);
  let v = 0n;
  let i = a.bytesStart;
  for (let k = 0; k < need; k++) {
    if (i + 2 > a.bytesEnd) return undefined;
    const hi = hexDigit(s.charCodeAt(i));
    const lo = hexDigit(s.charCodeAt(i + 1));
    if (hi < 0 || lo < 0) return undefined;
    v |= BigInt(hi * 16 + lo) << BigInt(8 * k);
    i += 3;
  }
  return v;
}

/**
 * A syscall return value printed as an unsigned 64-bit hex register (exit events:
 * "0x4", "0xffffffffffffffe7" = -25, spec §2.5.2), as the signed number it is.
 */
export function parseRetHex(s: string, start: number, end: number): number | undefined {
  const small = parseHexNum(s, start, end);
  if (small !== undefined) return small;
  const big = parseHexBig(s, start, end);
  return big === undefined || big >= 1n << 64n ? undefined : u64ToSigned(big);
}

/**
 * The entry arguments a syscall needs, or an error message naming what is missing.
 * `line` is the text the scratch was filled from (for the shown user bytes).
 */
export function buildEnterInfo(name: SyscallName, a: SyscallArgs, line: string): EnterInfo | string {
  switch (name) {
    case 'pread64':
    case 'pwrite64':
      if (a.fd === undefined || a.count === undefined || a.pos === undefined) return `${name} entry without fd, count and pos`;
      return { fd: a.fd, size: a.count, offset: a.pos, value: name === 'pwrite64' ? bytesValue(line, a, a.count) : undefined, cmd: 0, arg: undefined, path: undefined };
    case 'read':
    case 'write':
      if (a.fd === undefined || a.count === undefined) return `${name} entry without fd and count`;
      return { fd: a.fd, size: a.count, offset: undefined, value: name === 'write' ? bytesValue(line, a, a.count) : undefined, cmd: 0, arg: undefined, path: undefined };
    case 'ioctl':
      if (a.fd === undefined || a.cmd === undefined) return 'ioctl entry without fd and cmd';
      return { fd: a.fd, size: 0, offset: undefined, value: undefined, cmd: a.cmd, arg: a.arg, path: undefined };
    case 'openat':
      // A truncated path is not the file's name: treat it as not shown.
      return { fd: -1, size: 0, offset: undefined, value: undefined, cmd: 0, arg: undefined, path: a.pathTruncated ? undefined : a.path };
    case 'close':
      if (a.fd === undefined) return 'close entry without fd';
      return { fd: a.fd, size: 0, offset: undefined, value: undefined, cmd: 0, arg: undefined, path: undefined };
  }
}
