#!/usr/bin/env bash
# The main job: install what is missing, build, then
#   1/3 the C++ suite with repetitions -> results/<timestamp>.json, results/latest.json,
#       and every latency histogram      -> results/<timestamp>.hgrm/ (HdrHistogram text)
#   2/3 the Python reference run        -> results/pyref.json      (scripts/pyref.py)
#   3/3 the run joins the results history -> results/history.sqlite, its trend charts
#       -> reports/history/ (scripts/history.py), then the charts and the report
#       -> reports/ (PNG, SVG, index.md, index.html)
# All or nothing: steps 1 and 2 write temporary files, and results/ and reports/
# change only when every step worked; a failing (or interrupted) step leaves both as
# they were (the history too), says which step failed, and exits non-zero.
# Usage: ./run.sh [--quick] [any ipcbench or Google Benchmark flag...]
#   --quick also makes the Python reference run quick (scripts/pyref.py --quick).
set -euo pipefail
cd "$(dirname "$0")"
PY=/usr/bin/python3
scripts/setup.sh deps build release

fail() { echo "run: error: $*" >&2; exit 1; }

# The default run (README "Reading the numbers"): 9 repetitions, what a Mann-Whitney U test
# over two runs needs to reach p < 0.05; repetitions randomly interleaved across the whole
# run, so that figures compared in one chart are taken minutes apart on neither side;
# round trips and floors in every placement; sizes 64 B, 64 KiB and 1 MiB, and 0.01 s
# per repetition: ipcbench about 5 minutes here, the whole run about 6.5 (README; all sizes:
# ./run.sh --sizes=16,64,256,4096,65536,1048576). Not the drift canary (--canary):
# normalising by it made the spread larger, not smaller (README).
# Flags given to run.sh come after these and override them.
reps=9
defaults=(--benchmark_enable_random_interleaving=true --pin=none,cross,same
          --sizes=64,65536,1048576 --benchmark_min_time=0.01)
pyref_args=()
for arg in "$@"; do
  if [ "$arg" = --quick ]; then
    reps=2
    pyref_args=(--quick)
    defaults=(--benchmark_enable_random_interleaving=true --pin=none,cross,same
              --sizes=64,65536,1048576)
  fi
done

mkdir -p results
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=results/$stamp.json
cpp_tmp=$(mktemp results/.run-XXXXXX.tmp)
py_tmp=$(mktemp results/.pyref-XXXXXX.tmp)
hist_tmp=$(mktemp -d results/.hgrm-XXXXXX.tmp)
hist=results/$stamp.hgrm
backup=$(mktemp -d results/.backup-XXXXXX.tmp)
state=running   # -> installed (new results in place) -> done (report written)

restore() {  # put the previous results back (step 3 failed or was interrupted)
  rm -f "$out" results/latest.json results/pyref.json results/history.sqlite
  rm -rf "$hist" reports/history
  local f
  for f in latest.json pyref.json history.sqlite; do
    if [ -f "$backup/$f" ]; then mv "$backup/$f" "results/$f"; fi
  done
  if [ -d "$backup/history" ]; then mv "$backup/history" reports/history; fi
}
cleanup() {
  if [ "$state" = installed ]; then
    restore
    echo "run: results/ (and the history) restored, reports/ unchanged" >&2
  fi
  rm -rf "$cpp_tmp" "$py_tmp" "$hist_tmp" "$backup"
}
trap cleanup EXIT
trap 'echo "run: interrupted; results/ and reports/ are left as they were" >&2; exit 130' INT TERM

echo "run: step 1/3: ipcbench, $reps repetitions per benchmark" >&2
# ipcbench exits 1 when some benchmarks failed: their error entries are kept (and left
# out of the charts with a warning); anything above 1 (bad flags, interrupt) stops here.
status=0
build/ipcbench --benchmark_repetitions="$reps" "${defaults[@]}" --benchmark_out="$cpp_tmp" \
  --benchmark_out_format=json --histograms="$hist_tmp" "$@" || status=$?
[ "$status" -le 1 ] ||
  fail "step 1/3: build/ipcbench failed (exit $status); results/ and reports/ unchanged"
[ -s "$cpp_tmp" ] ||
  fail "step 1/3: build/ipcbench wrote no results; results/ and reports/ unchanged"

echo "run: step 2/3: Python reference run, scripts/pyref.py ${pyref_args[*]}" >&2
$PY scripts/pyref.py "${pyref_args[@]}" --out "$py_tmp" ||
  fail "step 2/3: scripts/pyref.py failed (exit $?); results/ and reports/ unchanged"

echo "run: step 3/3: history (scripts/history.py) and report (scripts/plot.py) -> reports/" >&2
for f in latest.json pyref.json history.sqlite; do
  if [ -f "results/$f" ]; then cp -p "results/$f" "$backup/$f"; fi
done
if [ -d reports/history ]; then cp -pr reports/history "$backup/history"; fi
chmod 644 "$cpp_tmp"
state=installed
mv "$cpp_tmp" "$out"
chmod 755 "$hist_tmp"
mv "$hist_tmp" "$hist"
cp "$out" results/latest.json
mv "$py_tmp" results/pyref.json
# Every run joins the results history, so trends come without doing anything (README
# "Results history"); the report links to the trend charts.
$PY scripts/history.py add "$out" results/pyref.json ||
  fail "step 3/3: scripts/history.py add failed (exit $?)"
# Trend charts for the headline figures (process round trips at 64 B in each placement,
# process streams at 64 KiB): every benchmark's took minutes. A run that has none of them
# (run.sh --benchmark_filter=...) gets every benchmark's. All: history.py trend --out DIR.
headline='^(roundtrip/[^/]+/process/size:64/|throughput/[^/]+/process/size:65536/)'
$PY scripts/history.py trend --out reports/history --filter "$headline" 2>/dev/null ||
  $PY scripts/history.py trend --out reports/history ||
  fail "step 3/3: scripts/history.py trend failed (exit $?)"
$PY scripts/plot.py results/latest.json --pyref results/pyref.json \
  --history results/history.sqlite --out reports ||
  fail "step 3/3: scripts/plot.py failed (exit $?)"
state=done
echo "run: wrote $out, $hist/, results/latest.json, results/pyref.json," \
  "results/history.sqlite and reports/ (index.html, index.md, charts, history/)" >&2
if [ "$status" -ne 0 ]; then
  echo "run: some benchmarks failed: their error entries are in $out" >&2
  exit 1
fi
