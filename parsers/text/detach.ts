// Strings cut from a line share memory with the whole chunk the line came from (V8 makes
// substrings of 13+ characters "sliced strings" that keep their parent alive). A record
// that outlives its chunk (evidence kept for a finding) would then pin megabytes of input.
// These helpers give kept strings their own memory.

/** A copy of `s` that does not reference the string it was cut from. */
export function detach(s: string): string {
  // Concatenation then substring flattens into a new string of s's own length.
  return (' ' + s).substring(1);
}

/** Comms repeat on every line: detach each distinct one once. */
export function createInterner(max = 4096): (s: string) => string {
  const seen = new Map<string, string>();
  return (s) => {
    const hit = seen.get(s);
    if (hit !== undefined) return hit;
    if (seen.size >= max) seen.clear(); // bounded on hostile input with endless comms
    const own = detach(s);
    seen.set(own, own);
    return own;
  };
}
