#!/usr/bin/env bash
# The main job: install what is missing, build, run the whole suite with repetitions,
# and write results/<timestamp>.json and results/latest.json.
# Usage: ./run.sh [--quick] [any ipcbench or Google Benchmark flag...]
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh deps build release

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=results/$stamp.json
tmp=$(mktemp results/.run-XXXXXX.tmp)
trap 'rm -f "$tmp"' EXIT
mkdir -p results
reps=3
for arg in "$@"; do [ "$arg" = --quick ] && reps=2; done
echo "run: ipcbench, $reps repetitions per benchmark -> $out" >&2
build/ipcbench --benchmark_repetitions="$reps" --benchmark_out="$tmp" \
  --benchmark_out_format=json "$@"
mv "$tmp" "$out"
cp "$out" results/latest.json
echo "run: wrote $out and results/latest.json" >&2
