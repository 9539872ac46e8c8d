// Temporary spill files for a test file's tests (track/spill-file.ts), each closed after its test.
import { afterEach } from 'vitest';
import { openSpillFile, type SpillFile } from '../../src/track/spill-file.js';

/** Registers the cleanup and returns the opener: call at the top level of a test file. */
export function spillFiles(): () => SpillFile {
  const opened: SpillFile[] = [];
  afterEach(() => {
    for (const f of opened.splice(0)) f.close();
  });
  return () => {
    const f = openSpillFile();
    if (f === undefined) throw new Error('no temp file');
    opened.push(f);
    return f;
  };
}
