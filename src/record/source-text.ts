// Where a record came from, as text: "file:line" for text formats, "file@offset cpu N" for
// trace.dat (compressed: "file@chunk+offset cpu N": the record's offset in the decompressed
// chunk that starts at that byte). One formatter for every layer (DESIGN.md: every record
// carries where it came from), so evidence reads the same in the terminal, spans and notes.

import type { Source } from './types.js';

export function formatSource(s: Source): string {
  if (s.line !== undefined) return `${s.file}:${s.line}`;
  if (s.byteOffset !== undefined) return `${s.file}@${s.byteOffset}${s.chunkOffset !== undefined ? `+${s.chunkOffset}` : ''}${s.cpu !== undefined ? ` cpu ${s.cpu}` : ''}`;
  return s.file;
}
