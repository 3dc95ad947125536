#!/usr/bin/env bash
# run.sh - `make run`: the embedded default. Installs what is missing, builds, installs
# the extension, creates (once) a local PostgreSQL cluster inside the project folder run
# as the postgres user, starts it and the admin node on 5770, and prints the URL and an
# admin token. With DB_DSN set, the admin node uses that database instead and no local
# cluster is created (the extension must be installable there: CREATE EXTENSION mockarty).
# MOCKARTY_HOME (default .local) is where the cluster, logs and pid file live; HTTP_PORT
# (5770) and GRPC_PORT (5773, the resolver coordinator) choose the ports. A local shared
# runner-agent (api_test + performance, dashboard on RUNNER_DASHBOARD_PORT, default 6770) runs
# test collections and load tests; RUNNER=0 leaves it out.
# The admin node is waited for as long as it makes progress loading its mocks ("loaded N of M
# mocks" is shown); READY_STALL_SECONDS (60) without progress is a failure. On any failure the
# processes this run started (admin node, runner-agent, and a local cluster it started) are
# stopped, so nothing is left behind.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
HTTP_PORT=${HTTP_PORT:-5770}
GRPC_PORT=${GRPC_PORT:-5773}
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo

scripts/install-deps.sh
make -s all
$SUDO make -s install >/dev/null

local_dir=${MOCKARTY_HOME:-$top/.local}
mkdir -p "$local_dir"
# On a failed exit: stop what this run started (pids recorded below), then the cluster it started.
started_pids=()
started_cluster=""
on_exit() {
  local rc=$?
  [ "$rc" -eq 0 ] && return
  for pid in "${started_pids[@]}"; do
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null && for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  rm -f "$local_dir/admin.pid" "$local_dir/runner.pid"
  if [ -n "$started_cluster" ]; then
    $SUDO scripts/cluster.sh stop "$started_cluster" || true
  fi
  echo "make run failed (exit $rc): stopped what it had started (pids: ${started_pids[*]:-none}${started_cluster:+; cluster $started_cluster})" >&2
}
trap on_exit EXIT
if [ -z "${DB_DSN:-}" ]; then
  # The cluster lives in .local/ when the postgres user can reach it; otherwise (a home
  # directory closed to other users) under /var/lib/mockarty, and we say so.
  pgdir=$local_dir/pg
  if ! $SUDO runuser -u postgres -- test -x "$local_dir" 2>/dev/null; then
    pgdir=/var/lib/mockarty/$(echo -n "$top" | md5sum | cut -c1-12)
    echo "note: $local_dir is not reachable by the postgres user; cluster in $pgdir" >&2
  fi
  $SUDO mkdir -p "$pgdir"
  echo "$pgdir" > "$local_dir/pgdir"
  # a cluster this run starts is stopped again when the run fails (one already running is kept)
  $SUDO runuser -u postgres -- "${PGBIN:-/usr/lib/postgresql/15/bin}/pg_ctl" -D "$pgdir/pgdata" status >/dev/null 2>&1 \
    || started_cluster=$pgdir
  $SUDO scripts/cluster.sh start "$pgdir" 5432
  export DB_DSN="host=$pgdir/run port=5432 dbname=mockarty user=postgres"
fi


psql_q() { psql "$DB_DSN" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }
if ! psql_q "SELECT 1" >/dev/null 2>&1; then
  # a unix socket of a postgres-owned cluster: connect as that user
  psql_q() { $SUDO runuser -u postgres -- psql "$DB_DSN" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }
fi
psql_q "CREATE EXTENSION IF NOT EXISTS mockarty CASCADE" >/dev/null
token=$(psql_q "SELECT mockarty.token_create('make-run')->>'token'")

if [ -f "$local_dir/admin.pid" ] && kill -0 "$(cat "$local_dir/admin.pid")" 2>/dev/null; then
  kill "$(cat "$local_dir/admin.pid")"; while kill -0 "$(cat "$local_dir/admin.pid")" 2>/dev/null; do sleep 0.1; done
fi
DB_DSN=$DB_DSN HTTP_PORT=$HTTP_PORT GRPC_PORT=$GRPC_PORT nohup daemons/build/mockarty-admin >"$local_dir/admin.log" 2>&1 &
admin_pid=$!
started_pids+=("$admin_pid")
echo "$admin_pid" > "$local_dir/admin.pid"

# Ready when /health/ready answers 200. While it answers 503 the body tells what the node does
# ("loading":{"loaded":N,"total":M} during the initial load): wait as long as that changes, fail
# after READY_STALL_SECONDS without any change.
stall_limit=${READY_STALL_SECONDS:-60}
last_state="" last_change=$SECONDS shown=""
while :; do
  body=$(curl -sS -w '\n%{http_code}' "http://127.0.0.1:$HTTP_PORT/health/ready" 2>/dev/null || true)
  code=${body##*$'\n'}
  [ "$code" = 200 ] && break
  kill -0 "$admin_pid" 2>/dev/null || { cat "$local_dir/admin.log" >&2; echo "admin node exited during start-up; see $local_dir/admin.log" >&2; exit 1; }
  loaded=$(printf '%s' "$body" | sed -n 's/.*"loading":{"loaded":\([0-9-]*\),"total":\([0-9-]*\)}.*/\1 \2/p')
  state="$code $loaded"
  if [ "$state" != "$last_state" ]; then
    last_state=$state last_change=$SECONDS
    if [ -n "$loaded" ] && [ "$loaded" != "$shown" ]; then
      set -- $loaded
      if [ "$2" -ge 0 ]; then echo "  admin node: loaded $1 of $2 mocks" >&2; else echo "  admin node: loaded $1 mocks" >&2; fi
      shown=$loaded
    fi
  fi
  if [ $((SECONDS - last_change)) -ge "$stall_limit" ]; then
    echo "admin node made no progress becoming ready for ${stall_limit} s (READY_STALL_SECONDS; last state: ${last_state:-no answer}); see $local_dir/admin.log" >&2
    tail -5 "$local_dir/admin.log" >&2 || true
    exit 1
  fi
  sleep 0.2
done

# First start: the admin node gave user admin a one-time password for the console and logged it
# once (a line with "FIRST START"); show it here, it is not shown again.
signin_line="  console sign-in:      http://127.0.0.1:$HTTP_PORT/ui/ (users and passwords as set before)"
otp=$(sed -n 's/.*FIRST START: .*one-time password \([^ ]*\) .*/\1/p' "$local_dir/admin.log" | head -1)
if [ -n "$otp" ]; then
  signin_line="  console sign-in:      http://127.0.0.1:$HTTP_PORT/ui/ as admin, one-time password $otp (shown once; change it at the first sign-in)"
fi

# A local runner-agent with a fresh test_runner token (the previous one is revoked first).
runner_line="  runner-agent:         off (RUNNER=0)"
if [ "${RUNNER:-1}" != 0 ]; then
  RUNNER_DASHBOARD_PORT=${RUNNER_DASHBOARD_PORT:-6770}
  if [ -f "$local_dir/runner.pid" ] && kill -0 "$(cat "$local_dir/runner.pid")" 2>/dev/null; then
    kill "$(cat "$local_dir/runner.pid")"; while kill -0 "$(cat "$local_dir/runner.pid")" 2>/dev/null; do sleep 0.1; done
  fi
  psql_q "SELECT mockarty.integration_delete(i->>'id') FROM jsonb_array_elements(mockarty.integration_list()) i
          WHERE i->>'name' = 'make-run-runner'" >/dev/null
  rtoken=$(psql_q "SELECT mockarty.integration_create('make-run-runner', 'test_runner')->>'token'")
  COORDINATOR_ADDR=127.0.0.1:$GRPC_PORT API_TOKEN=$rtoken RUNNER_NAME=local-runner SHARED=true \
    CAPABILITIES=api_test,performance DASHBOARD_PORT=$RUNNER_DASHBOARD_PORT \
    nohup daemons/build/runner-agent >"$local_dir/runner.log" 2>&1 &
  started_pids+=("$!")
  echo $! > "$local_dir/runner.pid"
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$RUNNER_DASHBOARD_PORT/health/ready" >/dev/null 2>&1 && break
    kill -0 "$(cat "$local_dir/runner.pid")" 2>/dev/null || { cat "$local_dir/runner.log" >&2; exit 1; }
    sleep 0.1
  done
  curl -fsS "http://127.0.0.1:$RUNNER_DASHBOARD_PORT/health/ready" >/dev/null \
    || { echo "runner-agent did not connect; see $local_dir/runner.log" >&2; exit 1; }
  runner_line="  runner-agent:         http://127.0.0.1:$RUNNER_DASHBOARD_PORT (dashboard; runs test collections and load tests)"
fi

cat <<MSG

  mockarty admin node:  http://127.0.0.1:$HTTP_PORT
  resolver coordinator: 127.0.0.1:$GRPC_PORT (gRPC; see docs/resolver.md)
  admin API token:      $token   (shown once; keep it)
$signin_line
  database:             $DB_DSN
$runner_line
  logs:                 $local_dir/admin.log

  Try:
    curl -X POST http://127.0.0.1:$HTTP_PORT/mock/create -H "Authorization: Bearer $token" \\
      -H 'Content-Type: application/json' \\
      -d '{"id":"hello","http":{"route":"/hello/:name"},"response":{"payload":{"hi":"\$.pathParam.name"}}}'
    curl http://127.0.0.1:$HTTP_PORT/hello/world

  Stop with: make stop
MSG
