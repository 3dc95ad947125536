#!/usr/bin/env bash
# cluster.sh - creates, starts and stops a private PostgreSQL 15 cluster for mockarty,
# run as the postgres user (PostgreSQL refuses root). Listens on a unix socket in
# <dir>/run only (plus 127.0.0.1:<port> when PGPORT_TCP is set), so it never clashes
# with a system cluster.
#   scripts/cluster.sh start <dir> [port]   init if needed, start, create db + extension
#   scripts/cluster.sh stop  <dir>
set -euo pipefail
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
cmd=$1 dir=$2 port=${3:-5432}
as_pg() { if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi; }

case "$cmd" in
start)
  mkdir -p "$dir/run"
  [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$dir"
  if [ ! -f "$dir/pgdata/PG_VERSION" ]; then
    as_pg "$PGBIN/initdb" -D "$dir/pgdata" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    listen=""; [ -n "${PGPORT_TCP:-}" ] && listen=127.0.0.1
    cat >>"$dir/pgdata/postgresql.conf" <<CONF
listen_addresses = '$listen'
port = $port
unix_socket_directories = '$dir/run'
max_connections = 200
shared_buffers = 256MB
fsync = on
# the scheduler background worker (lease reaping) of the mockarty extension
shared_preload_libraries = 'mockarty'
mockarty.database = 'mockarty'
CONF
  fi
  # already running (a second `make run`): keep it
  if ! as_pg "$PGBIN/pg_ctl" -D "$dir/pgdata" status >/dev/null 2>&1; then
    as_pg "$PGBIN/pg_ctl" -D "$dir/pgdata" -l "$dir/postgres.log" -w -t 60 start >/dev/null
  fi
  as_pg psql -h "$dir/run" -p "$port" -U postgres -d postgres -qAtc \
    "SELECT 1 FROM pg_database WHERE datname='mockarty'" | grep -q 1 \
    || as_pg createdb -h "$dir/run" -p "$port" -U postgres mockarty
  as_pg psql -h "$dir/run" -p "$port" -U postgres -d mockarty -qAtc \
    "CREATE EXTENSION IF NOT EXISTS mockarty CASCADE" >/dev/null
  ;;
stop)
  [ -f "$dir/pgdata/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$dir/pgdata" -m fast -w stop >/dev/null || true
  ;;
*) echo "usage: $0 start|stop <dir> [port]" >&2; exit 2 ;;
esac
