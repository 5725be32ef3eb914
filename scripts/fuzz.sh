#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang++-14 (into build-fuzz/) and runs
# each for a bounded time, seeded from the conformance trace:
#
#   scripts/fuzz.sh [seconds-per-target]     # default 60; CI runs this
#   scripts/fuzz.sh 3600                     # a longer run, e.g. before a release
#
# The corpus each run grows is kept in build-fuzz/fuzz/corpus/<target> and reused by the
# next run. A crash leaves its input in build-fuzz/fuzz/artifacts/ and fails the script;
# reproduce it with build-fuzz/tests/fuzz/fuzz_<target> <file>, then turn it into a test in
# tests/ (tests/api/fuzz_regressions_test.cpp has those found so far).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
dir=${MF_FUZZ_BUILD_DIR:-build-fuzz}
cmake -S . -B "$dir" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMF_BUILD_TESTS=OFF -DMF_FUZZ=ON >/dev/null
# ninja prints compile and link errors on its standard output.
ninja -C "$dir" -j "$(nproc)" fuzz_targets >"$dir/build.log" ||
  { tail -n 40 "$dir/build.log"; echo "fuzz targets: build failed ($dir/build.log)"; exit 1; }

work=$dir/fuzz
rm -rf "$work/seeds"
mkdir -p "$work/artifacts" "$work/corpus/http" "$work/corpus/json" "$work/corpus/pickle"
python3 tests/fuzz/make_corpus.py tests/fixtures/reference-trace.jsonl "$work/seeds"
# The pickle target's seeds: every artifact blob real flows wrote, inflated to its pickle.
python3 tests/fuzz/make_pickle_corpus.py tests/fixtures/ui-datastore "$work/seeds/pickle"

status=0
for target in http json pickle; do
  dict=tests/fuzz/http.dict
  [ "$target" = pickle ] && dict=tests/fuzz/pickle.dict
  log=$work/$target.log
  started=$SECONDS
  # -timeout: one input running this long is a hang; -rss_limit_mb: a leak or runaway growth.
  if ! "$dir/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -print_final_stats=1 \
      -timeout=10 -rss_limit_mb=3072 -dict="$dict" \
      -artifact_prefix="$work/artifacts/$target-" \
      "$work/corpus/$target" "$work/seeds/$target" >"$log" 2>&1; then
    status=1
    echo "fuzz_$target FAILED; the end of its log ($log):"
    tail -n 60 "$log"
  fi
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  coverage=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 || true)
  echo "fuzz_$target: ${executions:-?} executions in $((SECONDS - started)) s (${rate:-?}/s)," \
    "${coverage:-cov: ?}, corpus $(find "$work/corpus/$target" -type f | wc -l) inputs"
done
exit $status
