// Locates files shipped in the source tree (capture/migscope.bt, capture/lab/*) from a
// module that may run as capture/*.ts (vitest) or dist/capture/*.js (after `tsc`): walk up
// from this module to the directory whose package.json names the migscope package.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function packageRoot(): string {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        const parsed: unknown = JSON.parse(readFileSync(pj, 'utf8'));
        if (typeof parsed === 'object' && parsed !== null && 'name' in parsed && parsed.name === 'migscope') {
          cached = dir;
          return dir;
        }
      } catch {
        // not ours; keep walking
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`migscope package root not found above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** A path inside the package's source tree, e.g. shippedFile('capture', 'migscope.bt'). */
export function shippedFile(...parts: readonly string[]): string {
  return join(packageRoot(), ...parts);
}
