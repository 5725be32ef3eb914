#!/usr/bin/env bash
# Create-task and get-task on the PostgreSQL store beside pgbench's own rate for the same
# INSERT and SELECT on the same database in the same run: how close the service gets to the
# database's limit. Starts a throwaway cluster (fsync on, as a real one) and stops it at the
# end. Usage: bench/quick-postgres.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
connections=${2:-32}
binary=${MF_BINARY:-./build/metadata-service}
[ -x "$binary" ] || ./scripts/build.sh >/dev/null
source ./scripts/pg-cluster.sh
PG_CLUSTER_OPTIONS="-c fsync=on" pg_cluster_start
dir=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill $server 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; pg_cluster_stop' EXIT
url=$MF_TEST_POSTGRES_URL
port=$(pg_cluster_free_port)
"$binary" serve --host 127.0.0.1 --port "$port" --migration-port 0 --database "$url" \
  --log-level warning &
server=$!
base=http://127.0.0.1:$port
for _ in $(seq 100); do curl -sf "$base/ping" >/dev/null && break; sleep 0.1; done
curl -sf -XPOST "$base/flows/BenchFlow" -d '{}' >/dev/null
curl -sf -XPOST "$base/flows/BenchFlow/run" -d '{"user_name":"bench","tags":[],"system_tags":["metaflow_version:2.19.38"]}' >/dev/null
curl -sf -XPOST "$base/flows/BenchFlow/runs/1/steps/start/step" -d '{}' >/dev/null
curl -sf -XPOST "$base/flows/BenchFlow/runs/1/steps/start/task" -d '{}' >/dev/null

# The statements the store runs for the two requests (src/store/postgres/pg_store.cpp). The
# colons of the system tags are JSON escapes: pgbench would take ":dev" for a variable.
cat >"$dir/insert.sql" <<'SQL'
WITH parent AS (SELECT r.run_number, r.run_id, r.tags, r.system_tags FROM runs_v3 r WHERE r.flow_id = 'BenchFlow' AND r.run_number = 1), inserted AS (INSERT INTO tasks_v3 (flow_id, run_number, step_name, user_name, ts_epoch, tags, system_tags, run_id, task_name, last_heartbeat_ts) SELECT 'BenchFlow', parent.run_number, 'start', 'bench', 1795608199526, NULL, '["runtime\u003adev", "metaflow_version\u003a2.19.38", "user\u003abench", "python_version\u003a3.11.2"]'::jsonb, parent.run_id, NULL, NULL FROM parent RETURNING task_id) SELECT parent.run_number, parent.run_id, parent.tags, parent.system_tags, inserted.task_id FROM parent, inserted;
SQL
cat >"$dir/select.sql" <<'SQL'
SELECT t.flow_id, t.run_number, t.run_id, t.step_name, t.task_id, t.task_name, t.user_name, t.ts_epoch, r.tags, r.system_tags, t.last_heartbeat_ts FROM runs_v3 r JOIN tasks_v3 t ON t.flow_id = r.flow_id AND t.run_number = r.run_number WHERE r.flow_id = 'BenchFlow' AND r.run_number = 1 AND t.step_name = 'start' AND t.task_id = 1;
SQL
pgbench_rate() {
  pgbench -n -M prepared -c 8 -j 2 -T "$seconds" -f "$1" "$url" 2>/dev/null |
    awk '/^tps/ {print int($3)}'
}
wrk_rate() {
  wrk -t1 -c"$connections" -d"${seconds}s" -s "bench/wrk/$1.lua" "$base" |
    awk '/Requests\/sec/ {print int($2)}'
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%F)"
echo "PostgreSQL $(psql "$url" -Atc 'SHOW server_version'), fsync on, same cluster for all rows"
for pair in "create_task insert.sql" "get_task select.sql"; do
  set -- $pair
  service=$(wrk_rate "$1")
  database=$(pgbench_rate "$dir/$2")
  ratio=$(python3 -c "print(f'{$service / $database:.2f}')")
  # What autovacuum would do after the inserts, so that the reads get their real plan.
  psql "$url" -qc ANALYZE
  echo "$1: service $service requests/s (wrk -t1 -c$connections), pgbench $database statements/s (-c 8 -j 2 -M prepared): ratio $ratio"
done
