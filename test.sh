#!/usr/bin/env bash
# Every test: install what is missing, build, run CTest (unit tests, the benchmark smoke test,
# the pipeline test of run.sh in miniature) and the script tests, then the unit tests under
# ASan+UBSan and TSan, then the A/B regression gate of HEAD against its parent.
set -euo pipefail
cd "$(dirname "$0")"
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
