#!/usr/bin/env bash
# Where PostgreSQL's work per client_mix lifecycle goes, for one or more binaries of the
# service: each serves a fresh database of one durable cluster (fsync and synchronous_commit
# on, pg_stat_statements loaded) under `wrk -t16 -c16` of bench/wrk/client_mix.lua, then this
# prints per lifecycle the transactions committed, the WAL flushes (fsyncs), and each
# statement's calls and execution time from pg_stat_statements.
#
#   bench/pg_statements.sh build/metadata-service [OTHER_BINARY ...]
#   SECONDS_PER_RUN=20 bench/pg_statements.sh ...
#   ANALYZED=1 bench/pg_statements.sh ...   # after the same load for as long and an ANALYZE
#
# Without ANALYZED the tables hold rows newer than any statistics, as bench/run's short runs
# do (autovacuum's first ANALYZE of a table comes up to a minute after its first 50 rows).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${SECONDS_PER_RUN:-10}
[ $# -ge 1 ] || { echo "usage: $0 BINARY [BINARY ...]" >&2; exit 2; }

# shellcheck source=../scripts/pg-cluster.sh
source "$root/scripts/pg-cluster.sh"
PG_CLUSTER_OPTIONS="-c fsync=on -c synchronous_commit=on -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all" \
  pg_cluster_start
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  pg_cluster_stop
}
trap cleanup EXIT

admin() { psql "$MF_TEST_POSTGRES_URL" -XAtq -v ON_ERROR_STOP=1 "$@"; }
in_database() { psql "$url" -XAtq -v ON_ERROR_STOP=1 "$@"; }
admin -c "CREATE EXTENSION pg_stat_statements"

number=0
for binary in "$@"; do
  number=$((number + 1))
  database="lifecycle_$number"
  admin -c "CREATE DATABASE $database"
  url="postgresql://postgres@127.0.0.1:$PG_CLUSTER_PORT/$database?sslmode=disable"
  port=$(pg_cluster_free_port)
  MF_MIGRATION_PORT=0 "$binary" serve --host 127.0.0.1 --port "$port" --database "$url" --log-level warning \
    --ui-port 0 &
  server_pid=$!
  base="http://127.0.0.1:$port"
  for _ in $(seq 100); do curl -sf "$base/ping" >/dev/null && break; sleep 0.1; done
  post() { curl -sf -X POST -H 'Content-Type: application/json' -d "$2" "$base$1" >/dev/null; }
  tags='"tags": [], "system_tags": ["runtime:dev", "metaflow_version:2.19.38", "user:bench"]'
  post /flows/BenchFlow '{"user_name": "bench"}'
  post /flows/BenchFlow/run "{\"user_name\": \"bench\", $tags}"
  post /flows/BenchFlow/runs/1/steps/mix/step "{\"user_name\": \"bench\", $tags}"

  if [ -n "${ANALYZED:-}" ]; then
    wrk -t16 -c16 -d"${seconds}s" -s "$root/bench/wrk/client_mix.lua" "$base" >/dev/null
    in_database -c "ANALYZE"
  fi
  # The statistics of this run only: reset, then read the same way after wrk.
  admin -c "SELECT pg_stat_statements_reset(), pg_stat_reset_shared('wal')" >/dev/null
  in_database -c "SELECT pg_stat_reset()" >/dev/null
  report=$(wrk -t16 -c16 -d"${seconds}s" -s "$root/bench/wrk/client_mix.lua" "$base")
  lifecycles=$(sed -n 's/^BENCH .*"units": *\([0-9]*\).*/\1/p' <<<"$report")
  sleep 1  # the statistics of the last transactions reach the views within a second
  echo "== $binary: $lifecycles lifecycles in ${seconds} s"
  in_database -F ' ' -c "SELECT 'per lifecycle: commits', round(xact_commit::numeric / $lifecycles, 2), 'rollbacks', round(xact_rollback::numeric / $lifecycles, 2) FROM pg_stat_database WHERE datname = '$database'"
  admin -F ' ' -c "SELECT 'per lifecycle: WAL flushes', round(wal_sync::numeric / $lifecycles, 2), 'WAL writes', round(wal_write::numeric / $lifecycles, 2), 'WAL kB', round(wal_bytes / 1024.0 / $lifecycles, 1) FROM pg_stat_wal"
  echo "calls per lifecycle | ms executing per lifecycle | statement"
  admin -F ' | ' -c "SELECT round(s.calls::numeric / $lifecycles, 2), round((s.total_exec_time + s.total_plan_time)::numeric / $lifecycles, 3), left(regexp_replace(s.query, '\s+', ' ', 'g'), 110) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '$database' AND s.calls >= $lifecycles / 10 ORDER BY s.total_exec_time DESC"
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=
done
