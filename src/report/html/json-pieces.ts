// JSON.stringify of plain data, in pieces: an object member by member, a long array a slice
// at a time. The pieces joined are exactly JSON.stringify's text (no indent), so a writer
// can pass them on as they come instead of holding one string of the whole: the report's
// findings tables on a 2 GB trace were one 14 MB string (twice that once a "…" made it
// two-byte), beside the arrays it was made from (issue 13).
//
// Plain data only: no toJSON, no bigint, no replacer (the report model is all numbers,
// strings, arrays and plain objects).

/** Array items written per piece. */
export const SLICE_ITEMS = 2048;

export function* jsonPieces(v: unknown): Generator<string> {
  if (Array.isArray(v)) {
    if (v.length <= SLICE_ITEMS) yield JSON.stringify(v);
    else yield* arrayPieces(v);
    return;
  }
  if (typeof v === 'object' && v !== null) {
    yield '{';
    yield* objectBody(v);
    return;
  }
  const text = JSON.stringify(v) as string | undefined;
  if (text === undefined) throw new TypeError(`jsonPieces: ${typeof v} is not JSON`);
  yield text;
}

/** An object's members and its closing brace: jsonPieces(o) without the opening "{". */
export function* objectBody(o: object): Generator<string> {
  let first = true;
  for (const [k, el] of Object.entries(o)) {
    // JSON.stringify leaves these members out.
    if (el === undefined || typeof el === 'function' || typeof el === 'symbol') continue;
    yield `${first ? '' : ','}${JSON.stringify(k)}:`;
    first = false;
    yield* jsonPieces(el);
  }
  yield '}';
}

/**
 * A JSON array of plain items as they are read (an array, or a pass over a list that is
 * not held), SLICE_ITEMS a piece: joined, JSON.stringify's text of the whole.
 */
export function* arrayPieces(items: Iterable<unknown>): Generator<string> {
  let batch: unknown[] = [];
  let first = true;
  for (const x of items) {
    batch.push(x);
    if (batch.length < SLICE_ITEMS) continue;
    yield `${first ? '[' : ','}${JSON.stringify(batch).slice(1, -1)}`;
    first = false;
    batch = [];
  }
  if (batch.length > 0) yield `${first ? '[' : ','}${JSON.stringify(batch).slice(1, -1)}`;
  else if (first) yield '[';
  yield ']';
}
