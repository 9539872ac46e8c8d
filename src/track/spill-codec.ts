// Plain data (a MigrationSession, a StateInterval, …) as text and back, exactly: what
// JSON.stringify alone would lose is tagged. bigints (the exact ns times), undefined (a
// property set to undefined stays set; an array hole stays undefined), -0, NaN and the
// infinities; a string that itself begins with the tag is escaped. For the session spill
// (spilled-list.ts), where a value read back must be the value written.

const TAG = '\u0001';

/**
 * Every tag is at least this long. JSON.parse internalizes each string value of up to
 * 10 characters (V8's json-parser, kMaxInternalizedStringValueLength; checked with
 * %IsInternalizedString on Node 20: 10 is, 11 is not), and an internalized string is made
 * in the old generation: "\u0001u" (a field set to undefined) or "\u0001n8192", parsed and
 * revived away for every session read back, left ≈ 1.8 strings a session there as
 * garbage between full collections: 127,085 of them (3 MB) while the JSON of a 256 MB
 * trace.dat was written, ≈ 24 MB on 2 GB.
 */
const TAG_MIN = 11;
/**
 * A tag of a value, padded to TAG_MIN with spaces: before the digits of a bigint or a
 * non-finite number (BigInt() and Number() read past leading white space), and as the
 * whole payload of the tags that carry none (undefined, -0).
 */
function padded(kind: string, payload: string): string {
  return `${TAG}${kind}${payload.padStart(TAG_MIN - 2)}`;
}

const UNDEFINED_TAG = padded('u', '');
const MINUS_ZERO_TAG = padded('z', '');

function tagged(this: unknown, key: string, v: unknown): unknown {
  switch (typeof v) {
    case 'bigint':
      return padded('n', v.toString());
    case 'string':
      // Not padded (the text after the tag is the string): a string that begins with the tag is rare.
      return v.startsWith(TAG) ? `${TAG}s${v}` : v;
    case 'number':
      if (Object.is(v, -0)) return MINUS_ZERO_TAG;
      return Number.isFinite(v) ? v : padded('f', String(v));
    case 'undefined':
      // The root has key "" and no holder worth keeping; anything else keeps its slot.
      return key === '' && !Array.isArray(this) ? v : UNDEFINED_TAG;
    default:
      return v;
  }
}

export function encodeValue(v: unknown): string {
  return JSON.stringify(v, tagged);
}

function untag(s: string): unknown {
  switch (s[1]) {
    case 'n':
      return BigInt(s.slice(2));
    case 's':
      return s.slice(2);
    case 'z':
      return -0;
    case 'f':
      return Number(s.slice(2));
    case 'u':
      return undefined;
    default:
      throw new Error(`spill: unknown tag ${JSON.stringify(s.slice(0, 2))}`);
  }
}

/** Walks the parsed value in place, turning tagged strings back into what they stood for. */
function revive(v: unknown): unknown {
  if (typeof v === 'string') return v.startsWith(TAG) ? untag(v) : v;
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = revive(v[i]);
    return v;
  }
  const o = v as Record<string, unknown>;
  // for-in, not Object.keys: no array of keys made per object (JSON.parse made every key own).
  for (const k in o) o[k] = revive(o[k]);
  return o;
}

export function decodeValue(text: string): unknown {
  return revive(JSON.parse(text));
}
