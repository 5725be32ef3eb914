#!/usr/bin/env bash
# The repository reads on its own: fails, naming file and line, when a tracked text file
# points at something a fresh clone does not have: a path into ../shared (or shared/spec,
# shared/conformance), a numbered section of a spec ("spec 6.3.4", "spec section 13", also
# split over two lines), or an issue number ("issue 12", "issue #12", "(#12)", "fixes #12").
# State the fact instead, or point to a document in docs/ (docs/api.md has the API).
# Allowed: tests and CI (tests/, .ci/, scripts/test*.sh) may read the metaflow-ui build from
# ../shared/ui/, which cannot be fetched here; tests/fixtures/README.md may say where each
# fixture came from.
#
#   scripts/check-self-contained.sh [REPOSITORY]   (default: this script's repository)
#
# Needs only git and awk, so scripts/test.sh runs it before installing anything.
set -euo pipefail
root=${1:-"$(dirname "$0")/.."}
cd "$root"

# Every tracked text file (git grep -I skips binary files; -e '' matches any line).
git grep -I -z --name-only -e '' | xargs -0 -r awk '
function report(line_number, text, what) {
    gsub(/^[ \t]+/, "", text)
    if (length(text) > 120) text = substr(text, 1, 117) "..."
    printf "%s:%d: %s: %s\n", FILENAME, line_number, what, text
    found++
}
# The pointers in one line (lower-cased), or "" when there is none.
function pointer(line, file,    stripped) {
    stripped = line
    if (file ~ /^(tests\/|\.ci\/|scripts\/test[^\/]*\.sh$)/) gsub(/(\.\.\/)+shared\/ui([^[:alnum:]_-]|$)/, "", stripped)
    if (file != "tests/fixtures/README.md") {
        if (stripped ~ /(\.\.\/)+shared([^[:alnum:]_-]|$)/) return "path into ../shared"
        if (stripped ~ /(^|[^[:alnum:]_.-])shared\/(spec|conformance)/) return "path into shared/"
        if (stripped ~ /\/work\/shared/) return "path into /work/shared"
    }
    if (line ~ /(^|[^[:alnum:]_])spec(ification)?s?(\047s)?[ \t]+((sections?|§)[ \t]*)?e?[0-9]/) return "spec section"
    if (line ~ /(^|[^[:alnum:]_])spec(ification)?(\047s)?[ \t]+sections?([^[:alnum:]_]|$)/) return "spec section"
    if (line ~ /(^|[^[:alnum:]_])issues?[ \t]*#?[ \t]*[0-9]/) return "issue number"
    if (line ~ /\(#[0-9]+\)/) return "issue number"
    if (line ~ /(^|[^[:alnum:]_])(fix(es|ed)?|close[sd]?|resolve[sd]?|see|pr|pull request|ticket)[ \t]+#[0-9]/) return "issue number"
    return ""
}
FNR == 1 { previous = ""; previous_number = 0 }
# This script names the patterns it looks for.
FILENAME == "scripts/check-self-contained.sh" { nextfile }
{
    line = tolower($0)
    what = pointer(line, FILENAME)
    if (what != "") report(FNR, $0, what)
    # "spec" or "issue" ending one line and its number starting the next (after a
    # comment marker): reported at the first line.
    else if (previous ~ /(^|[^[:alnum:]_])(spec(ification)?|issues?)[ \t]*(sections?)?[ \t]*$/ &&
             line ~ /^[ \t]*(\/\/+|#+|--|\*|;+)?[ \t]*(sections?[ \t]*)?#?[0-9]/ &&
             FILENAME != "tests/fixtures/README.md")
        report(previous_number, previous_text, "spec section or issue number over two lines")
    previous = line; previous_text = $0; previous_number = FNR
}
END {
    if (found) {
        printf "\n%d pointer(s) outside the repository: state the fact, or point to a document in docs/ (see scripts/check-self-contained.sh).\n", found
        exit 1
    }
}' || exit 1
