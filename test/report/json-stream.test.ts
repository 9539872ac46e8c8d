// The streamed JSON (report/json.ts jsonChunks) is byte for byte what JSON.stringify writes
// for the same document: the recorded lab traces of every tracer, and an analysis with an
// empty device list, undefined fields and nested empty containers.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeInputs } from '../../src/cli/pipeline.js';
import { FORMATS } from '../../parsers/index.js';
import { jsonChunks, JSON_SCHEMA_ID } from '../../src/report/json.js';
import { summarize } from '../../src/analysis/summary.js';
import type { Analysis } from '../../src/analysis/types.js';

const LAB = join(import.meta.dirname, '..', 'fixtures', 'lab');

function reference(a: Analysis, indent: number): string {
  return JSON.stringify({ schema: JSON_SCHEMA_ID, ...a, summary: summarize(a) }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), indent);
}

describe('streamed JSON', () => {
  const files = ['bpftrace', 'ftrace', 'trace-cmd'].flatMap((dir) => readdirSync(join(LAB, dir)).slice(0, 4).map((f) => join(LAB, dir, f)));
  it.each(files)('%s: the chunks join to JSON.stringify of the document', async (file) => {
    const a = await analyzeInputs([{ path: file }], { formats: FORMATS });
    expect(a.devices.length).toBeGreaterThan(0);
    const chunks = [...jsonChunks(a)];
    // Written in pieces, not as one string.
    expect(chunks.length).toBeGreaterThan(a.devices.length * 3);
    expect(chunks.join('')).toBe(reference(a, 2));
    expect([...jsonChunks(a, 0)].join('')).toBe(reference(a, 0));
  });

  it('calls onSession once after each device session, only then, and writes the same text', async () => {
    const a = await analyzeInputs([{ path: files.find((f) => f.includes('ftrace')) ?? '' }], { formats: FORMATS });
    const sessions = a.devices.reduce((n, d) => n + d.sessions.length, 0);
    expect(sessions).toBeGreaterThan(0);
    // A migration with a sessions list of its own is not a device's: it is not counted.
    const doc = { ...a, migrations: [{ sessions: [1, 2, 3] }] } as unknown as Analysis;
    let text = '';
    /** The text written so far at each call: it ends with a session's closing brace. */
    const at: string[] = [];
    for (const c of jsonChunks(doc, 2, () => at.push(text.slice(-12)))) text += c;
    expect(at.length).toBe(sessions);
    for (const tail of at) expect(tail).toMatch(/\n {8}\}$/);
    expect(text).toBe(reference(doc, 2));
  });

  it('writes empty lists, omitted and undefined fields as JSON.stringify does', async () => {
    const a = await analyzeInputs([{ path: files[0] ?? '' }], { formats: FORMATS });
    const odd = { ...a, devices: [], findings: [], extra: { none: undefined, list: [undefined, 1n, {}], deep: { deeper: { deepest: [[], {}] } } } } as unknown as Analysis;
    expect([...jsonChunks(odd)].join('')).toBe(reference(odd, 2));
  });
});
