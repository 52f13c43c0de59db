#!/usr/bin/env bash
# Every test: install what is missing, build, run CTest (unit tests, the benchmark smoke test,
# the pipeline test of run.sh in miniature) and the script tests, then the unit tests under
# ASan+UBSan and TSan, then the A/B regression gate of HEAD against its parent, then a
# leak check (nothing of ipcbench's left: processes, /dev/shm, /tmp).
set -euo pipefail
cd "$(dirname "$0")"
# Everything started from here carries this marker, so the leak check at the end finds
# what this run left (processes, /dev/shm and /tmp entries) and not other runs' things.
IPCBENCH_LEAK_MARKER="test-$$-$(date +%s%N)"
export IPCBENCH_LEAK_MARKER
started=$(date +%s)
# Each stage says how long it took (CI must stay well under 20 minutes).
stage_start=$SECONDS
stage() {
  echo "test: [$((SECONDS - stage_start)) s] $1" >&2
  stage_start=$SECONDS
}
scripts/setup.sh deps
# ccache (installed by setup.sh) serves the gate's baseline build, which shares most files
# with HEAD's, from the release build's objects.
if command -v ccache >/dev/null; then
  # (its cache inside the checkout: no dependence on a writable home directory)
  export CMAKE_CXX_COMPILER_LAUNCHER=ccache CCACHE_BASEDIR=$PWD CCACHE_DIR=$PWD/build-ccache
fi
stage "dependencies"
scripts/setup.sh build release
stage "release build"
ctest --preset release -j 2
stage "release tests (CTest)"
/usr/bin/python3 -m unittest discover -s tests/scripts -t . -v
stage "script tests"
for preset in asan tsan; do
  echo "test: unit tests under $preset" >&2
  scripts/setup.sh build "$preset"
  stage "$preset build"
  ctest --preset "$preset" -j 2
  stage "$preset tests (CTest)"
done
echo "test: A/B regression gate, HEAD against HEAD~1" >&2
GATE_B_BINARY=build/ipcbench scripts/ci_gate.sh
stage "A/B gate"
echo "test: leak check (processes, /dev/shm, /tmp)" >&2
/usr/bin/python3 tests/leak_check.py --marker "$IPCBENCH_LEAK_MARKER" --since "$started"
stage "leak check"
echo "test: all passed in $(($(date +%s) - started)) s" >&2
