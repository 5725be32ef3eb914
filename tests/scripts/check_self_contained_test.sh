#!/usr/bin/env bash
# scripts/check-self-contained.sh: fails, naming file and line, on pointers planted in a
# throwaway repository; passes on the allowed exceptions and on this repository's own tree.
# The planted pointers are assembled at run time (the words and numbers apart), so that this
# file itself holds none.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
check="$repo/scripts/check-self-contained.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

new_repository() {
  rm -rf "$work/repo"
  mkdir -p "$work/repo"
  git -C "$work/repo" init -q
}

commit_all() {
  git -C "$work/repo" add -A
}

# Pointers: each must be reported at its line.
new_repository
mkdir -p "$work/repo/src" "$work/repo/docs"
spec=spec
issue=issue
shared=shared
{
  echo '#include <vector>'                                 # 1: fine
  printf '// The heartbeat rule (%s 6.3.4).\n' "$spec"     # 2
  printf '// See the %s section 13.\n' "$spec"             # 3
  printf '// Read ../%s/%s/metadata-api.md.\n' "$shared" "$spec"  # 4
  printf '// Fixed in %s 12.\n' "$issue"                   # 5
  printf '// Fixed in %s #12.\n' "$issue"                  # 6
  printf '// Fixed (#%d).\n' 12                            # 7
  printf '// Every status (%s\n// 6.3.4): 200.\n' "$spec"  # 8-9, reported at 8
  echo 'int colour = 0;  // #fff, item #1, docs/api.md#heartbeats'  # 10: fine
} >"$work/repo/src/planted.cpp"
printf 'The UI build is in ../%s/ui/.\n' "$shared" >"$work/repo/docs/ui.md"  # docs may not
commit_all
if output=$("$check" "$work/repo" 2>&1); then
  fail "the check passed on planted pointers"
fi
for expected in src/planted.cpp:2: src/planted.cpp:3: src/planted.cpp:4: src/planted.cpp:5: \
  src/planted.cpp:6: src/planted.cpp:7: src/planted.cpp:8: docs/ui.md:1:; do
  grep -qF "$expected" <<<"$output" || fail "not reported: $expected"
done
for unexpected in src/planted.cpp:1: src/planted.cpp:9: src/planted.cpp:10:; do
  grep -qF "$unexpected" <<<"$output" && fail "reported wrongly: $unexpected"
done
echo "$output" | sed 's/^/  /'

# The exceptions: tests and CI read the UI build from ../shared/ui; the fixtures' README
# says where each fixture came from. An untracked file is not looked at.
new_repository
mkdir -p "$work/repo/tests/fixtures" "$work/repo/.ci" "$work/repo/scripts"
printf 'const ui = process.env.MF_UI_BUILD_DIR || "../%s/ui/";\n' "$shared" \
  >"$work/repo/tests/ui.test.mjs"
printf 'ls ../%s/ui\n' "$shared" >"$work/repo/.ci/run"
printf -- '- `trace.jsonl`: copied from `%s/conformance/trace.jsonl`.\n' "$shared" \
  >"$work/repo/tests/fixtures/README.md"
commit_all
printf '// (%s 1.2)\n' "$spec" >"$work/repo/untracked.cpp"
"$check" "$work/repo" || fail "the check failed on the allowed exceptions"

"$check" "$repo" || fail "the check failed on this repository's tree"

[ "$failures" -eq 0 ] || exit 1
echo "ok"
