// JSON that is safe inside <script type="application/json">…</script>.
//
// The HTML tokenizer ends a script element at "</script" and treats "<!--" specially, so
// "<" must never appear literally; ">" and "&" are escaped too so the text is inert in
// any context a careless edit might move it to. U+2028/U+2029 are valid in JSON but were
// line terminators in pre-ES2019 JavaScript. Every escape is a JSON \u escape, so
// JSON.parse of the element's textContent returns exactly the original value.

export function jsonForScript(value: unknown): string {
  return escapeJsonText(JSON.stringify(value));
}

/** The same escaping, for JSON text already serialised. */
export function escapeJsonText(json: string): string {
  return json
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}
