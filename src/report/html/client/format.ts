// Page side: how times, bytes, errnos and sources are written for people. Inlined by its
// source text (client-bundle.ts): uses nothing from outside its own body.

import type { Decoded, DSources } from './decoded-types.js';

export function formatModule() {
  const ERRNO: Readonly<Record<number, string>> = {
    1: 'EPERM',
    2: 'ENOENT',
    5: 'EIO',
    9: 'EBADF',
    11: 'EAGAIN',
    12: 'ENOMEM',
    14: 'EFAULT',
    16: 'EBUSY',
    19: 'ENODEV',
    22: 'EINVAL',
    25: 'ENOTTY',
    42: 'ENOMSG',
    95: 'EOPNOTSUPP',
  };

  /** A duration in ns, with a unit that keeps 3–4 significant digits. */
  function dur(ns: number): string {
    if (Number.isNaN(ns)) return '?';
    const a = Math.abs(ns);
    if (a < 1e3) return `${Math.round(ns)} ns`;
    if (a < 1e6) return `${(ns / 1e3).toFixed(3)} µs`;
    if (a < 1e9) return `${(ns / 1e6).toFixed(3)} ms`;
    return `${(ns / 1e9).toFixed(3)} s`;
  }

  /** A relative time, exact to the nanosecond: "+12.000345678 s". */
  function relExact(ns: number): string {
    if (Number.isNaN(ns)) return 'unknown';
    const sign = ns < 0 ? '−' : '+';
    const a = BigInt(Math.round(Math.abs(ns)));
    return `${sign}${(a / 1000000000n).toString()}.${(a % 1000000000n).toString().padStart(9, '0')} s`;
  }

  /** An axis label for a tick at `ns` when ticks are `step` apart. */
  function tick(ns: number, step: number): string {
    const sign = ns < 0 ? '−' : '+';
    const a = Math.abs(ns);
    const unit = step >= 1e8 ? 1e9 : step >= 1e5 ? 1e6 : step >= 1e2 ? 1e3 : 1;
    const name = unit === 1e9 ? 's' : unit === 1e6 ? 'ms' : unit === 1e3 ? 'µs' : 'ns';
    const digits = Math.max(0, Math.min(9, Math.ceil(-Math.log10(step / unit) + 1e-9)));
    return `${sign}${(a / unit).toFixed(digits)} ${name}`;
  }

  function bytes(n: number): string {
    if (Number.isNaN(n)) return '?';
    const a = Math.abs(n);
    if (a < 1024) return `${n} B`;
    if (a < 1024 ** 2) return `${(n / 1024).toFixed(2)} KiB`;
    if (a < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(2)} MiB`;
    return `${(n / 1024 ** 3).toFixed(2)} GiB`;
  }

  /** 1234567 → "1,234,567". (toLocaleString costs ~100× more, and markers call this a lot.) */
  function count(n: number): string {
    if (!Number.isFinite(n)) return String(n);
    const s = String(Math.abs(Math.trunc(n))).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return n < 0 ? `-${s}` : s;
  }

  function errno(e: number): string {
    if (e === 0) return '';
    const a = Math.abs(e);
    return `${ERRNO[a] ?? 'errno'} (${a})`;
  }

  function raw(v: number): string {
    return v < 0 ? 'unknown' : `${v} (0x${v.toString(16)})`;
  }

  /** Exact absolute trace-clock ns of a relative time. */
  function absNs(d: Decoded, rel: number): string {
    return Number.isNaN(rel) ? '' : (d.t0 + BigInt(Math.round(rel))).toString();
  }

  /** Wall-clock time (ISO 8601, ns precision) when the analysis knows the clock offset. */
  function wall(d: Decoded, rel: number): string | undefined {
    const off = d.model.clock.offsetNs;
    if (off === null || Number.isNaN(rel)) return undefined;
    const w = d.t0 + BigInt(Math.round(rel)) + BigInt(off);
    const ms = w / 1000000n;
    const iso = new Date(Number(ms)).toISOString();
    return `${iso.slice(0, 19)}.${(((w % 1000000000n) + 1000000000n) % 1000000000n).toString().padStart(9, '0')}Z`;
  }

  /** "file:line", "file@offset" or "" for record i of a source column. */
  function src(d: Decoded, s: DSources, i: number): string {
    const f = s.file[i] ?? -1;
    if (f < 0) return '';
    const name = d.model.files[f] ?? '?';
    const line = s.line[i] ?? NaN;
    if (!Number.isNaN(line)) return `${name}:${line}`;
    const off = s.byteOffset[i] ?? -1;
    return off >= 0 ? `${name}@${off}` : name;
  }

  function stateName(d: Decoded, idx: number): string {
    return d.model.states[idx]?.name ?? '?';
  }

  return { dur, relExact, tick, bytes, count, errno, raw, absNs, wall, src, stateName };
}

export type FormatModule = ReturnType<typeof formatModule>;
