#!/usr/bin/env bash
# ci_gate.sh - CI regression gate: HEAD (working tree) against HEAD~1, paired A/B.
# Builds both under build-ab/, alternates their ipcbench binaries on a small, steady
# subset of round trips (scripts/ab.py defaults) and exits 1 on a slowdown that is both
# > 10% and significant twice in a row, or on a benchmark that errors or is missing in
# HEAD. Without GATE_BASE, a clone where HEAD has no parent (a single commit, or a shallow
# clone) says "A/B gate NOT RUN: no parent commit" and exits 0; a GATE_BASE that names no
# commit is an error (exit 2: a typo must not turn the gate off). A parent that exists but
# does not build or run passes with "gate skipped: ...". Exits 3 (as
# ab.py) when it could decide nothing: the default 24 pairs per benchmark always suffice,
# so a 3 here means the runs failed or --pairs was cut too far; that fails CI on purpose.
# Extra arguments go to scripts/ab.py (e.g. --filter REGEX, --pairs N, --arg=--pin=same).
# Environment: GATE_BASE (default HEAD~1); GATE_B_BINARY=build/ipcbench reuses a Release
# build of the working tree instead of building it again; GITHUB_STEP_SUMMARY gets the
# Markdown table.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

own_base=false  # --a-binary: a baseline binary given, no revision needed
for arg in "$@"; do [[ "$arg" == --a-binary* ]] && own_base=true; done
if [[ -z "${GATE_BASE:-}" ]] && ! $own_base &&
  ! git rev-parse --verify --quiet 'HEAD~1^{commit}' >/dev/null; then
  if ! git rev-parse --git-dir >/dev/null 2>&1; then
    why="not a git checkout"
  elif [[ "$(git rev-parse --is-shallow-repository)" == true ]]; then
    why="a shallow clone (git fetch --deepen=1 brings the parent)"
  else
    why="a single-commit history"
  fi
  echo "ci_gate.sh: A/B gate NOT RUN: no parent commit (HEAD~1): ${why}"
  exit 0
fi
mkdir -p build-ab
rm -f build-ab/gate.md build-ab/gate.json
start=$SECONDS
args=(--base "${GATE_BASE:-HEAD~1}" --skip-if-base-fails
      --markdown build-ab/gate.md --json build-ab/gate.json)
[[ -n "${GATE_B_BINARY:-}" ]] && args+=(--b-binary "$GATE_B_BINARY")
status=0
/usr/bin/python3 scripts/ab.py "${args[@]}" "$@" || status=$?
if [[ -n "${GITHUB_STEP_SUMMARY:-}" && -f build-ab/gate.md ]]; then
  cat build-ab/gate.md >>"$GITHUB_STEP_SUMMARY"
fi
report=""
[[ -f build-ab/gate.md ]] && report=" (report: build-ab/gate.md)"
echo "ci_gate.sh: exit ${status} after $((SECONDS - start)) s${report}"
exit "$status"
