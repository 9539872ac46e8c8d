// A merge left unresolved must not land: docs/architecture.md once carried a whole section
// twice between conflict markers. Every tracked text file is checked for them.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const MARKER = /^(<{7}|>{7}) |^={7}$/m;

export function filesWithMarkers(files: readonly string[], read: (f: string) => string): string[] {
  return files.filter((f) => MARKER.test(read(f)));
}

describe('merge conflict markers', () => {
  it('are found where they are, and nowhere in the tracked sources and docs', () => {
    // the check itself: it sees a marker, and does not see a heading underline of "=" signs
    const fake: Record<string, string> = { a: 'x\n<<<<<<< HEAD\ny\n=======\nz\n>>>>>>> b\n', b: 'Title\n=====\n', c: 'x\n=======\n' };
    expect(filesWithMarkers(Object.keys(fake), (f) => fake[f] ?? '')).toEqual(['a', 'c']);
    const tracked = execFileSync('git', ['ls-files', '*.ts', '*.md', '*.json', '*.sh', '*.yml', '*.yaml'], { cwd: root, encoding: 'utf8' })
      .split('\n')
      .filter((f) => f !== '' && !f.startsWith('test/fixtures/') && !f.startsWith('test/golden/'));
    expect(tracked.length).toBeGreaterThan(100);
    expect(filesWithMarkers(tracked, (f) => readFileSync(join(root, f), 'utf8'))).toEqual([]);
  });
});
