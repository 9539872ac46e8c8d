/** Exhaustiveness check for switch statements over unions (STYLE.md). */
export function assertNever(x: never): never {
  // String(), not JSON.stringify: protocol values carry bigints, which JSON cannot show and
  // would hide the real error behind a serialisation one.
  const shown = typeof x === 'object' && x !== null ? Object.entries(x).map(([k, v]) => `${k}=${String(v)}`).join(' ') : String(x);
  throw new Error(`unexpected value: ${shown}`);
}
