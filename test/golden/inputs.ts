// Which recorded traces the golden tests analyse (test/golden/README.md): every lab fixture
// (test/fixtures/lab/, recorded by scripts/record-lab-fixtures.sh) and every real sample
// in test/fixtures/samples that migscope reads. Each file under test/fixtures/samples is
// either a golden input or listed in SAMPLE_NOT_TRACES with the reason, and the golden
// test checks that, so a new sample cannot be left out unnoticed.

import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { packageRoot } from '../../capture/package-root.js';

/** The repository root (works from test/golden/*.ts under vitest and from dist/test/golden/*.js). */
export const REPO_ROOT = packageRoot();
export const EXPECTED_DIR = join(REPO_ROOT, 'test', 'golden', 'expected');

/** Every file below `dir`, repo-relative, sorted. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(REPO_ROOT, p));
    }
  };
  walk(join(REPO_ROOT, dir));
  return out.sort();
}

/** Lab fixtures: the trace files (the manifest and README are not traces). */
export function labFixtures(): string[] {
  return filesUnder('test/fixtures/lab').filter((f) => /\.(txt|json|dat)$/.test(f) && !f.endsWith('manifest.json'));
}

/** Files in test/fixtures/samples that are not trace inputs, and why. */
export const SAMPLE_NOT_TRACES: Readonly<Record<string, string>> = {
  'test/fixtures/samples/README.md': 'documentation',
  'test/fixtures/samples/bpftrace/bpftrace-json-record-types.json.stderr.txt': "bpftrace's stderr (RLIMIT_MEMLOCK message), not its output",
  'test/fixtures/samples/bpftrace/bpftrace-json-record-types.stderr.txt': "bpftrace's stderr, not its output",
  'test/fixtures/samples/bpftrace/bpftrace-vfio_mig_access.json.stderr.txt': "bpftrace's stderr, not its output",
  'test/fixtures/samples/bpftrace/bpftrace-vfio_mig_access.stderr.txt': "bpftrace's stderr, not its output",
  'test/fixtures/samples/ftrace/ftrace-event-formats.txt': 'tracefs event `format` files and header_page/header_event, not events',
  'test/fixtures/samples/ftrace/ftrace-per_cpu-stats-after-overflow.txt': 'per_cpu/cpu0/stats counters, not events',
  'test/fixtures/samples/trace-cmd/vfio-mig-default-v7-zstd.dat.record-log.txt': 'what trace-cmd record printed',
  'test/fixtures/samples/trace-cmd/vfio-mig-default-v7-zstd.decoded.txt': "output of capture/decode_tracedat.py (an independent decoder's dump)",
  'test/fixtures/samples/trace-cmd/vfio-mig-default-v7-zstd.dump-summary.txt': 'trace-cmd dump --summary (file metadata)',
  'test/fixtures/samples/trace-cmd/vfio-mig-default-v7-zstd.dump.txt': 'trace-cmd dump (file metadata)',
  'test/fixtures/samples/trace-cmd/vfio-mig-default-v7-zstd.report-E.txt': 'trace-cmd report -E: the list of stored event formats',
  'test/fixtures/samples/trace-cmd/vfio-mig-default-v7-zstd.report-stat.txt': 'trace-cmd report --stat: buffer statistics',
  'test/fixtures/samples/trace-cmd/vfio-mig-lost-events-extract.dat.record-log.txt': 'what trace-cmd extract printed',
  'test/fixtures/samples/trace-cmd/vfio-mig-lost-events-extract.decoded.txt': "output of capture/decode_tracedat.py (an independent decoder's dump)",
  'test/fixtures/samples/trace-cmd/vfio-mig-lost-events-extract.dump-summary.txt': 'trace-cmd dump --summary (file metadata)',
  'test/fixtures/samples/trace-cmd/vfio-mig-lost-events-extract.dump.txt': 'trace-cmd dump (file metadata)',
  'test/fixtures/samples/trace-cmd/vfio-mig-v6.dat.record-log.txt': 'what trace-cmd record printed',
  'test/fixtures/samples/trace-cmd/vfio-mig-v6.decoded.txt': "output of capture/decode_tracedat.py (an independent decoder's dump)",
  'test/fixtures/samples/trace-cmd/vfio-mig-v6.dump-summary.txt': 'trace-cmd dump --summary (file metadata)',
  'test/fixtures/samples/trace-cmd/vfio-mig-v6.dump.txt': 'trace-cmd dump (file metadata)',
  'test/fixtures/samples/trace-cmd/vfio-mig-v6.report-events.txt': 'trace-cmd report --events: the stored event formats',
  'test/fixtures/samples/trace-cmd/vfio-mig-v7-nocompress.dat.record-log.txt': 'what trace-cmd record printed',
  'test/fixtures/samples/trace-cmd/vfio-mig-v7-nocompress.decoded.txt': "output of capture/decode_tracedat.py (an independent decoder's dump)",
  'test/fixtures/samples/trace-cmd/vfio-mig-v7-nocompress.dump-summary.txt': 'trace-cmd dump --summary (file metadata)',
  'test/fixtures/samples/trace-cmd/vfio-mig-v7-nocompress.dump.txt': 'trace-cmd dump (file metadata)',
  'test/fixtures/samples/uprobe/uprobe-event-formats.txt': 'the generated uprobe `format` files, not events',
  'test/fixtures/samples/uprobe/uprobe_events-definitions.txt': 'uprobe_events definitions as read back, not events',
  'test/fixtures/samples/uprobe/uprobe_profile.txt': 'uprobe hit counts, not events',
};

/** Directories of test/fixtures/samples that hold no trace input, and why. */
export const SAMPLE_NOT_TRACE_DIRS: Readonly<Record<string, string>> = {
  'test/fixtures/samples/capture/': 'the scripts that made the samples (bpftrace programs, shell, python, js)',
};

/** Why a sample file is not a golden input, or undefined when it is one. */
export function whyNotATrace(f: string): string | undefined {
  const dir = Object.keys(SAMPLE_NOT_TRACE_DIRS).find((d) => f.startsWith(d));
  return dir !== undefined ? SAMPLE_NOT_TRACE_DIRS[dir] : SAMPLE_NOT_TRACES[f];
}

/** Every file in test/fixtures/samples that is a trace input. */
export function sampleTraces(): string[] {
  return filesUnder('test/fixtures/samples').filter((f) => whyNotATrace(f) === undefined);
}

/** test/fixtures/lab/bpftrace/x.txt → test/golden/expected/lab/bpftrace/x.txt.json */
export function expectedFileFor(input: string): string {
  return join(EXPECTED_DIR, `${input.replace(/^test\/fixtures\//, '')}.json`);
}
