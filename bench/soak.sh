#!/usr/bin/env bash
# Soak: a bounded mixed load (bench/wrk/mixed.lua) against one real server,
# sampling the server's resident memory (VmRSS, VmHWM) and open file descriptors every 10 s
# into a CSV, then start-after-warm-up against end figures and whether they stayed flat.
# Not part of CI.
#
# Usage: bench/soak.sh [seconds (default 600)] [sqlite|postgres (default sqlite)]
# Environment: MF_BINARY (default ./build/metadata-service), SOAK_CONNECTIONS (32),
# SOAK_WARMUP seconds (60, or a tenth of a shorter run), SOAK_CSV (default
# soak-<backend>-<date>.csv in the current directory). postgres starts a throwaway cluster
# (scripts/pg-cluster.sh, fsync on) and stops it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
backend=${2:-sqlite}
connections=${SOAK_CONNECTIONS:-32}
warmup=${SOAK_WARMUP:-$((seconds / 10 < 60 ? seconds / 10 : 60))}
interval=10
binary=${MF_BINARY:-./build/metadata-service}
csv=${SOAK_CSV:-$PWD/soak-$backend-$(date -u +%Y%m%dT%H%M%S).csv}
[ -x "$binary" ] || ./scripts/build.sh >/dev/null

source ./scripts/pg-cluster.sh
dir=$(mktemp -d)
server=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$dir"
  [ "$backend" = postgres ] && pg_cluster_stop
  return 0
}
trap cleanup EXIT
case $backend in
  sqlite) options=(--database "sqlite:$dir/soak.db") ;;
  postgres)
    PG_CLUSTER_OPTIONS="-c fsync=on" pg_cluster_start
    options=(--database "$MF_TEST_POSTGRES_URL" --migration-port 0)
    ;;
  *) echo "unknown backend '$backend' (sqlite or postgres)" >&2; exit 2 ;;
esac

port=$(pg_cluster_free_port)
"$binary" serve --host 127.0.0.1 --port "$port" "${options[@]}" --log-level warning \
  >"$dir/server.log" 2>&1 &
server=$!
base=http://127.0.0.1:$port
for _ in $(seq 100); do curl -sf "$base/ping" >/dev/null && break; sleep 0.1; done
post() { curl -sf -XPOST "$base$1" -d "$2" >/dev/null; }
post /flows/SoakFlow '{}'
post /flows/SoakFlow/run '{"user_name":"soak","tags":[],"system_tags":[]}'
post /flows/SoakFlow/runs/1/steps/start/step '{}'
post /flows/SoakFlow/runs/1/steps/start/task '{}'
post /flows/SoakFlow/runs/1/steps/start/tasks/1/artifact \
  '[{"name":"a","location":"s3://bucket/a","ds_type":"s3","sha":"0","type":"metaflow.artifact","content_type":"gzip+pickle-v4","attempt_id":0,"user_name":"soak"}]'

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "date: $(date -u '+%F %H:%M UTC'); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "load: wrk -t2 -c$connections -s bench/wrk/mixed.lua on $backend, ${seconds}s in all:" \
  "${warmup}s of warm-up, then samples every ${interval}s into $csv"

# Resident memory in kB: VmRSS, its peak VmHWM, and VmRSS split into anonymous memory (the
# heap: where a leak shows), file pages (the binary, libraries) and shared memory (SQLite's
# WAL index, mapped from the -shm file).
memory_kb() {
  awk '$1 ~ /^(VmRSS|VmHWM|RssAnon|RssFile|RssShmem):$/ {kb[$1] = $2}
       END {printf "%d,%d,%d,%d,%d", kb["VmRSS:"], kb["VmHWM:"], kb["RssAnon:"], kb["RssFile:"], kb["RssShmem:"]}' \
    "/proc/$server/status"
}
echo "seconds,phase,vmrss_kb,vmhwm_kb,rss_anon_kb,rss_file_kb,rss_shmem_kb,open_fds,load_1min" >"$csv"
started=$(date +%s)
sample() {
  echo "$(($(date +%s) - started)),$1,$(memory_kb),$(ls "/proc/$server/fd" | wc -l),$(cut -d' ' -f1 /proc/loadavg)" >>"$csv"
}

# The warm-up is a load of its own, so that the descriptors with no load after it (pooled
# database connections opened, nothing else) can be compared with those after the soak.
wrk -t2 -c"$connections" -d"${warmup}s" -s bench/wrk/mixed.lua "$base" >"$dir/warmup.out"
sleep 1
sample idle
wrk -t2 -c"$connections" -d"$((seconds - warmup))s" -s bench/wrk/mixed.lua "$base" >"$dir/wrk.out" &
load=$!
while kill -0 "$load" 2>/dev/null; do
  sleep "$interval"
  kill -0 "$load" 2>/dev/null && sample load
done
wait "$load"
kill -0 "$server" 2>/dev/null || { echo "the server died during the load:" >&2; cat "$dir/server.log" >&2; exit 1; }
sleep 1
sample after
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "--- wrk, warm-up"
grep -E "requests in|Non-2xx|replies" "$dir/warmup.out"
echo "--- wrk, after the warm-up"
cat "$dir/wrk.out"
echo "--- server, sampled every ${interval}s after the warm-up; start and end are means of the"
echo "    first 3 and the last 3 samples under load"
awk -F, '
  $2 == "idle" { fd_idle = $8 }
  $2 == "load" { n++; t[n] = $1; rss[n] = $3; anon[n] = $5; fd[n] = $8
                                 if ($3 > rss_max) rss_max = $3 }
  $2 == "after" { rss_after = $3; hwm = $4; fd_after = $8 }
  function mean(values, from, to,   i, sum) {
    for (i = from; i <= to; i++) sum += values[i]
    return sum / (to - from + 1)
  }
  END {
    if (n < 2) { print "too few samples after the warm-up"; exit 1 }
    k = n >= 6 ? 3 : 1
    rss0 = mean(rss, 1, k); rss1 = mean(rss, n - k + 1, n)
    anon0 = mean(anon, 1, k); anon1 = mean(anon, n - k + 1, n)
    fd0 = mean(fd, 1, k); fd1 = mean(fd, n - k + 1, n)
    printf "RSS: %.1f MiB at start (%ds), %.1f MiB at end (%ds), max %.1f MiB, peak (VmHWM) %.1f MiB;" \
      " %.1f MiB after the load\n", rss0 / 1024, t[1], rss1 / 1024, t[n], rss_max / 1024,
      hwm / 1024, rss_after / 1024
    printf "  of which anonymous (heap): %.1f MiB at start, %.1f MiB at end\n", anon0 / 1024, anon1 / 1024
    printf "open fds: %.0f at start, %.0f at end; with no load %d after the warm-up, %d at the end\n",
      fd0, fd1, fd_idle, fd_after
    # Flat: the end within 5% (or 2 MiB) of the start; as many descriptors at the end as at
    # the start, give or take the few of wrk reconnecting after "Connection: close", and no
    # more with no load at the end than after the warm-up (a leak would add thousands).
    growth = rss1 - rss0
    flat_rss = growth <= 2048 || growth <= rss0 * 0.05
    flat_fds = fd1 - fd0 <= 4 && fd_after <= fd_idle
    printf "RSS %s (%+.1f MiB, %+.1f%%); fds %s (%+.0f under load, %+d with no load)\n",
      flat_rss ? "flat" : "GROWING", growth / 1024, 100 * growth / rss0,
      flat_fds ? "flat" : "GROWING", fd1 - fd0, fd_after - fd_idle
  }' "$csv"
# Means by 5-minute window: growth that levels off (caches filling) against growth that
# goes on (a leak), when the warm-up was too short to tell them apart.
awk -F, '$2 == "load" { w = int($1 / 300); rss[w] += $3; anon[w] += $5; n[w]++; last = w }
  END { for (w = 0; w <= last; w++) if (n[w])
          printf "  minutes %d-%d: RSS %.1f MiB, heap %.1f MiB (mean of %d samples)\n",
            5 * w, 5 * w + 5, rss[w] / n[w] / 1024, anon[w] / n[w] / 1024, n[w] }' "$csv"
echo "CSV: $csv"
