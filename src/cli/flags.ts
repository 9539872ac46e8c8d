// Parsing of CLI flag values (STYLE.md: parse, don't cast). Each returns a value or throws
// a UsageError whose message says what was expected.

export class UsageError extends Error {}

/** "PID:FD=VALUE" (PID may be "?" for traces without process ids). */
export function parsePidFdAssignment(flag: string, text: string): { key: string; value: string } {
  const m = /^(\d+|\?):(\d+)=(.+)$/.exec(text);
  if (m === null) throw new UsageError(`${flag} expects PID:FD=VALUE (e.g. ${flag} 4242:27=0000:65:00.0), got "${text}"`);
  return { key: `${m[1]}:${m[2]}`, value: m[3] as string };
}

export function parseOffset(flag: string, text: string): bigint {
  if (!/^(0x[0-9a-fA-F]+|\d+)$/.test(text)) throw new UsageError(`${flag} expects an offset in hex (0x90000000000) or decimal, got "${text}"`);
  return BigInt(text);
}

/** Seconds with up to 9 decimals, e.g. "1732560000.123456789", to exact nanoseconds. */
export function parseSecondsToNs(flag: string, text: string): bigint {
  const m = /^(-?)(\d+)(?:\.(\d{1,9}))?$/.exec(text.trim());
  if (m === null) throw new UsageError(`${flag} expects seconds, e.g. 1732560000.5 (wall clock = trace clock + offset), got "${text}"`);
  const ns = BigInt(m[2] as string) * 1_000_000_000n + BigInt((m[3] ?? '').padEnd(9, '0'));
  return m[1] === '-' ? -ns : ns;
}

export function parsePositiveInt(flag: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new UsageError(`${flag} expects a positive integer, got "${text}"`);
  return Number(text);
}

/** A positive decimal number (e.g. `300`, `1.5`); `min` bounds it from below. */
export function parsePositiveNumber(flag: string, text: string, what: string, min = 0): number {
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || !(Number(text) > min)) throw new UsageError(`${flag} expects ${what}, got "${text}"`);
  return Number(text);
}

export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
