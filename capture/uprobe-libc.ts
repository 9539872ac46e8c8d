// Where to put a uprobe on libc's pwrite64 (spec trace-formats §3.1): the libc the target
// really maps, and the FILE offset of the function in it.
//
// - Which libc: a running process's /proc/PID/maps names the file it mapped (a container
//   or a custom build may map another libc than the host's); for a command not yet started,
//   `ldd` on the resolved executable (following a "#!" interpreter), then `ldconfig -p`.
//   Uprobes attach to the inode, so /lib/... and /usr/lib/... (merged /usr) are the same.
// - Which offset: a small ELF64 reader over the section headers finds `.dynsym` and its
//   string table and converts the symbol's virtual address to a file offset through the
//   PT_LOAD segment holding it (for glibc's text vaddr == offset today, but that is not a
//   rule). Hand-written instead of shelling out to nm/readelf, which are not always
//   installed on a hypervisor (binutils); the test checks it against `nm -D` where present.
//
// The file is untrusted input: every offset and size is checked against the file length
// and errors say at which byte offset the ELF stopped making sense.

import { closeSync, existsSync, fstatSync, openSync, readFileSync, readlinkSync, readSync, realpathSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { delimiter, isAbsolute, join } from 'node:path';

export class ElfError extends Error {
  override readonly name = 'ElfError';
}

/** A function symbol resolved to where a uprobe needs it. */
export interface ElfSymbol {
  readonly name: string;
  readonly vaddr: bigint;
  /** File offset of the first instruction (what `uprobe_events` takes). */
  readonly fileOffset: number;
  readonly size: bigint;
}

const SHT_DYNSYM = 11;
const PT_LOAD = 1;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const STB_GLOBAL = 1;
const STB_WEAK = 2;
/** libc.so.6 is ~2 MB; refuse to read absurdly large files into memory. */
const MAX_ELF_BYTES = 256 * 1024 * 1024;

function readWhole(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > MAX_ELF_BYTES) throw new ElfError(`${path}: ${size} bytes is too large for a shared library`);
    const buf = Buffer.alloc(size);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, buf, got, size - got, got);
      if (n <= 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/**
 * Dynamic function symbols of an ELF64 little-endian file, by name (the first definition of
 * each name; versioned duplicates such as memcpy@GLIBC_2.2.5/@@GLIBC_2.14 keep the first).
 */
export function elfDynamicFunctions(path: string, wanted: readonly string[]): Map<string, ElfSymbol> {
  const b = readWhole(path);
  function fail(at: number, what: string): never {
    throw new ElfError(`${path}: byte ${at}: ${what}`);
  }
  const need = (at: number, len: number, what: string): void => {
    if (at < 0 || len < 0 || at + len > b.length) fail(at, `${what} (${len} bytes) lies outside the ${b.length}-byte file`);
  };
  need(0, 64, 'ELF header');
  if (b.readUInt32BE(0) !== 0x7f454c46) fail(0, 'not an ELF file (bad magic)');
  if (b[4] !== 2) fail(4, `not ELF64 (class ${String(b[4])})`);
  if (b[5] !== 1) fail(5, `not little-endian (data ${String(b[5])})`);
  const u64 = (at: number, what: string): number => {
    need(at, 8, what);
    const v = b.readBigUInt64LE(at);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(at, `${what} ${v} is absurd`);
    return Number(v);
  };
  const phoff = u64(0x20, 'e_phoff');
  const shoff = u64(0x28, 'e_shoff');
  const phentsize = b.readUInt16LE(0x36);
  const phnum = b.readUInt16LE(0x38);
  const shentsize = b.readUInt16LE(0x3a);
  const shnum = b.readUInt16LE(0x3c);
  if (phentsize < 56) fail(0x36, `program header size ${phentsize} < 56`);
  if (shentsize < 64) fail(0x3a, `section header size ${shentsize} < 64`);
  need(phoff, phnum * phentsize, 'program headers');
  need(shoff, shnum * shentsize, 'section headers');

  const loads: { vaddr: bigint; offset: bigint; filesz: bigint }[] = [];
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    if (b.readUInt32LE(p) !== PT_LOAD) continue;
    loads.push({ offset: b.readBigUInt64LE(p + 8), vaddr: b.readBigUInt64LE(p + 16), filesz: b.readBigUInt64LE(p + 32) });
  }

  let dynsym: { off: number; size: number; entsize: number; link: number; at: number } | undefined;
  const sections: { off: number; size: number }[] = [];
  for (let i = 0; i < shnum; i++) {
    const s = shoff + i * shentsize;
    const type = b.readUInt32LE(s + 4);
    const off = u64(s + 0x18, 'sh_offset');
    const size = u64(s + 0x20, 'sh_size');
    sections.push({ off, size });
    if (type === SHT_DYNSYM && dynsym === undefined) {
      dynsym = { off, size, entsize: u64(s + 0x38, 'sh_entsize'), link: b.readUInt32LE(s + 0x28), at: s };
    }
  }
  if (dynsym === undefined) fail(shoff, 'no .dynsym section (a static or stripped-of-sections binary)');
  const ds = dynsym;
  if (ds.entsize < 24) fail(ds.at, `.dynsym entry size ${ds.entsize} < 24`);
  need(ds.off, ds.size, '.dynsym');
  const strtab = sections[ds.link];
  if (strtab === undefined) fail(ds.at, `.dynsym links to section ${ds.link}, which does not exist`);
  const st = strtab;
  need(st.off, st.size, '.dynstr');

  const want = new Set(wanted);
  const out = new Map<string, ElfSymbol>();
  for (let p = ds.off; p + 24 <= ds.off + ds.size; p += ds.entsize) {
    const nameOff = b.readUInt32LE(p);
    const info = b[p + 4] ?? 0;
    const shndx = b.readUInt16LE(p + 6);
    const value = b.readBigUInt64LE(p + 8);
    const size = b.readBigUInt64LE(p + 16);
    const type = info & 0xf;
    const bind = info >> 4;
    if (shndx === 0 || value === 0n || (type !== STT_FUNC && type !== STT_GNU_IFUNC) || (bind !== STB_GLOBAL && bind !== STB_WEAK)) continue;
    if (nameOff >= st.size) fail(p, `symbol name offset ${nameOff} is past .dynstr (${st.size} bytes)`);
    const from = st.off + nameOff;
    const nul = b.indexOf(0, from);
    const name = b.toString('latin1', from, nul < 0 || nul > st.off + st.size ? st.off + st.size : nul);
    if (!want.has(name) || out.has(name)) continue;
    if (type === STT_GNU_IFUNC) {
      // An IFUNC's address is its resolver, not the function: a probe there would fire once
      // at relocation. pwrite64 is not an IFUNC in glibc; refuse rather than probe wrongly.
      fail(p, `${name} is an IFUNC (its address is the resolver)`);
    }
    const seg = loads.find((l) => value >= l.vaddr && value < l.vaddr + l.filesz);
    if (seg === undefined) fail(p, `${name} at 0x${value.toString(16)} is in no PT_LOAD segment`);
    const s = seg;
    const off = value - s.vaddr + s.offset;
    if (off >= BigInt(b.length)) fail(p, `${name} file offset 0x${off.toString(16)} is past the end of the file`);
    out.set(name, { name, vaddr: value, fileOffset: Number(off), size });
  }
  return out;
}

/** The first of `names` defined in `path` (aliases: pwrite64, __pwrite64, pwrite). */
export function functionOffset(path: string, names: readonly string[]): ElfSymbol {
  const found = elfDynamicFunctions(path, names);
  for (const n of names) {
    const s = found.get(n);
    if (s !== undefined) return s;
  }
  throw new ElfError(`${path}: none of ${names.join(', ')} is a defined function in .dynsym`);
}

const LIBC_FILE = /\/libc(?:\.so\.6|-[\d.]+\.so)$/;

/** The libc a running process mapped (from /proc/PID/maps), resolved to a real path. */
export function libcOfPid(pid: number): string | undefined {
  let maps: string;
  try {
    maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
  } catch {
    return undefined;
  }
  for (const l of maps.split('\n')) {
    // "7f81a1e9a000-7f81a1ff0000 r-xp 00026000 fe:00 339380   /usr/lib/x86_64-linux-gnu/libc.so.6"
    const m = /^\S+\s+\S+\s+\S+\s+\S+\s+\d+\s+(\/.*)$/.exec(l);
    const path = m?.[1]?.replace(/ \(deleted\)$/, '');
    if (path === undefined || !LIBC_FILE.test(path)) continue;
    // A target in another mount namespace (a container) may see another file at that path:
    // then name it through /proc/PID/root, which the kernel follows into the target's root
    // when the uprobe is defined (realpath would turn it back into our own file).
    if (otherMountNamespace(pid)) {
      const viaRoot = `/proc/${pid}/root${path}`;
      if (existsSync(viaRoot)) return viaRoot;
    }
    return realOrSelf(path);
  }
  return undefined;
}

function otherMountNamespace(pid: number): boolean {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`) !== readlinkSync('/proc/self/ns/mnt');
  } catch {
    return false;
  }
}

/** `cmd` as execvp would find it. */
export function resolveCommand(cmd: string): string | undefined {
  if (cmd.includes('/')) return existsSync(cmd) ? cmd : undefined;
  for (const dir of (process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, cmd);
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The ELF a command runs: the file itself, or its "#!" interpreter (one level, plus env). */
function executableOf(cmd: string): string | undefined {
  let path = resolveCommand(cmd);
  for (let depth = 0; path !== undefined && depth < 3; depth++) {
    let head: Buffer;
    try {
      const fd = openSync(path, 'r');
      head = Buffer.alloc(256);
      const n = readSync(fd, head, 0, 256, 0);
      closeSync(fd);
      head = head.subarray(0, n);
    } catch {
      return undefined;
    }
    if (head.subarray(0, 2).toString('latin1') !== '#!') return path;
    const line = head.toString('latin1').slice(2).split('\n')[0]?.trim() ?? '';
    const parts = line.split(/\s+/);
    const interp = parts[0];
    if (interp === undefined || !isAbsolute(interp)) return undefined;
    path = interp.endsWith('/env') && parts[1] !== undefined ? resolveCommand(parts[1]) : interp;
  }
  return path;
}

/** The libc a command would load: ldd's answer for its executable, else ldconfig's. */
export function libcOfCommand(cmd: string): string | undefined {
  const exe = executableOf(cmd);
  if (exe !== undefined) {
    const r = spawnSync('ldd', [exe], { encoding: 'utf8', timeout: 10_000 });
    if (r.error === undefined) {
      const m = /^\s*libc\.so\.6 => (\/\S+)/m.exec(r.stdout);
      if (m?.[1] !== undefined) return realOrSelf(m[1]);
    }
  }
  const lc = spawnSync('ldconfig', ['-p'], { encoding: 'utf8', timeout: 10_000 });
  if (lc.error === undefined) {
    const arch = process.arch === 'x64' ? 'x86-64' : process.arch === 'arm64' ? 'AArch64' : '';
    for (const l of lc.stdout.split('\n')) {
      const m = /^\s*libc\.so\.6 \(([^)]*)\) => (\/\S+)/.exec(l);
      if (m?.[2] !== undefined && (arch === '' || (m[1] ?? '').includes(arch))) return realOrSelf(m[2]);
    }
  }
  for (const p of ['/lib/x86_64-linux-gnu/libc.so.6', '/lib64/libc.so.6', '/usr/lib/libc.so.6']) if (existsSync(p)) return realOrSelf(p);
  return undefined;
}

function realOrSelf(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/** The names glibc exports pwrite64 under (all the same address on 64-bit glibc). */
export const PWRITE64_NAMES: readonly string[] = ['pwrite64', '__pwrite64', 'pwrite', '__libc_pwrite'];

export interface LibcProbeSite {
  readonly libc: string;
  readonly pwrite64: ElfSymbol;
}

/** libc and pwrite64's offset for a target; a message when it cannot be found. */
export function findPwrite64(target: { kind: 'pid'; pid: number } | { kind: 'command'; argv0: string }): LibcProbeSite | string {
  const libc = target.kind === 'pid' ? libcOfPid(target.pid) : libcOfCommand(target.argv0);
  if (libc === undefined) {
    return target.kind === 'pid'
      ? `process ${target.pid} maps no libc.so.6 (statically linked?)`
      : `cannot tell which libc ${target.argv0} loads (ldd/ldconfig found none)`;
  }
  try {
    return { libc, pwrite64: functionOffset(libc, PWRITE64_NAMES) };
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}
