#!/usr/bin/env bash
# Reads at scale: loads the scale fixture (metadata-service generate-fixture) into a
# fresh database, serves it, then measures the client's reads: the big lists once each with
# curl (time, bytes, the server's peak resident memory), the single-task reads with wrk; and
# the UI's: its home page and timeline pages with wrk, the big run's whole timeline.
#
# Usage: bench/scale.sh [sqlite|postgres] [scale]        (scale 1 = 50,000-task run; 10 = 10x)
# MF_BINARY picks the server binary (default build/metadata-service); WRK_SECONDS (default 5)
# and WRK_CONNECTIONS (default 8) the wrk runs. PostgreSQL runs on a throwaway cluster
# (scripts/pg-cluster.sh). FIXTURE_ARGS adds options to generate-fixture (e.g. a quick smoke
# run: FIXTURE_ARGS="--runs 50 --foreach-tasks 3000"). Bounded: each curl at most 300 s, each
# wrk run WRK_SECONDS.
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:-sqlite}
scale=${2:-1}
binary=${MF_BINARY:-./build/metadata-service}
seconds=${WRK_SECONDS:-5}
connections=${WRK_CONNECTIONS:-8}
[ -x "$binary" ] || ./scripts/build.sh >/dev/null
dir=$(mktemp -d)
server=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  [ "$backend" = postgres ] && pg_cluster_stop
  rm -rf "$dir"
}
trap cleanup EXIT
case "$backend" in
  sqlite) database="sqlite:$dir/scale.db" ;;
  postgres)
    source scripts/pg-cluster.sh
    pg_cluster_start
    database=$MF_TEST_POSTGRES_URL ;;
  *) echo "backend must be sqlite or postgres" >&2; exit 2 ;;
esac

echo "## Scale: $backend, scale $scale ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%F))"
load=$("$binary" generate-fixture --database "$database" --scale "$scale" ${FIXTURE_ARGS:-})
echo "$load" | sed 's/^/    /'
# The load leaves a gigabyte of dirty pages, which PostgreSQL would otherwise write out in the
# background while the reads below are timed.
[ "$backend" = postgres ] && psql "$database" -qc CHECKPOINT
run=$(echo "$load" | awk '/big run/ {gsub(",", "", $5); print $5}')
task=$(echo "$load" | awk '/first foreach task/ {print $NF}')

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ui_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$binary" serve --host 127.0.0.1 --port "$port" --database "$database" --log-level warning \
  --ui-port "$ui_port" --ui-host 127.0.0.1 --migration-port 0 &
server=$!
base=http://127.0.0.1:$port
ui=http://127.0.0.1:$ui_port
for _ in $(seq 100); do curl -sf "$base/ping" >/dev/null && break; sleep 0.1; done
memory() { awk '/VmHWM/ {hwm=$2} /VmRSS/ {rss=$2} END {printf "%.1f MiB peak, %.1f MiB now", hwm/1024, rss/1024}' "/proc/$server/status"; }
echo "server after start: $(memory)"

flow=/flows/ScaleFlow
tasks=$(echo "$load" | awk '/tasks_v3/ {print $2}')
middle=$((task + (tasks - 2 * $(echo "$load" | awk '/runs_v3/ {print $2}')) / 2))
echo
echo "| read | rows | bytes | seconds | server memory after |"
echo "|---|---|---|---|---|"
for read in "list runs|$flow/runs" \
            "list the foreach step's tasks|$flow/runs/$run/steps/body/tasks" \
            "the run's artifacts|$flow/runs/$run/artifacts" \
            "the run's metadata|$flow/runs/$run/metadata" \
            "filtered_tasks, one branch|$flow/runs/$run/steps/body/filtered_tasks?metadata_field_name=foreach-execution-path&pattern=body:7" \
            "filtered_tasks, body:1.*|$flow/runs/$run/steps/body/filtered_tasks?metadata_field_name=foreach-execution-path&pattern=body:1.%2A"; do
  name=${read%%|*}
  target=${read#*|}
  out=$(curl -sf --max-time 300 -o "$dir/body.json" -w '%{size_download} %{time_total}' "$base$target")
  rows=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$dir/body.json")
  echo "| $name | $rows | ${out% *} | ${out#* } | $(memory) |"
done

echo
echo "| single-task read (wrk -t1 -c$connections -d${seconds}s) | requests/s | p50 | p99 |"
echo "|---|---|---|---|"
task_path=$flow/runs/$run/steps/body/tasks/$middle
# A table row of one wrk run: "name|url".
wrk_row() {
  local name=${1%%|*} url=${1#*|} result rate p50 p99 errors
  result=$(wrk -t1 -c"$connections" -d"${seconds}s" --latency "$url")
  rate=$(echo "$result" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$result" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$result" | awk '$1 == "99%" {print $2}')
  errors=$(echo "$result" | awk '/Non-2xx/ {print $NF}')
  echo "| $name | $rate | $p50 | $p99 |${errors:+ non-2xx: $errors}"
}
for read in "task|$base$task_path" "task metadata|$base$task_path/metadata" \
            "task artifacts|$base$task_path/artifacts" "one artifact|$base$task_path/artifacts/_task_ok"; do
  wrk_row "$read"
done

# The UI's reads: its home page (one page of runs, plain and grouped by flow) and a run's
# timeline, every page of the big run's tasks in the UI's order.
echo
echo "| UI read (wrk -t1 -c$connections -d${seconds}s) | requests/s | p50 | p99 |"
echo "|---|---|---|---|"
for read in "home page|$ui/runs?_order=-ts_epoch&_limit=30&_group_limit=31" \
            "home page grouped by flow|$ui/runs?_group=flow_id&_order=-ts_epoch&_limit=30&_group_limit=7" \
            "timeline, first page|$ui$flow/runs/$run/tasks?_order=%2Bts_epoch&_limit=1000&_page=1" \
            "timeline, page 25|$ui$flow/runs/$run/tasks?_order=%2Bts_epoch&_limit=1000&_page=25" \
            "timeline, page 50|$ui$flow/runs/$run/tasks?_order=%2Bts_epoch&_limit=1000&_page=50"; do
  wrk_row "$read"
done
echo
# Every page of the big run's timeline, one request at a time: a first round on its own, then
# three rounds, each round's time and one page's latency over them all.
python3 bench/timeline_pages.py "$ui_port" "$flow/runs/$run/tasks" 3
echo
echo "server at the end: $(memory)"
