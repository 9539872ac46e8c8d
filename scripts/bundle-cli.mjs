// The command line as a few files instead of ~200 modules: run after `tsc` (npm run build,
// prepare, bench). Node 20's ESM loader costs ≈ 0.4 ms a module before any code runs, so the
// unbundled CLI spent ≈ 90 ms of every start loading its own modules (`migscope --version`
// 0.23 s against 0.13 s bundled; `analyze` of a small trace 0.21 → 0.13 s; measured on the
// project's 2-core lab machine, docs/architecture.md "Start-up").
//
// tsc's dist/src/cli/main.js is replaced by the bundle's entry, in place, so that every path
// that runs the CLI (package.json bin, deploy/, README, the tests, the bench) runs what users
// run. The code the commands load on demand (report, export, config files) stays behind its
// dynamic import() as separate chunks (splitting) in dist/src/cli/bundle/, rebuilt from
// scratch each time. Packages in node_modules stay outside the bundle (`packages: external`):
// they are resolved as before (uPlot's files, zstddec's module for its worker). The rest of
// dist/ (tsc's per-module output) is left as it is: the bench, the dashboards and the fuzz
// runner import it.

import { build } from 'esbuild';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cliDir = join(root, 'dist/src/cli');
const entry = join(cliDir, 'main.js');

if (!existsSync(entry)) {
  console.error(`bundle-cli: ${entry} is missing: run tsc first (npm run build)`);
  process.exit(2);
}
// Bundling the bundle would lose the chunks it points at: tsc must have written main.js anew.
if (readFileSync(entry, 'utf8').includes('/* migscope bundle */')) {
  console.error(`bundle-cli: ${entry} is a bundle already: run tsc first (npm run build)`);
  process.exit(2);
}

rmSync(join(cliDir, 'bundle'), { recursive: true, force: true });
await build({
  entryPoints: [entry],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  outdir: cliDir,
  allowOverwrite: true,
  chunkNames: 'bundle/[name]-[hash]',
  sourcemap: true,
  banner: { js: '/* migscope bundle */' },
  logLevel: 'warning',
});
// The line filter's worker thread (src/cli/filtered-file.ts) is its own file, beside main.js
// where the bundle's chunks look for it (../line-filter-worker.js), in place of tsc's: one
// module to load when the thread starts, with only the parser code it runs.
const lineFilterWorker = join(cliDir, 'line-filter-worker.js');
await build({
  entryPoints: [lineFilterWorker],
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  outfile: lineFilterWorker,
  allowOverwrite: true,
  sourcemap: true,
  logLevel: 'warning',
});
