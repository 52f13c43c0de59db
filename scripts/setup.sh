#!/usr/bin/env bash
# Shared by ./run.sh and ./test.sh: install what is missing (Debian packages only) and
# build one CMake preset. Usage: scripts/setup.sh [deps] [build <preset>]
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(g++ cmake make git libbenchmark-dev libboost-dev nlohmann-json3-dev libgtest-dev
          python3 python3-matplotlib python3-numpy python3-yaml
          libzmq3-dev cppzmq-dev libnng-dev iceoryx libiceoryx-posh-dev libiceoryx-hoofs-dev
          python3-zmq ccache)

install_deps() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi
}

build() {  # build <preset>: configure if needed, then build
  local preset=$1 dir=build
  [ "$preset" = release ] || dir=build-$preset
  if [ ! -f "$dir/CMakeCache.txt" ]; then
    cmake --preset "$preset" >&2
  fi
  cmake --build "$dir" -j "$(nproc)" >&2
}

while (($#)); do
  case $1 in
    deps) install_deps; shift ;;
    build) build "$2"; shift 2 ;;
    *) echo "setup: unknown step '$1'" >&2; exit 2 ;;
  esac
done
