// The terminal view of the `migrations` section: the facts of migration-facts.ts, one a line.

import type { Migration } from '../track/migration-types.js';
import { migrationFacts, type FactTone } from './migration-facts.js';

function paint(on: boolean, code: string, s: string): string {
  return on ? `\x1b[${code}m${s}\x1b[0m` : s;
}

const TONE: Readonly<Record<FactTone, string | undefined>> = { plain: undefined, good: '32', warn: '33', bad: '31' };

export function migrationLines(m: Migration, color: boolean): string[] {
  const f = migrationFacts(m);
  const outcome = f.outcome === 'completed' ? paint(color, '32', f.outcome) : f.outcome === 'unknown' ? paint(color, '33', f.outcome) : paint(color, '31;1', f.outcome);
  const out = [`${paint(color, '1', f.title)} ${outcome}  ${f.when}`];
  for (const [label, value, tone] of f.facts) {
    const line = `  ${label}: ${value}`;
    const code = TONE[tone];
    out.push(code === undefined ? line : paint(color, code, line));
  }
  return out;
}

export function migrationsBlock(ms: readonly Migration[], color: boolean): string[] {
  if (ms.length === 0) return [];
  const out = [paint(color, '1', `Migrations (${ms.length})`)];
  for (const m of ms) out.push(...migrationLines(m, color), '');
  return out;
}
