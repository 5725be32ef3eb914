#!/usr/bin/env bash
# Builds into build/ (Release) or, with MF_SANITIZE=1, into build-asan/ (ASan + UBSan).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${MF_SANITIZE:-0}" = 1 ]; then
  dir=build-asan
  flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DMF_SANITIZE=ON)
else
  dir=build
  flags=(-DCMAKE_BUILD_TYPE=Release)
fi
cmake -S . -B "$dir" -G Ninja "${flags[@]}" >/dev/null
ninja -C "$dir" -j "$(nproc)"
echo "$dir"
