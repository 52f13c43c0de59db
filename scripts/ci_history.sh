#!/usr/bin/env bash
# ci_history.sh - keep the results history on a git branch, for CI (.github/workflows/bench.yml):
#   scripts/ci_history.sh pull DIR   DIR/history.sqlite <- the branch's copy (a new history when
#                                    the branch does not exist yet)
#   scripts/ci_history.sh push DIR   DIR's files (history.sqlite, trend/) become the branch's next
#                                    commit, pushed; refused if the branch moved since the pull
# Only git: no service is called. The work happens in a temporary bare repository, so the
# checkout's .git is left as it was; it borrows the checkout's credentials for the remote (what
# actions/checkout stores as http.<url>.extraheader).
# Environment: HISTORY_REMOTE (a remote name or URL; default origin), HISTORY_BRANCH (default
# bench-history), HISTORY_MESSAGE (default "history: <GITHUB_SHA or HEAD>").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

usage() { echo "ci_history.sh: error: usage: ci_history.sh pull|push DIR" >&2; exit 2; }
[[ $# -eq 2 && ( $1 == pull || $1 == push ) && -n $2 ]] || usage
cmd=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)
remote=${HISTORY_REMOTE:-origin}
branch=${HISTORY_BRANCH:-bench-history}
url=$(git remote get-url "$remote" 2>/dev/null || printf '%s' "$remote")
parent_file="$dir/.history-parent"

bare=$(mktemp -d "${TMPDIR:-/tmp}/ci-history-XXXXXX")
trap 'rm -rf "$bare"' EXIT
git init -q --bare "$bare"
hist() { git --git-dir="$bare" "$@"; }
# The checkout's credentials for the remote (actions/checkout: persist-credentials).
while read -r key value; do
  [[ -n $key ]] && hist config "$key" "$value"
done < <(git config --local --get-regexp '^http\..*\.extraheader$' 2>/dev/null || true)

fetch_tip() {  # the branch's tip into $bare (shallow); prints its sha, nothing if none
  if hist ls-remote --exit-code --heads "$url" "$branch" >/dev/null 2>&1; then
    hist fetch -q --depth=1 "$url" "+refs/heads/$branch:refs/heads/$branch"
    hist rev-parse "refs/heads/$branch"
  else
    local status=$?
    # 2: the remote answered and has no such branch; anything else is a failure
    [[ $status -eq 2 ]] || { echo "ci_history.sh: error: cannot reach $url" >&2; exit 1; }
  fi
}

if [[ $cmd == pull ]]; then
  tip=$(fetch_tip)
  if [[ -z $tip ]]; then
    rm -f "$parent_file" "$dir/history.sqlite"
    echo "ci_history.sh: no branch $branch on $url yet: a new history"
    exit 0
  fi
  hist cat-file blob "$tip:history.sqlite" >"$dir/history.sqlite"
  echo "$tip" >"$parent_file"
  echo "ci_history.sh: history of $branch at ${tip:0:12} -> $dir/history.sqlite"
  exit 0
fi

[[ -f $dir/history.sqlite ]] || { echo "ci_history.sh: error: no $dir/history.sqlite" >&2; exit 1; }
expected=""
[[ -f $parent_file ]] && expected=$(cat "$parent_file")
tip=$(fetch_tip)
if [[ $tip != "$expected" ]]; then
  echo "ci_history.sh: error: $branch moved since the pull (${expected:-none} -> ${tip:-none});" \
    "not overwriting another run's history" >&2
  exit 1
fi
export GIT_INDEX_FILE="$bare/index.tmp"
git --git-dir="$bare" --work-tree="$dir" add -A -- . ':!.history-parent'
tree=$(hist write-tree)
message=${HISTORY_MESSAGE:-"history: ${GITHUB_SHA:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}"}
export GIT_AUTHOR_NAME=${GIT_AUTHOR_NAME:-ipcbench history} GIT_AUTHOR_EMAIL=${GIT_AUTHOR_EMAIL:-history@ipcbench.invalid}
export GIT_COMMITTER_NAME=${GIT_COMMITTER_NAME:-$GIT_AUTHOR_NAME} GIT_COMMITTER_EMAIL=${GIT_COMMITTER_EMAIL:-$GIT_AUTHOR_EMAIL}
commit=$(hist commit-tree "$tree" ${tip:+-p "$tip"} -m "$message")
hist push -q "$url" "$commit:refs/heads/$branch"
echo "$commit" >"$parent_file"
echo "ci_history.sh: pushed ${commit:0:12} to $branch on $url"
