// `{ ...base, ...more }` for the objects made once per record, op or session.
//
// Why not the spread: on Node 20 (V8 11.3) an object literal that begins with a spread and
// then goes on (`{ ...base, op: 'x' }`, `{ ...core, failure: undefined, partial: false }`,
// `{ ...(c ? { a } : {}), b }`) gives every object it makes hidden classes of its own: the
// properties after the spread are added to a map that transitions are never cached on, so
// each call makes new maps and descriptor arrays, and those live in the old generation.
// Measured with `node --log-maps`: 2 new maps per `{ ...core, failure, partial }` (200,000
// of them took 421 ms against 55 ms here); on 2 GB of dense text, 40 MB of dead descriptor
// arrays and 10 MB of dead maps between two full collections (`--trace-gc-object-stats`),
// the old generation swinging 20 → 52 MB on a live heap of 15 MB (issue 13). Copying the
// properties onto a fresh `{}` follows the empty object's transitions, which are cached.
//
// Same result as the spread for the plain data objects it is used on: own enumerable string
// keys, in order, later ones overriding earlier ones in place, undefined values kept.

/** An object while it is put together: its later fields are set one by one on it, not spread into a new literal. */
export type Building<T> = { -readonly [K in keyof T]: T[K] };

/** T with U's keys replaced or added; for a union, each member in turn (a record or an op keeps its kind). */
export type Extended<T, U> = T extends unknown ? Omit<T, keyof U> & U : never;

export function extended<T extends object, U extends object>(base: T, more: U): Extended<T, U> {
  const out: Record<string, unknown> = {};
  for (const k in base) out[k] = base[k];
  for (const k in more) out[k] = more[k];
  return out as Extended<T, U>;
}
