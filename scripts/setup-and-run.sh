#!/usr/bin/env bash
# From a fresh Debian 12 machine: install dependencies, build, and serve the metadata API
# on 0.0.0.0:8080 over the embedded SQLite file ./metaflow-metadata.db. Extra arguments go
# to `metadata-service serve` (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh >/dev/null
exec ./build/metadata-service serve "$@"
