// Plain data (a MigrationSession, a StateInterval, …) as text and back, exactly: what
// JSON.stringify alone would lose is tagged. bigints (the exact ns times), undefined (a
// property set to undefined stays set; an array hole stays undefined), -0, NaN and the
// infinities; a string that itself begins with the tag is escaped. For the session spill
// (spilled-list.ts), where a value read back must be the value written.

const TAG = '\u0001';

function tagged(this: unknown, key: string, v: unknown): unknown {
  switch (typeof v) {
    case 'bigint':
      return `${TAG}n${v.toString()}`;
    case 'string':
      return v.startsWith(TAG) ? `${TAG}s${v}` : v;
    case 'number':
      if (Object.is(v, -0)) return `${TAG}z`;
      return Number.isFinite(v) ? v : `${TAG}f${String(v)}`;
    case 'undefined':
      // The root has key "" and no holder worth keeping; anything else keeps its slot.
      return key === '' && !Array.isArray(this) ? v : `${TAG}u`;
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
