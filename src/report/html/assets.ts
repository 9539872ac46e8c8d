// The charting library the page inlines: uPlot (MIT, leeoniya/uPlot), read from
// node_modules at render time so the report works from src/ (tests) and dist/ alike and
// never references a URL. Read once per process.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export interface VendorAssets {
  /** uPlot's IIFE build: defines the global `uPlot`. */
  readonly uplotJs: string;
  readonly uplotCss: string;
  readonly uplotVersion: string;
}

let cached: VendorAssets | undefined;

export function vendorAssets(): VendorAssets {
  if (cached !== undefined) return cached;
  const require = createRequire(import.meta.url);
  const read = (spec: string): string => readFileSync(require.resolve(spec), 'utf8');
  const pkg: unknown = JSON.parse(read('uplot/package.json'));
  const version =
    typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string' ? pkg.version : 'unknown';
  cached = {
    // The minified build ends with a sourceMappingURL comment in some releases; a
    // self-contained file must not point at anything, so drop it.
    uplotJs: read('uplot/dist/uPlot.iife.min.js').replace(/\n?\/\/# sourceMappingURL=\S*\s*$/, ''),
    uplotCss: read('uplot/dist/uPlot.min.css').replace(/\/\*# sourceMappingURL=\S*\s*\*\/\s*$/, ''),
    uplotVersion: version,
  };
  return cached;
}
