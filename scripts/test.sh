#!/usr/bin/env bash
# Installs what the tests need and runs all of them. README's test command; .ci/run runs it.
# Needs root (tracing, FUSE): the lab tests capture real syscalls with real tracers.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v bpftrace >/dev/null || need_apt+=(bpftrace)
command -v trace-cmd >/dev/null || need_apt+=(trace-cmd)
[ -f /usr/lib/python3/dist-packages/fusepy.py ] || need_apt+=(python3-fusepy)
command -v fusermount3 >/dev/null || need_apt+=(fuse3)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
command -v prometheus >/dev/null || need_apt+=(prometheus)
# the real-QEMU migration lab (test/lab/qemu-migration.test.ts): QEMU 7.2 under TCG
command -v qemu-system-x86_64 >/dev/null || need_apt+=(qemu-system-x86)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
# Debian's prometheus package starts a service on :9090 where systemd runs; tests start their own.
if [ "$(id -u)" = 0 ]; then
  mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing || echo "warning: cannot mount tracefs; tracing tests will skip"
fi

npm ci --no-audit --no-fund
mkdir -p .test-results
set +e
npx vitest run --reporter=default --reporter=json --outputFile=.test-results/vitest.json "$@"
status=$?
set -e
# The plain closing line CI reads ('N passed, N failed, N skipped').
node -e '
const r = JSON.parse(require("fs").readFileSync(".test-results/vitest.json", "utf8"));
const skipped = r.numPendingTests + r.numTodoTests;
console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' || true
exit $status
