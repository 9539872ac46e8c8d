#!/usr/bin/env bash
# Re-records the lab trace fixtures in test/fixtures/lab/ with the real tracers (root,
# FUSE, python3-fusepy, bpftrace, trace-cmd; see test/fixtures/lab/README.md).
# Arguments go to test/golden/record-lab-fixtures.ts:
#   scripts/record-lab-fixtures.sh                              every scenario, every tracer
#   scripts/record-lab-fixtures.sh --tracer bpftrace resume     one scenario, one tracer
# Then: UPDATE_GOLDEN=1 npx vitest run test/golden, and review the diff (test/golden/README.md).
#
# trace-cmd writes the whole /proc/kallsyms into every trace.dat (5.4 MB, 1.1 MB after
# zstd: more than all other fixtures together). As the samples' capture_tracecmd.sh does,
# the recorder runs in a private mount namespace where /proc/kallsyms is a cut-down copy
# (first 300 symbols, plus the syscall / trace_marker path and each next symbol). Only the
# KALLSYMS section changes; the ring-buffer pages are the kernel's.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json
work=$(mktemp -d /tmp/migscope-record-lab.XXXXXX)
trap 'rm -rf "$work"' EXIT
{ head -n 300 /proc/kallsyms
  awk 'hit { print; hit = 0 }
       / (__x64_sys_(pread64|pwrite64|ioctl|read|write|openat|close)|ksys_p(read|write)64|do_vfs_ioctl|tracing_mark_write)$/ { print; hit = 1 }' /proc/kallsyms
} > "$work/kallsyms-small"
if command -v unshare >/dev/null; then
  unshare -m --propagation private sh -c 'mount --bind "$1" /proc/kallsyms && shift && exec node dist/test/golden/record-lab-fixtures.js "$@"' \
    sh "$work/kallsyms-small" "$@"
else
  echo "unshare missing: trace.dat fixtures get the full kallsyms (about 1 MB each)" >&2
  node dist/test/golden/record-lab-fixtures.js "$@"
fi
echo "recorded; now: UPDATE_GOLDEN=1 npx vitest run test/golden  and review the diff (test/golden/README.md)"
