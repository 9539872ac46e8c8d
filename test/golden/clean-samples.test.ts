// Issue 16: "every real sample of a clean migration: no error finding, one device per
// device". Which samples are clean migrations, from test/fixtures/samples/README.md: every
// file of the v1 workload (capture/vfio_mig_v1_workload.py) runs one complete, correct
// QEMU v1 save of ONE device, 0000:65:00.0 (001 -> 011, two pre-copy iterations, 011 ->
// 010, 010 again, one stop-and-copy chunk, pending_bytes 0, 010 -> 000), each as its own
// run. So each such sample must show exactly one device and no error finding.
//
// Where events were lost (the overflow samples, the trace-cmd extract), the missing
// events could hide anything, so a finding there may be `uncertain`; but a `certain`
// error about a migration that was clean is a wrong verdict.
//
// Samples that are not a whole clean migration, and why they are not here:
// - ftrace/ftrace-trace-all-clocks.txt: the first 4 lines of 10 separate runs (fragments).
// - ftrace/ftrace-trace-latency-format.txt: latency-format output, which migscope does not
//   read (every line is reported as a problem saying so; its golden file pins that).
// - trace-cmd/vfio-mig-default-v7-zstd.report-cpu0.txt: `report --cpu 0`, one CPU's half
//   of the run (the other CPU's events are not in the file).
// - bpftrace/bpftrace-lost-events.*: a printf flood of one probe (no VFIO syscalls).
// - bpftrace/bpftrace-json-record-types.*: bpftrace's record types, no migration.
// (Other files in samples/ are not traces at all: test/golden/inputs.ts SAMPLE_NOT_TRACES.)

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runAnalysis } from '../../src/cli/analyze.js';
import { REPO_ROOT } from './inputs.js';

interface CleanSample {
  readonly file: string;
  /** Events were lost: findings there may be uncertain, never certain. */
  readonly lossy: boolean;
}

const S = 'test/fixtures/samples';
const clean = (file: string, lossy = false): CleanSample => ({ file: `${S}/${file}`, lossy });

export const CLEAN_MIGRATION_SAMPLES: readonly CleanSample[] = [
  clean('bpftrace/bpftrace-vfio_mig_access.txt'),
  clean('bpftrace/bpftrace-vfio_mig_access.json'),
  clean('ftrace/ftrace-trace-local.txt'),
  clean('ftrace/ftrace-trace_pipe-local.txt'),
  clean('ftrace/ftrace-trace-clock-mono.txt'),
  clean('ftrace/ftrace-trace-clock-boot.txt'),
  clean('ftrace/ftrace-trace-noirqinfo.txt'),
  clean('ftrace/ftrace-trace_pipe-noirqinfo.txt'),
  clean('ftrace/ftrace-trace-tgid.txt'),
  clean('ftrace/ftrace-trace_pipe-tgid.txt'),
  clean('ftrace/ftrace-trace-overflow.txt', true),
  clean('ftrace/ftrace-trace_pipe-overflow.txt', true),
  clean('trace-cmd/vfio-mig-default-v7-zstd.dat'),
  clean('trace-cmd/vfio-mig-default-v7-zstd.report.txt'),
  clean('trace-cmd/vfio-mig-default-v7-zstd.report-R.txt'),
  clean('trace-cmd/vfio-mig-default-v7-zstd.report-t.txt'),
  clean('trace-cmd/vfio-mig-default-v7-zstd.report-l.txt'),
  clean('trace-cmd/vfio-mig-default-v7-zstd.report-ts-diff.txt'),
  clean('trace-cmd/vfio-mig-v7-nocompress.dat'),
  clean('trace-cmd/vfio-mig-v7-nocompress.report.txt'),
  clean('trace-cmd/vfio-mig-v7-nocompress.report-R.txt'),
  clean('trace-cmd/vfio-mig-v6.dat'),
  clean('trace-cmd/vfio-mig-v6.report.txt'),
  clean('trace-cmd/vfio-mig-v6.report-R.txt'),
  clean('trace-cmd/vfio-mig-lost-events-extract.dat', true),
  clean('trace-cmd/vfio-mig-lost-events-extract.report.txt', true),
  clean('trace-cmd/vfio-mig-lost-events-extract.report-R.txt', true),
  clean('uprobe/uprobe-libc-v7.dat'),
  clean('uprobe/uprobe-libc-v7.report.txt'),
  clean('uprobe/uprobe-libc-v7.report-R.txt'),
  clean('uprobe/uprobe-libc-v7.report-l.txt'),
  clean('uprobe/uprobe-trace-libc.txt'),
];

/**
 * Samples on which migscope is still wrong, with what it says: `it.fails` until the
 * tracker/checker redesign (issue 16) lands. Remove an entry when it starts passing
 * (vitest then reports the `it.fails` as failed).
 */
const KNOWN_WRONG: Readonly<Record<string, string>> = {};

describe('every real sample of a clean migration: no error finding, one device per device', () => {
  for (const s of CLEAN_MIGRATION_SAMPLES) {
    const run = KNOWN_WRONG[s.file] !== undefined ? it.fails : it;
    run(`${s.file}: one device, no ${s.lossy ? 'certain ' : ''}error finding`, async () => {
      const a = await runAnalysis([join(REPO_ROOT, s.file)], { failOn: 'error', eagainLimit: '3', quiet: true });
      expect(a.input.records, 'the sample was read').toBeGreaterThan(0);
      expect(a.devices.map((d) => `${d.id} (${d.naming})`), 'the workload drives one device').toHaveLength(1);
      const wrong = a.findings.filter((f) => f.severity === 'error' && (!s.lossy || f.certainty === 'certain'));
      expect(wrong.map((f) => `${f.rule} ${f.blame} ${f.device} ${f.certainty}: ${f.message}`)).toEqual([]);
    });
  }
});
