// One line of `bpftrace -f json` (0.17): {"type": T, "data": D}, or, for helper_error, the
// fields at top level (spec/trace-formats.md §4.3); newer bpftrace's lost_events puts its
// count at top level too.

export type JsonLine =
  | { readonly type: 'printf'; readonly text: string }
  | { readonly type: 'lost_events'; readonly events: number | undefined }
  | { readonly type: 'other'; readonly name: string };

// bpftrace 0.17 writes bytes >= 0x80 as \uffffffXX (a sign-extended char). Undo it on the
// raw line: an odd number of backslashes before "uffffff" makes it an escape, an even
// number is an escaped backslash followed by plain text.
const BAD_ESCAPE = /(?<!\\)((?:\\\\)*)\\u[fF]{6}([0-9a-fA-F]{2})/g;

function fixHighBytes(raw: string): { readonly text: string; readonly fixed: boolean } {
  let fixed = false;
  const text = raw.replace(BAD_ESCAPE, (_m, slashes: string, hex: string) => {
    fixed = true;
    return `${slashes}\\u00${hex}`;
  });
  return { text, fixed };
}

/** The escaped bytes came back as U+0080..U+00FF code units: reassemble them as UTF-8. */
function bytesToUtf8(s: string): string {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return s;
  return Buffer.from(s, 'latin1').toString('utf8');
}

function count(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parse a JSON line; a string result is the reason it is malformed. */
export function parseJsonLine(raw: string): JsonLine | string {
  const { text, fixed } = fixHighBytes(raw);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return `invalid JSON (${e instanceof Error ? e.message : String(e)})`;
  }
  if (!isRecord(v)) return 'JSON line is not an object';
  const type = v['type'];
  if (typeof type !== 'string') return 'JSON line has no "type"';
  switch (type) {
    case 'printf': {
      const data = v['data'];
      if (typeof data !== 'string') return 'printf record without string data';
      return { type: 'printf', text: fixed ? bytesToUtf8(data) : data };
    }
    case 'lost_events': {
      // bpftrace 0.17: {"type": "lost_events", "data": {"events": N}}; newer bpftrace:
      // {"type": "lost_events", "count": N}. A count that is not a non-negative integer
      // is unknown (the lost window is still recorded), never guessed.
      const data = v['data'];
      const events = isRecord(data) ? count(data['events']) ?? count(data['count']) : count(v['count']) ?? count(v['events']);
      return { type: 'lost_events', events };
    }
    default:
      return { type: 'other', name: type };
  }
}
