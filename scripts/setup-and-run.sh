#!/usr/bin/env bash
# From a fresh Debian 12 machine: install dependencies, build (showing its progress), and
# serve the metadata API on 0.0.0.0:8080 over the embedded SQLite file
# ./metaflow-metadata.db, and the web UI's listener on 8083 (the UI itself with --ui-dir).
# Extra arguments go to `metadata-service serve` (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
exec ./build/metadata-service serve "$@"
