// After `trace-cmd extract` reports success, capture asks trace-cmd's own reader whether
// the header it wrote is readable (capture/tracecmd.ts unreadableHeader): with another
// tracer adding probes at the same time, an event format can change size while it is
// copied and the file is damaged although trace-cmd exited 0 (seen running two suites).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { unreadableHeader } from '../../capture/tracecmd.js';

const haveTraceCmd = spawnSync('trace-cmd', ['dump', '--help']).error === undefined;
if (!haveTraceCmd) console.warn('skipping tracecmd-header-check: trace-cmd is not installed');
const GOOD = path.join(import.meta.dirname, '..', 'fixtures', 'lab', 'trace-cmd', 'precopy-grows.dat');

describe.skipIf(!haveTraceCmd)('unreadableHeader', () => {
  it('is quiet on a recorded trace.dat and names the problem of one whose section sizes are wrecked', () => {
    expect(unreadableHeader(GOOD)).toBeUndefined();
    const bytes = fs.readFileSync(GOOD);
    // Section headers just past the file header, as a format that changed under the copy leaves them.
    bytes.fill(0x6d, 2072, 2090);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'header-check-'));
    const bad = path.join(dir, 'bad.dat');
    fs.writeFileSync(bad, bytes);
    try {
      expect(unreadableHeader(bad)).toMatch(/\S/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
