// analyze and report keep finished sessions in a temporary file (track/spill-file.ts): the
// analysis read back through it must render exactly as the one held in memory, in every
// output (JSON, terminal, HTML), on a trace of many migrations per device (the bench's
// dense ftrace text: 8 devices migrating over and over).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeInputs } from '../../src/cli/pipeline.js';
import { FORMATS } from '../../parsers/index.js';
import { renderJson } from '../../src/report/json.js';
import { renderTerminal } from '../../src/report/terminal.js';
import { renderHtmlReport } from '../../src/report/html/render.js';
import { openSpillFile, type SpillFile } from '../../src/track/spill-file.js';
import { isSpilled } from '../../src/track/spilled-list.js';
import { rowsInFile } from '../../src/track/spilled-rows.js';
import { generateFtraceText } from '../../bench/generate/ftrace-text.js';
import type { Analysis } from '../../src/analysis/types.js';

let dir = '';
let trace = '';
let inMemory: Analysis;
let spilled: Analysis;
let file: SpillFile | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'migscope-spill-cli-'));
  trace = join(dir, 'dense.txt');
  generateFtraceText(trace, 1_500_000, { seed: 7, vms: 2, devicesPerVm: 2, noiseShare: 0, cpus: 2 });
  inMemory = await analyzeInputs([{ path: trace }], { formats: FORMATS });
  file = openSpillFile();
  if (file === undefined) throw new Error('no temp file');
  // Two in memory per device: nearly every session goes through the file; so do the
  // intervals and state writes, in blocks of 16 (track/spilled-rows.ts).
  spilled = await analyzeInputs([{ path: trace }], { formats: FORMATS, sessionSpill: { file, after: 2, rowBlock: 16 } });
});

afterAll(() => {
  file?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('sessions spilled to a temporary file', () => {
  it('are spilled: most of each device\'s sessions are in the file', () => {
    const withSessions = spilled.devices.filter((d) => d.sessions.length > 10);
    expect(withSessions.length).toBeGreaterThanOrEqual(2);
    for (const d of withSessions) expect(isSpilled(d.sessions)).toBe(true);
    expect(file?.size() ?? 0).toBeGreaterThan(100_000);
    for (const d of withSessions) {
      expect(rowsInFile(d.timeline)).toBeGreaterThan(d.timeline.length / 2);
      expect(rowsInFile(d.stateWrites)).toBeGreaterThan(d.stateWrites.length / 2);
    }
    // The in-memory analysis holds plain arrays.
    for (const d of inMemory.devices) {
      expect(isSpilled(d.sessions)).toBe(false);
      expect(rowsInFile(d.timeline)).toBeUndefined();
    }
  });

  it('give the same JSON document, byte for byte', () => {
    // Downtime shares and findings come out the same too (they read the sessions after the last input).
    expect(renderJson(spilled)).toBe(renderJson(inMemory));
    expect(inMemory.findings.length).toBeGreaterThan(0);
  });

  it('give the same terminal text', () => {
    expect(renderTerminal(spilled, { color: false })).toBe(renderTerminal(inMemory, { color: false }));
  });

  it('give the same HTML report', () => {
    expect(renderHtmlReport(spilled, { title: 't' })).toBe(renderHtmlReport(inMemory, { title: 't' }));
  });
});
