#!/usr/bin/env bash
# run.sh - the gRPC transport suite: builds daemons/grpc, starts grpc-test-server on a free
# loopback port, then runs the C client test, the grpc-js suite (node --test), the
# python3-grpcio suite and a few raw HTTP/2 checks with curl; prints TAP (each suite as an
# indented subtest) and exits nonzero when anything fails. Every step is time-bounded.
# Usage: regress/grpc/run.sh            (env: GRPC_SUITE_TIMEOUT seconds per suite, default 120)
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
limit=${GRPC_SUITE_TIMEOUT:-120}
work=$(mktemp -d /tmp/mockarty-grpc.XXXXXX)
srv_pid=

cleanup() {
  if [ -n "$srv_pid" ] && kill -0 "$srv_pid" 2>/dev/null; then
    kill -TERM "$srv_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$srv_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$srv_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "TAP version 13"
if ! make -s -C daemons/grpc >"$work/build.log" 2>&1; then
  sed 's/^/# /' "$work/build.log"; echo "1..1"; echo "not ok 1 - build daemons/grpc"; exit 1
fi
scripts/e2e-deps.sh >"$work/npm.log" 2>&1 \
  || { sed 's/^/# /' "$work/npm.log"; echo "1..1"; echo "not ok 1 - npm ci in regress/e2e"; exit 1; }

# Port 0: the server binds an ephemeral port and prints it, so parallel runs never collide.
daemons/grpc/build/grpc-test-server 0 50 500 >"$work/server.out" 2>"$work/server.err" &
srv_pid=$!
for _ in $(seq 100); do grep -q '^listening' "$work/server.out" 2>/dev/null && break; sleep 0.05; done
addr=$(sed -n 's/^listening //p' "$work/server.out")
if [ -z "$addr" ]; then
  sed 's/^/# /' "$work/server.err"; echo "1..1"; echo "not ok 1 - grpc-test-server starts"; exit 1
fi
echo "# grpc-test-server on $addr"
export GRPC_TEST_ADDR=$addr

n=0 failed=0
suite() { # suite <name> <command...>: runs it bounded, indents its TAP, reports ok/not ok
  local name=$1; shift
  n=$((n + 1))
  if declare -F "$1" >/dev/null; then
    "$@" >"$work/out" 2>&1; rc=$? # shell function: its commands carry their own time limits
  elif timeout "$limit" "$@" >"$work/out" 2>&1; then rc=0; else rc=$?; fi
  sed 's/^/    /' "$work/out"
  if [ $rc -eq 0 ]; then echo "ok $n - $name"; else echo "not ok $n - $name (exit $rc)"; failed=$((failed + 1)); fi
}

suite "C client (grpc_client.c)" daemons/grpc/build/grpc-client-test "$addr"
suite "grpc-js (@grpc/grpc-js + proto-loader)" node --test --test-reporter=tap regress/grpc/grpc.test.mjs
# Debian's interpreter explicitly: python3-grpcio is not visible to pyenv/venv pythons.
suite "python3-grpcio (C-core)" /usr/bin/python3 regress/grpc/test_grpc.py daemons/grpc/build/gen/mockarty-grpc.desc

raw_checks() { # plain HTTP/2 requests that are not gRPC: the server must answer like gRPC servers do
  local k=0 bad=0 out
  check() { k=$((k + 1)); if eval "$2"; then echo "ok $k - $1"; else echo "not ok $k - $1"; bad=1; fi; }
  out=$(curl -s --max-time 5 --http2-prior-knowledge -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' \
    "http://$addr/mockarty.coordinator.v1.Coordinator/Resolve")
  check "non-gRPC content-type -> HTTP 415 ($out)" '[ "$out" = 415 ]'
  out=$(curl -s --max-time 5 --http2-prior-knowledge -o /dev/null -w '%{http_code}' "http://$addr/grpc.health.v1.Health/Check")
  check "GET -> HTTP 405 ($out)" '[ "$out" = 405 ]'
  out=$(curl -s --max-time 5 --http2-prior-knowledge -D - -o /dev/null -X POST -H 'content-type: application/grpc' \
    --data-binary @/dev/null "http://$addr/grpc.health.v1.Health/Check" | tr -d '\r' | grep -i '^grpc-status' || true)
  check "request without te: trailers -> grpc-status 13 ($out)" '[ "$out" = "grpc-status: 13" ]'
  echo "1..$k"
  return $bad
}
suite "raw HTTP/2 (curl)" raw_checks

# Graceful stop: SIGTERM must end the server within its drain time.
n=$((n + 1))
kill -TERM "$srv_pid"
stopped=no
for _ in $(seq 60); do kill -0 "$srv_pid" 2>/dev/null || { stopped=yes; break; }; sleep 0.05; done
if [ $stopped = yes ] && wait "$srv_pid"; then echo "ok $n - server stops cleanly on SIGTERM"
else echo "not ok $n - server stops cleanly on SIGTERM"; failed=$((failed + 1)); fi
srv_pid=
sed 's/^/# server: /' "$work/server.err"

echo "1..$n"
[ $failed -eq 0 ]
