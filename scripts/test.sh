#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds, and runs every test twice, once in
# the Release build and once under AddressSanitizer + UndefinedBehaviorSanitizer; each
# time on SQLite and again on PostgreSQL; and builds and runs the container image once.
# MF_SKIP_SANITIZE=1 skips the sanitizer pass.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each phase's length, for keeping CI inside its time budget.
phase() {
  echo "== $1 (at $SECONDS s)"
}
# Pointers outside the repository (sections of a spec, the shared folder, issue numbers)
# fail at once.
phase "self-contained check"
./scripts/check-self-contained.sh
phase dependencies
./scripts/install-deps.sh
# The npm dev dependencies of the deployment checks (package.json, package-lock.json).
npm ci --no-audit --no-fund --loglevel=error

# A throwaway PostgreSQL cluster for the suite's PostgreSQL pass, stopped however the run
# ends. Building after it starts registers that pass (MF_TEST_POSTGRES_URL).
source ./scripts/pg-cluster.sh
trap pg_cluster_stop EXIT
pg_cluster_start

# A failing test runs once more, and the pass fails only if it fails again: a test that fails
# now and then (a timing assumption of the test itself, more often than not) is a defect to
# fix, listed at the end of the pass with its failed run's output above, not a reason to
# throw away a whole run.
run_suite() {
  local dir=$1 log retried
  log=$(mktemp)
  ctest --test-dir "$dir" --output-on-failure -j "$(nproc)" --timeout 600 \
    --repeat until-pass:2 | tee "$log"
  # CTest marks a failed, timed-out or crashed run with "***", as it does a skipped test.
  retried=$(grep -E 'Test +#[0-9]+: .*\*\*\*' "$log" | grep -v '\*\*\*Skipped' \
    | sed -E 's/^.*Test +#[0-9]+: ([^ ]+) .*$/\1/' | sort -u || true)
  rm -f "$log"
  if [ -n "$retried" ]; then
    echo "== FLAKY: these tests failed, then passed when run again (their failed run is above):"
    echo "$retried" | sed 's/^/   /'
  fi
}

phase "release build"
./scripts/build.sh >/dev/null
phase "release tests"
run_suite build
# The container image, built from deploy/container/Dockerfile and run (scripts/test-container.sh),
# once: it is the release binary's packaging, so the sanitizer pass does not repeat it. It reuses
# this run's PostgreSQL cluster. MF_SKIP_CONTAINER=1 skips it.
if [ "${MF_SKIP_CONTAINER:-0}" != 1 ]; then
  phase container
  ./scripts/test-container.sh
fi
if [ "${MF_SKIP_SANITIZE:-0}" != 1 ]; then
  phase "sanitizer build"
  MF_SANITIZE=1 ./scripts/build.sh >/dev/null
  phase "sanitizer tests"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite build-asan
fi
# The libFuzzer targets (tests/fuzz), each for MF_FUZZ_SECONDS (default 30, a smoke run sized
# for CI's time budget; `scripts/fuzz.sh 3600` for a real one): about 2 min of clang build on
# 2 cores plus the runs. MF_SKIP_FUZZ=1 skips them.
if [ "${MF_SKIP_FUZZ:-0}" != 1 ]; then
  phase fuzzing
  ./scripts/fuzz.sh "${MF_FUZZ_SECONDS:-30}"
fi
phase "done"
