// One QMP message as text → what it is (docs/interop/qmp-spec.rst): the greeting
// `{"QMP": …}`, a command `{"execute"|"exec-oob": …}`, a reply `{"return"|"error": …}`
// or an event `{"event": …, "timestamp": {"seconds", "microseconds"}}`. Shared by the
// QMP transcript and libvirt log parsers. The text is untrusted: anything that is not a
// JSON object of one of these shapes is an error with a reason, never a cast.

import type { QmpRecord } from '../../src/record/types.js';

export type QmpParse =
  | { readonly ok: true; readonly dir: QmpRecord['dir']; readonly message: Readonly<Record<string, unknown>>; readonly tsNs: bigint | undefined }
  | { readonly ok: false; readonly error: string };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** QMP's event timestamp (qmp-spec "timestamp": seconds and microseconds since the epoch) as ns. */
export function qmpTimestampNs(v: unknown): bigint | undefined {
  if (!isObject(v)) return undefined;
  const s = v['seconds'];
  const us = v['microseconds'];
  if (typeof s !== 'number' || typeof us !== 'number' || !Number.isSafeInteger(s) || !Number.isSafeInteger(us)) return undefined;
  // QEMU sends -1/-1 when it could not read the clock (qobject/json … qmp_timestamp): no time.
  if (s < 0 || us < 0 || us >= 1_000_000) return undefined;
  return BigInt(s) * 1_000_000_000n + BigInt(us) * 1000n;
}

export function parseQmpMessage(text: string): QmpParse {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `not JSON: ${(e as Error).message}` };
  }
  if (!isObject(v)) return { ok: false, error: 'not a JSON object' };
  if ('QMP' in v) return { ok: true, dir: 'greeting', message: v, tsNs: undefined };
  if (typeof v['execute'] === 'string' || typeof v['exec-oob'] === 'string') return { ok: true, dir: 'command', message: v, tsNs: undefined };
  if ('return' in v || isObject(v['error'])) return { ok: true, dir: 'reply', message: v, tsNs: undefined };
  if (typeof v['event'] === 'string') return { ok: true, dir: 'event', message: v, tsNs: qmpTimestampNs(v['timestamp']) };
  return { ok: false, error: 'JSON object that is not a QMP greeting, command, reply or event' };
}

/**
 * Collects a JSON object that spans lines (QEMU's `pretty=on` monitor, a pretty-printing
 * client): counts braces outside strings until they balance. Bounded: a message that
 * does not close within MAX_LINES lines or MAX_CHARS characters is given up.
 */
export function createJsonAccumulator(): {
  /** Returns the complete text once the braces balance, 'more' while open, or an error. */
  add(line: string): string | 'more' | { readonly error: string };
  readonly open: boolean;
  reset(): void;
} {
  const MAX_LINES = 10_000;
  const MAX_CHARS = 1 << 20;
  let parts: string[] = [];
  let chars = 0;
  let depth = 0;
  let inString = false;
  let escaped = false;
  const acc = {
    open: false,
    add(line: string): string | 'more' | { readonly error: string } {
      for (let i = 0; i < line.length; i++) {
        const c = line.charCodeAt(i);
        if (inString) {
          if (escaped) escaped = false;
          else if (c === 92) escaped = true;
          else if (c === 34) inString = false;
        } else if (c === 34) inString = true;
        else if (c === 123) depth++;
        else if (c === 125) depth--;
      }
      parts.push(line);
      chars += line.length;
      if (depth <= 0) {
        const text = parts.join('\n');
        acc.reset();
        return text;
      }
      if (parts.length > MAX_LINES || chars > MAX_CHARS) {
        const n = parts.length;
        acc.reset();
        return { error: `JSON message not closed after ${n} lines; given up` };
      }
      acc.open = true;
      return 'more';
    },
    reset(): void {
      parts = [];
      chars = 0;
      depth = 0;
      inString = false;
      escaped = false;
      acc.open = false;
    },
  };
  return acc;
}
