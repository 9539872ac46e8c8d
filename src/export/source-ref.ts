// Evidence as text: "file:line" for text formats, "file@offset cpu N" for trace.dat (compressed: "file@chunk+offset cpu N")
// (DESIGN.md: every record carries where it came from).

import type { Source } from '../record/types.js';

export function sourceRef(src: Source): string {
  if (src.line !== undefined) return `${src.file}:${src.line}`;
  // compressed trace.dat: "+N" is the record's offset in the decompressed chunk at the byte
  if (src.byteOffset !== undefined) return `${src.file}@${src.byteOffset}${src.chunkOffset !== undefined ? `+${src.chunkOffset}` : ''}${src.cpu !== undefined ? ` cpu ${src.cpu}` : ''}`;
  return src.file;
}
