// Evidence as text: "file:line" for text formats, "file@offset" for binary ones
// (DESIGN.md: every record carries where it came from).

import type { Source } from '../record/types.js';

export function sourceRef(src: Source): string {
  if (src.line !== undefined) return `${src.file}:${src.line}`;
  if (src.byteOffset !== undefined) return `${src.file}@${src.byteOffset}`;
  return src.file;
}
