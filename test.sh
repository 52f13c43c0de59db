#!/usr/bin/env bash
# Every test: install what is missing, build, run CTest (unit tests and the benchmark
# smoke test) and the script tests, then the unit tests under ASan+UBSan and TSan.
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
