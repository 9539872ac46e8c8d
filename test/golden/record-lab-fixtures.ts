// Re-records the lab fixtures of test/fixtures/lab/ (README.md there): every scenario of
// capture/lab/scenarios.json captured once with the real tracers on this machine, through
// the same capture code `migscope capture` and test/lab/*.test.ts use (capture/lab/run.ts
// captureScenario). The golden test (test/golden/golden.test.ts) analyses these files
// offline, so a fresh clone runs it without root, FUSE or a tracer.
//
// Run as root: scripts/record-lab-fixtures.sh [--tracer bpftrace|ftrace|trace-cmd]... [scenario...]
// (builds, then runs dist/test/golden/record-lab-fixtures.js). With no scenario, all of them.
// After recording: UPDATE_GOLDEN=1 npx vitest run test/golden, and review the diff
// (test/golden/README.md).

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { captureScenario, labAvailable, labScenarios } from '../../capture/lab/run.js';
import { shippedFile } from '../../capture/package-root.js';

/**
 * A representative few, for the outputs that are big (a trace.dat carries the event formats
 * of every system: about 136 KB even with the cut-down kallsyms) or that repeat another's
 * content in a second shape (bpftrace JSON): a clean v1 save, a v1 failure with read-back
 * and reset, two devices, a clean v2 save, v1 and v2 in one process.
 */
const REPRESENTATIVE = ['clean-live-migration', 'error-state-reset', 'two-devices-one-fails', 'v2-clean-live-migration', 'v1-v2-mixed'];

/** Which tracers record which scenarios (undefined: all of them), and the file each writes. */
const LAB_TRACERS: readonly { tracer: string; dir: string; ext: string; format: 'text' | 'json'; only?: readonly string[] }[] = [
  { tracer: 'bpftrace', dir: 'bpftrace', ext: 'txt', format: 'text' },
  { tracer: 'bpftrace', dir: 'bpftrace-json', ext: 'json', format: 'json', only: REPRESENTATIVE },
  { tracer: 'ftrace', dir: 'ftrace', ext: 'txt', format: 'text' },
  { tracer: 'trace-cmd', dir: 'trace-cmd', ext: 'dat', format: 'text', only: REPRESENTATIVE },
];

interface ManifestEntry {
  readonly file: string;
  readonly scenario: string;
  readonly protocol: 'v1' | 'v2';
  readonly tracer: string;
  readonly format: 'text' | 'json';
  readonly bytes: number;
  readonly lines: number;
  readonly tracerExitCode: number | undefined;
}

function toolVersion(cmd: string, args: readonly string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error !== undefined) return 'not installed';
  const out = `${r.stdout}${r.stderr}`.split('\n').find((l) => l.trim() !== '');
  return out?.trim() ?? 'unknown';
}

async function main(argv: readonly string[]): Promise<number> {
  const tracers: string[] = [];
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--tracer') {
      const t = argv[++i];
      if (t === undefined || !LAB_TRACERS.some((x) => x.tracer === t)) {
        process.stderr.write(`--tracer takes one of ${LAB_TRACERS.map((x) => x.tracer).join(', ')}\n`);
        return 2;
      }
      tracers.push(t);
    } else if (a !== undefined) names.push(a);
  }
  const all = [...labScenarios('v1'), ...labScenarios('v2')];
  for (const n of names) {
    if (!all.some((s) => s.name === n)) {
      process.stderr.write(`unknown scenario ${n} (capture/lab/scenarios.json)\n`);
      return 2;
    }
  }
  const scenarios = names.length === 0 ? all : all.filter((s) => names.includes(s.name));
  const use = tracers.length === 0 ? LAB_TRACERS : LAB_TRACERS.filter((t) => tracers.includes(t.tracer));

  const root = shippedFile('test', 'fixtures', 'lab');
  const manifestFile = join(root, 'manifest.json');
  // Keep the entries of what is not re-recorded now.
  let previous: ManifestEntry[] = [];
  try {
    const doc: unknown = JSON.parse(readFileSync(manifestFile, 'utf8'));
    if (typeof doc === 'object' && doc !== null && 'files' in doc && Array.isArray(doc.files)) previous = doc.files as ManifestEntry[];
  } catch {
    // first recording
  }
  const entries = new Map(previous.map((e) => [e.file, e]));
  let failed = 0;
  for (const t of use) {
    const avail = await labAvailable(t.tracer);
    if (!avail.ok) {
      process.stderr.write(`${t.tracer}: cannot record here: ${avail.reason ?? 'unavailable'}\n`);
      failed++;
      continue;
    }
    mkdirSync(join(root, t.dir), { recursive: true });
    for (const s of scenarios) {
      // A scenario named on the command line is recorded by every tracer asked for.
      if (t.only !== undefined && names.length === 0 && !t.only.includes(s.name)) continue;
      const rel = `${t.dir}/${s.name}.${t.ext}`;
      const out = join(root, rel);
      // Write next to the target and rename, so a failed capture never leaves half a fixture.
      const tmp = `${out}.recording`;
      try {
        const cap = await captureScenario(s.name, tmp, { tracer: t.tracer, format: t.format });
        renameSync(tmp, out);
        const e: ManifestEntry = {
          file: rel,
          scenario: s.name,
          protocol: s.protocol,
          tracer: t.tracer,
          format: t.format,
          bytes: statSync(out).size,
          lines: cap.result.lines,
          tracerExitCode: cap.result.tracerExitCode,
        };
        entries.set(rel, e);
        process.stdout.write(`${rel}: ${e.bytes} bytes, ${e.lines} lines, tracer exit ${String(e.tracerExitCode)}\n`);
      } catch (err) {
        failed++;
        process.stderr.write(`${rel}: capture failed: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    }
  }
  const manifest = {
    format: 'migscope-lab-fixtures v1',
    notes: 'Written by test/golden/record-lab-fixtures.ts (scripts/record-lab-fixtures.sh); see README.md.',
    recordedOn: {
      kernel: release(),
      bpftrace: toolVersion('bpftrace', ['--version']),
      traceCmd: toolVersion('trace-cmd', ['--version']),
    },
    files: [...entries.values()].sort((a, b) => a.file.localeCompare(b.file)),
  };
  writeFileSync(manifestFile, JSON.stringify(manifest, null, 2) + '\n');
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
