#!/usr/bin/env bash
# Installs what building, running and testing need on Debian 12. Runs as root (or via sudo).
# buildah and debootstrap build the container image without a Docker engine.
# Only versioned Boost 1.81 packages: the unversioned libboost-*-dev pull in 1.74 and conflict.
set -euo pipefail
packages=(
  g++ cmake ninja-build pkg-config git ca-certificates
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libsqlite3-dev sqlite3 libpq-dev postgresql postgresql-contrib
  libspdlog-dev libfmt-dev libcli11-dev zlib1g-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev clang-format curl wrk openssl python3 python3-prometheus-client
  chromium  # the browser test of the web UI drives it (puppeteer-core)
  buildah debootstrap
)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
