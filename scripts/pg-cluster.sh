#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster on 127.0.0.1, for the tests and benchmarks. Source it,
# then `pg_cluster_start` exports MF_TEST_POSTGRES_URL (and PG_CLUSTER_DIR, PG_CLUSTER_PORT);
# `pg_cluster_stop` stops the server and removes its files. Runs as root or any user: the
# cluster belongs to the `postgres` user when run as root, as initdb requires.

pg_cluster_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$dir" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; return 1; }
  echo "$dir"
}

pg_cluster_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_cluster_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pg_cluster_start() {
  local bin
  bin=$(pg_cluster_bin) || return 1
  # Under /tmp, whose parents every user can traverse, unlike a checkout under /root.
  PG_CLUSTER_DIR=$(mktemp -d /tmp/mf-pg-XXXXXX)
  chmod 755 "$PG_CLUSTER_DIR"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$PG_CLUSTER_DIR"
  PG_CLUSTER_PORT=$(pg_cluster_free_port)
  pg_cluster_as_owner "$bin/initdb" -D "$PG_CLUSTER_DIR/data" -U postgres -A trust -E UTF8 \
    --no-locale >/dev/null
  # TLS with a self-signed certificate, as RDS on PostgreSQL 15 requires it (sslmode=require).
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -keyout "$PG_CLUSTER_DIR/server.key" -out "$PG_CLUSTER_DIR/server.crt" 2>/dev/null
  chmod 600 "$PG_CLUSTER_DIR/server.key"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$PG_CLUSTER_DIR/server.key" "$PG_CLUSTER_DIR/server.crt"
  # Throwaway data: no fsync unless PG_CLUSTER_OPTIONS says otherwise (it comes last, so it
  # wins). Enough connections for parallel tests and 4 servers at once.
  pg_cluster_as_owner "$bin/pg_ctl" -D "$PG_CLUSTER_DIR/data" -l "$PG_CLUSTER_DIR/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $PG_CLUSTER_PORT -k $PG_CLUSTER_DIR -c fsync=off -c max_connections=400 -c ssl=on -c ssl_cert_file=$PG_CLUSTER_DIR/server.crt -c ssl_key_file=$PG_CLUSTER_DIR/server.key ${PG_CLUSTER_OPTIONS:-}" \
    start >/dev/null
  export PG_CLUSTER_DIR PG_CLUSTER_PORT
  # Plain connections unless a test asks for TLS: connecting is then cheaper.
  export MF_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:$PG_CLUSTER_PORT/postgres?sslmode=disable"
}

pg_cluster_stop() {
  [ -n "${PG_CLUSTER_DIR:-}" ] || return 0
  local bin
  bin=$(pg_cluster_bin) || return 0
  pg_cluster_as_owner "$bin/pg_ctl" -D "$PG_CLUSTER_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG_CLUSTER_DIR"
  unset PG_CLUSTER_DIR
}
