// Fails when a module imports against DESIGN.md's data flow (STYLE.md "Layers you can see
// from the folder list"): parsers → decode → track → check → analysis → report/export → cli,
// with src/record and src/protocol as the base anyone may import.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

/** Layer of a path relative to the repo root; higher may import lower, never the reverse. */
function layer(rel: string): { rank: number; group: string } | undefined {
  const table: readonly [string, number][] = [
    ['src/record/', 0],
    ['src/protocol/', 0],
    ['parsers/', 1],
    ['capture/', 1],
    ['src/decode/', 2],
    ['src/track/', 3],
    ['src/check/', 4],
    ['src/analysis/', 5],
    ['src/report/', 6],
    ['src/export/', 6],
    ['src/cli/', 7],
    ['dashboards/', 7],
  ];
  for (const [prefix, rank] of table) if (rel.startsWith(prefix)) return { rank, group: prefix };
  return undefined;
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

export function layerViolations(): string[] {
  const bad: string[] = [];
  const files = ['src', 'parsers', 'capture', 'dashboards'].flatMap((d) => {
    try {
      return sources(join(root, d));
    } catch {
      return [];
    }
  });
  for (const file of files) {
    const from = layer(relative(root, file));
    if (from === undefined) continue;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) {
      const target = relative(root, resolve(dirname(file), m[1] as string));
      const to = layer(target);
      if (to === undefined) continue;
      const ok = to.rank < from.rank || to.group === from.group;
      if (!ok) bad.push(`${relative(root, file)} imports ${target} (layer ${to.group} may not be imported from ${from.group})`);
    }
  }
  return bad;
}

describe('layering', () => {
  it('has no import against the data flow', () => {
    expect(layerViolations()).toEqual([]);
  });

  it('the check itself can fail: a fake upward import is detected', () => {
    // Guard against a checker that never finds anything (e.g. a broken regex).
    expect(layer('parsers/x.ts')!.rank).toBeLessThan(layer('src/decode/x.ts')!.rank);
    const text = "import { createTracker } from '../src/track/tracker.js';";
    const m = /(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]/.exec(text);
    expect(m?.[1]).toBe('../src/track/tracker.js');
  });
});
