// Words and numbers for messages and evidence (the tracker's evidence texts, the rules'
// messages): state values in hex, binary and by name
// (protocol/v1.ts names), results with errno names. One place, so every rule says the
// same thing the same way.

import type { DeviceOp, OpResult } from '../decode/ops.js';
import { ERRNO, errnoName } from '../protocol/ioctl.js';
import { V1_STATE_MASK, v1ReservedBits, v1StateName } from '../protocol/v1.js';
import type { Source } from '../record/types.js';
import type { Evidence } from './evidence.js';

export function hex(n: number | bigint): string {
  return `0x${n.toString(16)}`;
}

/** The low three bits as the spec writes them, e.g. "011b". */
export function bits3(raw: number): string {
  return `${(raw & V1_STATE_MASK).toString(2).padStart(3, '0')}b`;
}

/** e.g. "PRE_COPY (011b)" or "PRE_COPY (011b, raw 0x0000000b)" when reserved bits are set. */
export function stateText(raw: number): string {
  const name = v1StateName(raw);
  if (v1ReservedBits(raw) === 0) return `${name} (${bits3(raw)})`;
  return `${name} (${bits3(raw)}, raw 0x${(raw >>> 0).toString(16).padStart(8, '0')})`;
}

export function resultText(r: OpResult): string {
  if (r.ok === undefined) return 'result not seen';
  if (r.ok) return r.ret === undefined ? 'ok' : `returned ${r.ret}`;
  if (r.errno !== undefined) return `failed with ${errnoName(r.errno)} (-${r.errno})`;
  return r.ret === undefined ? 'failed' : `failed (${r.ret})`;
}

export function srcText(s: Source): string {
  if (s.line !== undefined) return `${s.file}:${s.line}`;
  if (s.byteOffset !== undefined) return `${s.file}@${s.byteOffset}`;
  return s.file;
}

/** One-line description of an op for evidence lists. */
export function opText(o: DeviceOp): string {
  switch (o.op) {
    case 'v1-state-write':
      return `pwrite device_state = ${o.value === undefined ? '(value not seen)' : stateText(o.value)}: ${resultText(o.result)}`;
    case 'v1-state-read':
      return `pread device_state → ${o.value === undefined ? '(value not seen)' : stateText(o.value)}: ${resultText(o.result)}`;
    case 'v1-field':
      return `${o.write ? 'pwrite' : 'pread'} ${o.field}${o.value === undefined ? '' : ` ${o.write ? '=' : '→'} ${hex(o.value)}`}: ${resultText(o.result)}`;
    case 'v1-bad-access':
      return `${o.size}-byte ${o.write ? 'pwrite' : 'pread'} at header offset +${o.regionOffset} (${o.fields.join(', ')}): ${resultText(o.result)}`;
    case 'v1-data':
      return `${o.write ? 'pwrite' : 'pread'} of ${o.size} bytes of data at region offset ${hex(o.regionOffset)}: ${resultText(o.result)}`;
    case 'reset':
      return `VFIO_DEVICE_RESET: ${resultText(o.result)}`;
    case 'region':
      return `migration region ${o.index === undefined ? '' : `index ${o.index} `}at fd offset ${hex(o.offset)}${o.size === undefined ? '' : `, size ${hex(o.size)}`} (${o.source})`;
    case 'open':
      return 'device opened';
    case 'close':
      return 'device closed';
    case 'qemu':
      return `QEMU ${o.event} ${Object.entries(o.args)
        .map(([k, v]) => `${k}=${typeof v === 'bigint' ? v.toString() : v}`)
        .join(' ')}`.trimEnd();
  }
}

/** Evidence entry for an op; `note` is added after what the op shows. */
export function evidence(o: DeviceOp, note?: string): Evidence {
  return { src: o.src, what: note === undefined ? opText(o) : `${opText(o)} (${note})` };
}

export function isEagain(r: OpResult): boolean {
  return r.ok === false && r.errno === ERRNO.EAGAIN;
}

/**
 * A failure that counts as a failed transition: seen, and not EAGAIN (V1-EAGAIN: transient).
 * A short transfer (the driver took fewer bytes than asked, no errno) is one too: QEMU's
 * vfio_mig_access turns it into an error (spec §3.2).
 */
export function isHardFailure(r: OpResult): boolean {
  return r.ok === false && r.errno !== ERRNO.EAGAIN;
}

/** A byte count for people: exact below 1 KiB, else KiB/MiB/GiB with one decimal (and the exact count). */
export function bytesText(n: number | bigint): string {
  const v = Number(n);
  if (Math.abs(v) < 1024) return `${String(n)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let x = v / 1024;
  let u = 0;
  while (Math.abs(x) >= 1024 && u < units.length - 1) {
    x /= 1024;
    u++;
  }
  return `${x.toFixed(1)} ${units[u] ?? 'TiB'} (${String(n)} B)`;
}

/** A duration in ns as milliseconds with three decimals. */
export function msText(ns: bigint): string {
  return `${(Number(ns) / 1e6).toFixed(3)} ms`;
}
