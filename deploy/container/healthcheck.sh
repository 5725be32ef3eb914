#!/usr/bin/env bash
# The image's HEALTHCHECK (and the ECS container health check): GET /ping on the metadata
# API must answer 200. Plain bash (/dev/tcp), so the runtime image needs no curl.
# Reads the same variables as the service: MF_METADATA_PORT (8080), PATH_PREFIX.
#
#   healthcheck.sh [--ui]
#
# --ui (Compose, the Kubernetes startup probe): the UI listener's /ping on
# MF_UI_METADATA_PORT (8083) must answer 200 too.
set -euo pipefail

ping() {
  exec 3<>"/dev/tcp/127.0.0.1/$1"
  printf 'GET %s/ping HTTP/1.0\r\nHost: localhost\r\n\r\n' "${PATH_PREFIX:-}" >&3
  timeout 5 head -n 1 <&3 | grep -q '^HTTP/1\.[01] 200'
  exec 3<&-
}

ping "${MF_METADATA_PORT:-8080}"
if [ "${1:-}" = --ui ]; then
  ping "${MF_UI_METADATA_PORT:-8083}"
fi
