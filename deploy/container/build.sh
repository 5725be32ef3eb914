#!/usr/bin/env bash
# The image's build stages: installs the build packages of build-packages.txt (when missing;
# as root or via sudo), builds the release binary with the project's own CMake (no tests), and
# installs it as PREFIX/bin/metadata-service.
#
#   deploy/container/build.sh [PREFIX]      (default PREFIX: /usr/local)
#   MF_BUILD_DIR   build directory (default: build-container)
#   MF_SKIP_DEPS=1 do not look at or install packages (they are already there)
#   MF_ONLY_DEPS=1 only install the packages (the image caches them in their own layer)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
prefix="${1:-/usr/local}"
build_dir="${MF_BUILD_DIR:-$root/build-container}"

packages() { grep -v -e '^#' -e '^[[:space:]]*$' "$1"; }

if [ "${MF_SKIP_DEPS:-0}" != 1 ]; then
  missing=()
  for package in $(packages "$here/build-packages.txt"); do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get update -qq
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi
[ "${MF_ONLY_DEPS:-0}" != 1 ] || exit 0

cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMF_BUILD_TESTS=OFF >/dev/null
cmake --build "$build_dir" --target metadata-service -j "$(nproc)"
install -d "$prefix/bin"
install -m 0755 -s "$build_dir/metadata-service" "$prefix/bin/metadata-service"
"$prefix/bin/metadata-service" version
