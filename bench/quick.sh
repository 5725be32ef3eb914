#!/usr/bin/env bash
# First figures for the SQLite store: wrk against a local server for GET and POST of a task
# and /ping, then the server's resident memory. Usage: bench/quick.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
connections=${2:-32}
binary=${MF_BINARY:-./build/metadata-service}
[ -x "$binary" ] || ./scripts/build.sh >/dev/null
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$binary" serve --host 127.0.0.1 --port "$port" --database "sqlite:$dir/bench.db" --log-level warning &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$dir"' EXIT
base=http://127.0.0.1:$port
for _ in $(seq 50); do curl -sf "$base/ping" >/dev/null && break; sleep 0.1; done
curl -sf -XPOST "$base/flows/BenchFlow" -d '{}' >/dev/null
curl -sf -XPOST "$base/flows/BenchFlow/run" -d '{"user_name":"bench","tags":[],"system_tags":["metaflow_version:2.19.38"]}' >/dev/null
curl -sf -XPOST "$base/flows/BenchFlow/runs/1/steps/start/step" -d '{}' >/dev/null
curl -sf -XPOST "$base/flows/BenchFlow/runs/1/steps/start/task" -d '{}' >/dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%F)"
for workload in ping get_task create_task; do
  rate=$(wrk -t1 -c"$connections" -d"${seconds}s" -s "bench/wrk/$workload.lua" "$base" | awk '/Requests\/sec/ {print $2}')
  echo "$workload: $rate requests/s (wrk -t1 -c$connections -d${seconds}s)"
done
echo "server resident memory: $(awk '/VmRSS/ {print $2, $3}' /proc/$server/status), peak $(awk '/VmHWM/ {print $2, $3}' /proc/$server/status)"
