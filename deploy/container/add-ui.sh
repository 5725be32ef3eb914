#!/usr/bin/env bash
# The image's UI stage: puts a metaflow-ui production build into DEST.
#
#   deploy/container/add-ui.sh SOURCE SHA256 DEST
#
# SOURCE is a folder or a .zip/.tar.gz/.tgz/.tar archive, relative to the build context (the
# working directory), or an http(s) URL of such an archive. A URL needs SHA256, and a given
# SHA256 must match, else nothing is put in and the build fails. An empty SOURCE puts in a
# page that says how to add the UI, so the UI port explains itself.
set -euo pipefail
source_ref="$1"
sha256="$2"
dest="$3"

fail() {
  echo "add-ui.sh: $*" >&2
  exit 1
}

placeholder() {
  cat <<'HTML'
<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Metaflow UI not installed</title></head>
<body>
<h1>This image has no Metaflow UI</h1>
<p>The metadata API and the UI's API are served; the web UI itself was not put into the image.</p>
<p>Rebuild the image with a metaflow-ui production build:</p>
<pre>docker build -f deploy/container/Dockerfile \
  --build-arg METAFLOW_UI=&lt;folder or .zip/.tar.gz in the build context&gt; .
docker build -f deploy/container/Dockerfile \
  --build-arg METAFLOW_UI=&lt;https URL of a release archive&gt; \
  --build-arg METAFLOW_UI_SHA256=&lt;its sha256&gt; .</pre>
<p>or mount a build over <code>/usr/share/metaflow-ui</code> when you run it.</p>
</body>
</html>
HTML
}

verify() {
  local file=$1
  [ -n "$sha256" ] || return 0
  [[ "$sha256" =~ ^[0-9a-f]{64}$ ]] || fail "METAFLOW_UI_SHA256 is not a sha256 (64 lowercase hex digits): $sha256"
  echo "$sha256  $file" | sha256sum --check --strict --status \
    || fail "$source_ref does not have sha256 $sha256"
}

# Unpacks an archive into DEST; a single top-level folder in it is the build itself.
unpack() {
  local archive=$1 unpacked
  unpacked=$(mktemp -d)
  case "$source_ref" in
    *.zip) unzip -q "$archive" -d "$unpacked" ;;
    *.tar.gz | *.tgz | *.tar) tar -xf "$archive" -C "$unpacked" ;;
    *) fail "$source_ref: not a folder, .zip, .tar.gz, .tgz or .tar" ;;
  esac
  local entries=("$unpacked"/*)
  if [ ${#entries[@]} -eq 1 ] && [ -d "${entries[0]}" ]; then unpacked=${entries[0]}; fi
  cp -R "$unpacked/." "$dest/"
}

mkdir -p "$dest"
if [ -z "$source_ref" ]; then
  [ -z "$sha256" ] || fail "METAFLOW_UI_SHA256 is set but METAFLOW_UI is not"
  placeholder > "$dest/index.html"
  exit 0
fi
case "$source_ref" in
  http://* | https://*)
    [ -n "$sha256" ] || fail "a UI from a URL needs METAFLOW_UI_SHA256, its sha256"
    download=$(mktemp)
    curl --fail --silent --show-error --location --retry 3 --output "$download" "$source_ref"
    verify "$download"
    unpack "$download"
    ;;
  *)
    if [ -d "$source_ref" ]; then
      [ -z "$sha256" ] || fail "METAFLOW_UI_SHA256 applies to archives, $source_ref is a folder"
      cp -R "$source_ref/." "$dest/"
    elif [ -f "$source_ref" ]; then
      verify "$source_ref"
      unpack "$source_ref"
    else
      fail "$source_ref is not in the build context (a path relative to it, or a URL)"
    fi
    ;;
esac
[ -f "$dest/index.html" ] || fail "$source_ref has no index.html: not a metaflow-ui production build"
chmod -R a+rX,go-w "$dest"
