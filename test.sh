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
scripts/setup.sh deps build release
ctest --preset release -j 2
/usr/bin/python3 -m unittest discover -s tests/scripts -t . -v
for preset in asan tsan; do
  echo "test: unit tests under $preset" >&2
  scripts/setup.sh build "$preset"
  ctest --preset "$preset" -j 2
done
echo "test: A/B regression gate, HEAD against HEAD~1" >&2
GATE_B_BINARY=build/ipcbench scripts/ci_gate.sh
echo "test: leak check (processes, /dev/shm, /tmp)" >&2
/usr/bin/python3 tests/leak_check.py --marker "$IPCBENCH_LEAK_MARKER" --since "$started"
