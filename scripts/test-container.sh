#!/usr/bin/env bash
# Builds the image from deploy/container/Dockerfile as a user's `docker build` would, without a
# Docker engine (buildah), and runs it as `docker run` would: its own ENTRYPOINT, CMD, ENV, USER
# and WORKDIR, on the host's loopback. Checks /ping, the HEALTHCHECK script, the Metaflow
# client's requests on the image's SQLite and on PostgreSQL (and the migration API), the UI
# port, uid 10001, writes only in the working directory, a clean stop
# on SIGTERM; then prints the image's budget (sizes, runtime packages).
#
# The base, debian:12-slim, is made with debootstrap from the Debian mirror of this machine's
# apt sources and cached, with buildah's storage and the build's compiler cache, under
# MF_CONTAINER_CACHE (default /var/cache/metadata-service-container): later runs rebuild only
# what changed. PostgreSQL: the cluster of MF_TEST_POSTGRES_URL, else one started here.
# The UI put into the image: MF_UI_BUILD_DIR, else ../shared/ui/metaflow-ui-v1.3.13 beside the
# checkout; without either the image is built without a UI and says so on its UI port.
# Runs as root (debootstrap, buildah); processes run in chroot isolation, which works where
# the OCI runtime cannot (e.g. in a sandbox without setrlimit).
set -euo pipefail
[ "$(id -u)" -eq 0 ] || exec sudo --preserve-env=MF_TEST_POSTGRES_URL,MF_UI_BUILD_DIR,MF_CONTAINER_CACHE "$0" "$@"
# All in one block, which bash reads whole before running it: editing this file while it runs
# cannot change what runs.
{
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${MF_CONTAINER_CACHE:-/var/cache/metadata-service-container}"
image=localhost/metadata-service:ci
base_image=docker.io/library/debian:12-slim
work=$(mktemp -d /tmp/mf-container.XXXXXX)
containers=()
service_pid=""
declare -A timings

phase() {
  echo "== container: $1 (at $SECONDS s)"
}
fail() {
  echo "test-container.sh: FAILED: $*" >&2
  exit 1
}
check() {
  echo "  $1"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# GET with curl, with the key of MF_API_KEY when it is set.
get() {
  local key=()
  [ -z "${MF_API_KEY:-}" ] || key=(--header "x-api-key: $MF_API_KEY")
  curl --silent --show-error --max-time 10 "${key[@]}" "$@"
}

cleanup() {
  [ -z "$service_pid" ] || kill "$service_pid" 2>/dev/null || true
  for container in "${containers[@]}"; do bah rm "$container" >/dev/null 2>&1 || true; done
  rm -rf "$work"
  [ -z "${ui_server_pid:-}" ] || kill "$ui_server_pid" 2>/dev/null || true
  [ -z "${own_cluster:-}" ] || pg_cluster_stop
}
trap cleanup EXIT

# buildah on storage of its own, kept in the cache: the layers of earlier runs are reused and
# nothing mixes with other images of the machine. Cache mounts (the compiler cache) live under
# TMPDIR.
mkdir -p "$cache/storage" "$cache/tmp"
bah() {
  TMPDIR="$cache/tmp" buildah --root "$cache/storage" --runroot "$work/runroot" "$@"
}

# --- The base image -------------------------------------------------------------------------

# The Debian mirror and the suites of bookworm that this machine's apt uses (deb822 .sources
# and one-line .list files): "URI SUITE" lines.
apt_sources() {
  local file
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$file" ] || continue
    awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } print $i, $(i + 1) }' "$file"
  done
  for file in /etc/apt/sources.list.d/*.sources; do
    [ -f "$file" ] || continue
    awk 'function flush() { if (types ~ /(^| )deb( |$)/ && enabled != "no") { n = split(uris, u, " "); m = split(suites, s, " ");
           for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) print u[i], s[j] } types = uris = suites = enabled = "" }
         /^[[:space:]]*$/ { flush(); next } /^#/ { next }
         tolower($1) == "types:" { $1 = ""; types = $0 } tolower($1) == "uris:" { $1 = ""; uris = $0 }
         tolower($1) == "suites:" { $1 = ""; suites = $0 } tolower($1) == "enabled:" { enabled = tolower($2) }
         END { flush() }' "$file"
  done | sed 's/^ *//; s/  */ /g' | awk '$2 ~ /^bookworm(-updates|-security|\/updates)?$/' | sort -u
}

# A minbase bookworm from the mirror, as a tarball: the slow part, done once a week (so that the
# base follows the mirror's security updates) and kept.
debootstrap_tarball="$cache/debootstrap-bookworm.tar"
debootstrap_base() {
  local sources mirror rootfs="$work/rootfs"
  sources=$(apt_sources)
  mirror=$(awk '$2 == "bookworm" { print $1; exit }' <<<"$sources")
  [ -n "$mirror" ] || fail "no bookworm entry in /etc/apt/sources.list*"
  echo "debootstrap --variant=minbase bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log"; fail "debootstrap"; }
  awk '{ print "deb " $1 " " $2 " main" }' <<<"$sources" >"$rootfs/etc/apt/sources.list"
  tar -C "$rootfs" --numeric-owner -cf "$debootstrap_tarball.new" .
  mv "$debootstrap_tarball.new" "$debootstrap_tarball"
  rm -rf "$rootfs"
}

# What makes Debian's debian:12-slim out of a minbase (Docker's Debian images): apt keeps no
# package files, lists or translations, and dpkg leaves out documentation, manuals and locales.
slim_base() {
  cat >/etc/apt/apt.conf.d/docker-clean <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' >/etc/apt/apt.conf.d/docker-no-languages
  echo 'APT::AutoRemove::SuggestsImportant "false";' >/etc/apt/apt.conf.d/docker-autoremove-suggests
  cat >/etc/dpkg/dpkg.cfg.d/docker <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
  find /usr/share/doc -mindepth 1 -not -name copyright -not -type d -delete
  find /usr/share/doc -mindepth 1 -type d -empty -delete
  rm -rf /usr/share/man/* /usr/share/groff/* /usr/share/info/* /usr/share/lintian/* \
    /usr/share/linda/* /usr/share/locale/* /var/cache/apt/*.bin /var/lib/apt/lists/* /var/log/* /tmp/*
}

phase "base image"
start=$SECONDS
[ -n "$(find "$debootstrap_tarball" -mtime -7 2>/dev/null)" ] || debootstrap_base
# The image is remade when the tarball or the recipe changed.
base_id=$( (sha256sum <"$debootstrap_tarball"; declare -f slim_base) | sha256sum | cut -c1-16)
if [ "$(bah inspect --type image --format '{{index .ImageAnnotations "metadata-service.base"}}' "$base_image" 2>/dev/null)" != "$base_id" ]; then
  bah rmi -f "$base_image" >/dev/null 2>&1 || true
  container=$(bah from scratch)
  containers+=("$container")
  bah add "$container" "$debootstrap_tarball" / >/dev/null
  bah run --isolation chroot "$container" -- bash -c "$(declare -f slim_base); slim_base"
  bah config --cmd bash --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --annotation "metadata-service.base=$base_id" "$container"
  bah commit --quiet "$container" "$base_image" >/dev/null
fi
timings[base]=$((SECONDS - start))

# --- The UI stage's script: what it puts in, and what it refuses ----------------------------

phase "UI stage script"
add_ui="$root/deploy/container/add-ui.sh"
ui_work="$work/ui"
mkdir -p "$ui_work/served" "$ui_work/release/static"
echo '<!doctype html><title>a UI release</title>' >"$ui_work/release/index.html"
echo 'console.log(1)' >"$ui_work/release/static/main.js"
tar -C "$ui_work" -czf "$ui_work/served/ui.tar.gz" release
ui_sha256=$(sha256sum "$ui_work/served/ui.tar.gz" | cut -d' ' -f1)
wrong_sha256=$(sha256sum <<<"not the UI" | cut -d' ' -f1)
ui_server_port=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$ui_work/served" "$ui_server_port" >/dev/null 2>&1 &
ui_server_pid=$!
ui_url="http://127.0.0.1:$ui_server_port/ui.tar.gz"
for _ in $(seq 1 100); do curl -sfo /dev/null "$ui_url" && break; sleep 0.1; done
"$add_ui" "$ui_url" "$ui_sha256" "$ui_work/from-url"
diff -r "$ui_work/release" "$ui_work/from-url" || fail "add-ui.sh: the UI from a URL differs"
check "a URL with its sha256: the archive's build put in"
! "$add_ui" "$ui_url" "$wrong_sha256" "$ui_work/wrong" 2>/dev/null || fail "add-ui.sh took a wrong sha256"
[ -z "$(ls -A "$ui_work/wrong")" ] || fail "add-ui.sh put content in after a wrong sha256"
! "$add_ui" "$ui_url" "" "$ui_work/unverified" 2>/dev/null || fail "add-ui.sh took a URL without sha256"
check "a wrong sha256, a URL without one: the build fails, nothing put in"
kill "$ui_server_pid"
"$add_ui" "" "" "$ui_work/none"
grep -q 'METAFLOW_UI' "$ui_work/none/index.html" || fail "add-ui.sh without a UI: no page saying how to add one"
check "no UI: a page saying how to add one"

# --- The build, as `docker build` does it -----------------------------------------------------

ui_build="${MF_UI_BUILD_DIR:-$root/../shared/ui/metaflow-ui-v1.3.13}"
context="$work/context"
phase "build"
start=$SECONDS
# The build context: the checkout as git sees it (tracked and new files, committed or not),
# plus the UI build, which the build argument names inside the context.
mkdir -p "$context"
git -C "$root" ls-files -z --cached --others --exclude-standard \
  | (cd "$root" && xargs -0 cp --parents --no-dereference -t "$context" 2>/dev/null || true)
ui_args=()
if [ -d "$ui_build" ]; then
  cp -R "$ui_build" "$context/metaflow-ui"
  ui_args=(--build-arg METAFLOW_UI=metaflow-ui)
else
  echo "no metaflow-ui build at $ui_build (MF_UI_BUILD_DIR): the image gets none"
fi
# The stages the runtime copies from are built first, each alone: buildah 1.28 may run the
# runtime stage's COPY --from before a long build stage has finished. The whole build then
# finds them in its layer cache.
for target in build ui ""; do
  bah build --isolation chroot --layers --force-rm --pull=never \
    --ignorefile "$context/deploy/container/Dockerfile.dockerignore" \
    -f "$context/deploy/container/Dockerfile" ${target:+--target "$target"} -t "$image" \
    --build-arg REVISION="$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)" \
    "${ui_args[@]}" "$context" >"$work/build.log" 2>&1 \
    || { tail -40 "$work/build.log"; fail "the image build${target:+ (stage $target)}"; }
  echo "  ${target:-the image}: $(grep 'STEP' "$work/build.log" | grep -vc ': FROM ') steps, $(grep -c 'Using cache' "$work/build.log") from the layer cache"
done
timings[build]=$((SECONDS - start))

# --- Running the image, as `docker run` does ------------------------------------------------

config() { bah inspect --type image --format "$1" "$image"; }
mapfile -t entrypoint < <(config '{{range .OCIv1.Config.Entrypoint}}{{println .}}{{end}}')
mapfile -t command < <(config '{{range .OCIv1.Config.Cmd}}{{println .}}{{end}}')
mapfile -t image_env < <(config '{{range .OCIv1.Config.Env}}{{println .}}{{end}}')
user=$(config '{{.OCIv1.Config.User}}')
workdir=$(config '{{.OCIv1.Config.WorkingDir}}')
exposed=$(config '{{range $port, $_ := .OCIv1.Config.ExposedPorts}}{{$port}} {{end}}')
echo "image: ENTRYPOINT ${entrypoint[*]} CMD ${command[*]} USER $user WORKDIR $workdir EXPOSE $exposed"
echo "image: ENV ${image_env[*]}"
for port in 8080 8082 8083; do
  [[ " $exposed " =~ " $port"(/tcp)?" " ]] || fail "the image does not expose $port"
done

# new_container VAR [IMAGE]: a fresh container of the image (default: the one built) in VAR;
# its file system changes are what the runs in it wrote.
new_container() {
  local container
  container=$(bah from --pull=never "${2:-$image}")
  containers+=("$container")
  printf -v "$1" %s "$container"
}

# `buildah run` with the image's USER, WORKDIR and ENV (which buildah applies from the image)
# plus the given variables.
run_in() {
  local container=$1
  shift
  local env_args=() var
  while [[ "${1:-}" == *=* ]]; do env_args+=(--env "$1"); shift; done
  bah run --isolation chroot --user "$user" --workingdir "$workdir" "${env_args[@]}" "$container" -- "$@"
}

# The process of the image's ENTRYPOINT among the descendants of buildah run's process.
service_process() {
  python3 - "$1" "${entrypoint[0]}" <<'EOF'
import os, sys
root, entrypoint = int(sys.argv[1]), sys.argv[2]
parents = {}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        stat = open(f"/proc/{pid}/stat").read()
        parents[int(pid)] = int(stat[stat.rindex(")") + 2:].split()[1])
    except (OSError, ValueError):
        pass
def descends(pid):
    while pid in parents and pid != root:
        pid = parents[pid]
    return pid == root
for pid in parents:
    try:
        if descends(pid) and open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")[0].decode() == entrypoint:
            print(pid)
            break
    except OSError:
        pass
EOF
}

# Starts the image's command (ENTRYPOINT + CMD) in CONTAINER on free loopback ports; sets
# api_port, migration_port, ui_port, service_pid (the service process itself) and runner_pid.
start_service() {
  local container=$1
  shift
  api_port=$(free_port)
  migration_port=$(free_port)
  ui_port=$(free_port)
  run_in "$container" MF_METADATA_HOST=127.0.0.1 MF_METADATA_PORT="$api_port" \
    MF_MIGRATION_PORT="$migration_port" MF_UI_METADATA_PORT="$ui_port" "$@" \
    "${entrypoint[@]}" "${command[@]}" >"$work/service.log" 2>&1 &
  runner_pid=$!
  local waited
  for waited in $(seq 1 150); do
    get -o /dev/null "http://127.0.0.1:$api_port/ping" 2>/dev/null && break
    kill -0 "$runner_pid" 2>/dev/null || { cat "$work/service.log"; fail "the service exited at start"; }
    sleep 0.2
  done
  service_pid=$(service_process "$runner_pid")
  [ -n "$service_pid" ] || { cat "$work/service.log"; fail "no service process under buildah run"; }
}

# SIGTERM, as `docker stop` sends it to the container's first process: it must end by itself,
# with status 0, well within Docker's 10 s grace period.
stop_service() {
  kill -TERM "$service_pid"
  local status=0
  timeout 10 tail --pid="$runner_pid" -f /dev/null || fail "the service did not stop within 10 s of SIGTERM"
  wait "$runner_pid" || status=$?
  service_pid=""
  [ "$status" -eq 0 ] || { tail -5 "$work/service.log"; fail "the service exited with $status on SIGTERM"; }
  echo "  SIGTERM: stopped, status 0"
}

# The service's checks shared by both stores, on a running service.
check_api() {
  [ "$(get "http://127.0.0.1:$api_port/ping")" = pong ] || fail "/ping"
  check "/ping: pong"
  run_in "$1" MF_METADATA_PORT="$api_port" /usr/local/bin/healthcheck.sh || fail "healthcheck.sh on a live service"
  run_in "$1" MF_METADATA_PORT="$api_port" MF_UI_METADATA_PORT="$ui_port" /usr/local/bin/healthcheck.sh --ui \
    || fail "healthcheck.sh --ui on a live service"
  ! run_in "$1" MF_METADATA_PORT="$(free_port)" /usr/local/bin/healthcheck.sh 2>/dev/null \
    || fail "healthcheck.sh passes on a dead port"
  ! run_in "$1" MF_METADATA_PORT="$api_port" MF_UI_METADATA_PORT="$(free_port)" /usr/local/bin/healthcheck.sh --ui 2>/dev/null \
    || fail "healthcheck.sh --ui passes on a dead UI port"
  check "healthcheck.sh (and --ui): passes on the service, fails on a dead port"
  local uids
  uids=$(awk '/^(Uid|Gid):/ { print $2, $3, $4, $5 }' "/proc/$service_pid/status" | tr '\n' ' ')
  [ "$uids" = "10001 10001 10001 10001 10001 10001 10001 10001 " ] || fail "the service runs as uid/gid $uids"
  check "runs as uid 10001, gid 10001"
  node "$root/tests/deploy/replay-client-flows.mjs" "$api_port" | sed 's/^/  /' \
    || fail "the client's requests"
  if [ ${#ui_args[@]} -gt 0 ]; then
    run_in "$1" cat /usr/share/metaflow-ui/index.html | cmp -s - "$ui_build/index.html" \
      || fail "the image's UI is not the metaflow-ui build"
    check "the metaflow-ui build is in the image"
  fi
  if [ ${#ui_args[@]} -gt 0 ]; then
    get "http://127.0.0.1:$ui_port/" | grep -q 'window.METAFLOW_SERVICE' || fail "the UI port does not serve the UI"
    check "UI port: serves the metaflow-ui build"
  else
    get "http://127.0.0.1:$ui_port/" | grep -q 'METAFLOW_UI' || fail "the UI port does not say how to add the UI"
    check "UI port: says how to add the UI"
  fi
}

# The files the runs wrote into the container's file system: its overlay upper layer, less
# what the runtime itself mounts there.
written_files() {
  local container=$1 upper
  upper="$(dirname "$(bah mount "$container")")/diff"
  [ -d "$upper" ] || fail "no overlay upper layer at $upper"
  (cd "$upper" && find . -mindepth 1 \( -type f -o -type l -o -type p -o -type s \)) | sed 's/^\.//' \
    | grep -v -e '^/etc/hosts$' -e '^/etc/resolv.conf$' -e '^/etc/hostname$' -e '^/run/' || true
  bah umount "$container" >/dev/null
}

phase "run on SQLite"
start=$SECONDS
new_container sqlite_container
start_service "$sqlite_container"
check_api "$sqlite_container"
stop_service
written=$(written_files "$sqlite_container")
grep -qx "$workdir/metaflow-metadata.db" <<<"$written" || fail "no SQLite database in $workdir: $written"
check "wrote: $(tr '\n' ' ' <<<"$written")"
outside=$(grep -v "^$workdir/" <<<"$written" || true)
[ -z "$outside" ] || fail "the service wrote outside $workdir: $outside"
check "wrote nothing outside $workdir"
timings[sqlite]=$((SECONDS - start))

phase "run on PostgreSQL"
start=$SECONDS
if [ -z "${MF_TEST_POSTGRES_URL:-}" ]; then
  source "$root/scripts/pg-cluster.sh"
  pg_cluster_start
  own_cluster=yes
fi
pg_database="mf_container_$$"
psql "$MF_TEST_POSTGRES_URL" -qc "CREATE DATABASE $pg_database" >/dev/null
pg_user=$(python3 -c 'import sys, urllib.parse as u; p = u.urlparse(sys.argv[1]); print(p.username or "postgres"); print(p.password or "unused"); print(p.hostname); print(p.port or 5432)' "$MF_TEST_POSTGRES_URL")
{ read -r pg_name; read -r pg_password; read -r pg_host; read -r pg_port; } <<<"$pg_user"
# With a built-in API key, as the Terraform module, Compose and Kubernetes hand keys over: the
# API wants it, /ping and the health check do not.
api_key=ci-container-key
new_container postgres_container
start_service "$postgres_container" MF_METADATA_API_KEYS="ci:$api_key" MF_METADATA_DB_HOST="$pg_host" MF_METADATA_DB_PORT="$pg_port" \
  MF_METADATA_DB_USER="$pg_name" MF_METADATA_DB_PSWD="$pg_password" MF_METADATA_DB_NAME="$pg_database" \
  MF_METADATA_DB_SSL_MODE=disable
status=$(get "http://127.0.0.1:$migration_port/db_schema_status")
grep -q '"is_up_to_date": *true' <<<"$status" || fail "migration API /db_schema_status: $status"
check "migration API: $status"
[ "$(get -o /dev/null -w '%{http_code}' "http://127.0.0.1:$api_port/flows")" = 401 ] \
  || fail "the API answers without the key"
check "API keys: /flows without the key 401"
MF_API_KEY=$api_key check_api "$postgres_container"
stop_service
flows=$(psql "${MF_TEST_POSTGRES_URL%/*}/$pg_database" -qAtc 'SELECT count(*) FROM flows_v3')
[ "$flows" -gt 0 ] || fail "no flows in PostgreSQL"
check "PostgreSQL holds the client's $flows flows"
psql "$MF_TEST_POSTGRES_URL" -qc "DROP DATABASE $pg_database WITH (FORCE)" >/dev/null
timings[postgres]=$((SECONDS - start))

# --- The budget -----------------------------------------------------------------------------

phase "budget"
start=$SECONDS
bah push --quiet --compression-format gzip "$image" "oci:$work/oci:ci" >/dev/null
compressed=$(python3 - "$work/oci" <<'EOF'
import json, os, sys
oci = sys.argv[1]
blob = lambda d: os.path.join(oci, "blobs", *d.split(":"))
index = json.load(open(os.path.join(oci, "index.json")))
manifest = json.load(open(blob(index["manifests"][0]["digest"])))
print(sum(layer["size"] for layer in manifest["layers"]))
EOF
)
unpacked=$(bah images --noheading --format '{{.Size}}' "$image")
new_container budget_container
new_container base_container "$base_image"
packages=$(bah run --isolation chroot "$budget_container" -- dpkg-query -W -f '${Package}\t${Version}\t${Installed-Size}\n')
base_packages=$(bah run --isolation chroot "$base_container" -- dpkg-query -W -f '${Package}\n')
echo "image $image: compressed $((compressed / 1024 / 1024)) MiB (gzip layers), unpacked $unpacked"
echo "runtime packages beyond debian:12-slim ($(wc -l <<<"$packages") installed in all):"
while IFS=$'\t' read -r name version size; do
  grep -qx "$name" <<<"$base_packages" || printf '  %-28s %-28s %6s KiB\n' "$name" "$version" "$size"
done <<<"$packages"
timings[budget]=$((SECONDS - start))
echo "container test: base ${timings[base]} s, build ${timings[build]} s, SQLite ${timings[sqlite]} s, PostgreSQL ${timings[postgres]} s, budget ${timings[budget]} s; total $SECONDS s"
exit
}
