// Writes the generated dashboard JSON (dashboards/json/*.json, what Grafana's file
// provisioning loads) and the list of their queries (dashboards/queries.json).
//   npm run build && npm run dashboards          write them
//   npm run build && npm run dashboards -- --check   exit 1 when a committed file differs
// Either way it exits 1 when dashboards/validate.ts finds a problem in a dashboard.
// test/dashboards/generated.test.ts runs the same check.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DASHBOARDS, buildDashboard, dashboardJson } from './index.js';
import { queriesOf } from './queries.js';
import { validateDashboard } from './validate.js';

/** Every generated file, by path relative to dashboards/. */
export function generatedFiles(): ReadonlyMap<string, string> {
  const files = new Map<string, string>();
  const queries = [];
  for (const d of DASHBOARDS) {
    files.set(join('json', d.file), dashboardJson(d));
    queries.push(...queriesOf(buildDashboard(d)));
  }
  files.set('queries.json', `${JSON.stringify(queries, null, 2)}\n`);
  return files;
}

/** The source dashboards/ folder, whether this runs from dashboards/ (tests) or dist/dashboards/ (npm run dashboards). */
export function dashboardsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'dashboards');
    dir = resolve(dir, '..');
  }
  throw new Error('cannot find the repository root (package.json) above the generator');
}

function main(argv: readonly string[]): number {
  const check = argv.includes('--check');
  const root = dashboardsDir();
  let stale = 0;
  for (const d of DASHBOARDS) {
    for (const p of validateDashboard(buildDashboard(d))) {
      process.stderr.write(`${d.file}: ${p}\n`);
      stale++;
    }
  }
  for (const [rel, text] of generatedFiles()) {
    const path = join(root, rel);
    const old = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    if (old === text) continue;
    if (check) {
      process.stderr.write(`${path}: differs from what dashboards/*.ts generate; run npm run build && npm run dashboards\n`);
      stale++;
    } else {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
      process.stdout.write(`wrote ${path}\n`);
    }
  }
  return stale === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv.slice(2));
