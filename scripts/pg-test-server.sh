#!/usr/bin/env bash
# Start or stop a throw-away PostgreSQL server on 127.0.0.1 for tests.
#   eval "$(bash scripts/pg-test-server.sh start)"   # exports CUSTODIAN_TEST_DATABASE_URL
#   bash scripts/pg-test-server.sh stop
# initdb/postgres refuse to run as root, so as root the cluster runs as `nobody`.
set -euo pipefail
DIR="${CUSTODIAN_PG_DIR:-/tmp/custodian-pg-test}"
PORT="${CUSTODIAN_PG_PORT:-55432}"
BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -n "$BIN" ] || { echo "PostgreSQL binaries not found under /usr/lib/postgresql (apt-get install postgresql)" >&2; exit 1; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi; }

case "${1:-start}" in
  start)
    if [ ! -f "$DIR/data/PG_VERSION" ]; then
      rm -rf "$DIR"; mkdir -p "$DIR/data" "$DIR/sock"
      [ "$(id -u)" -eq 0 ] && chown -R nobody "$DIR"
      as_pg "$BIN/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1
    fi
    if ! as_pg "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; then
      as_pg "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w start \
        -o "-p $PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$DIR/sock -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null
    fi
    echo "export CUSTODIAN_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$PORT/postgres"
    ;;
  stop)
    as_pg "$BIN/pg_ctl" -D "$DIR/data" -m fast stop >/dev/null 2>&1 || true
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
