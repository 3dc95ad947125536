#!/usr/bin/env bash
# grpc-cpu-ab.sh - CPU per unary call of two builds of mockarty-gen-server --type grpc, measured
# alternately in one run, with the resolver's CPU per HTTP/1.1 request in the same rounds: the
# steady figure on a shared machine, where req/s follows whatever else runs.
#   A_BIN=<binary> B_BIN=<binary> bench/grpc-cpu-ab.sh   (default: daemons/build/mockarty-gen-server)
# PostgreSQL + admin node + resolver + the two servers, all from the same admin node and the
# same stateless unary mock as bench/grpc-serve-bench.sh (bench.v1.Users/GetUser, the record
# {"id":"123",...}). Each round gives A, then B, exactly N calls (h2load -c64 -m1 -t1 -n N,
# the bench's prepared request) and the resolver a wrk -t1 -c64 run of WRK_S seconds; CPU is
# utime + stime from /proc/<pid>/stat over exactly those calls (10 ms ticks: N = 150000 at
# about 6 us per call reads to about 1%). Servers on CPU 0, clients on CPU 1. A round with a
# failed call or a non-2xx answer fails the run. Knobs: N (150000), ROUNDS (4), WRK_S (4).
# Prints one line per round and the medians; everything on 127.0.0.1, free ports.
set -euo pipefail
cd "$(dirname "$0")/.."
A_BIN=${A_BIN:-daemons/build/mockarty-gen-server} B_BIN=${B_BIN:-daemons/build/mockarty-gen-server}
N=${N:-150000} ROUNDS=${ROUNDS:-4} WRK_S=${WRK_S:-4}
for t in h2load wrk protoc taskset node; do
  command -v "$t" >/dev/null || { echo "$t is not installed (scripts/install-deps.sh bench)" >&2; exit 1; }
done
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PN=0 PA=$(free_port) PG=$(free_port) PR=$(free_port) PD=$(free_port)
P1=$(free_port) D1=$(free_port) P2=$(free_port) D2=$(free_port)
B=$(mktemp -d /tmp/mockarty-grpcab.XXXXXX); chmod 755 "$B"
PATH_UNDER_TEST=/api/users/123
BODY='{"id":"123","name":"Alice","email":"alice@example.com"}'
log() { printf '[grpc-cpu-ab] %s\n' "$*" >&2; }
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  scripts/cluster.sh stop "$B/pg" 2>/dev/null || true
  rm -rf "$B"
}
trap cleanup EXIT
source bench/lib.sh

echo 'id: "123"' | protoc --encode=bench.v1.GetUserRequest -Ibench/grpc bench/grpc/bench.proto > "$B/msg.bin"
python3 - "$B/msg.bin" "$B/req.bin" <<'PY'
import struct, sys
m = open(sys.argv[1], 'rb').read()
open(sys.argv[2], 'wb').write(b'\0' + struct.pack('>I', len(m)) + m)
PY
protoc --include_imports --descriptor_set_out="$B/bench.pb" -Ibench/grpc bench/grpc/bench.proto
start_db
DB_DSN=$DSN HTTP_PORT=$PA GRPC_PORT=$PG AUTH_MODE=local daemons/build/mockarty-admin >"$B/admin.log" 2>&1 &
pids+=("$!")
for _ in $(seq 200); do curl -fsS "http://127.0.0.1:$PA/health/ready" >/dev/null 2>&1 && break; sleep 0.1; done
RTOKEN=$(psqlq -c "SELECT mockarty.integration_create('bench-resolver', 'mock_resolver')->>'token'")
ATOKEN=$(psqlq -c "SELECT mockarty.token_create('grpc-ab')->>'token'")
up=$(curl -sS -o "$B/upload.json" -w '%{http_code}' -H "Authorization: Bearer $ATOKEN" \
  -H 'Content-Type: application/octet-stream' --data-binary @"$B/bench.pb" \
  "http://127.0.0.1:$PA/api/v1/grpc/descriptors?namespace=sandbox&serverName=bench")
case "$up" in 20?) ;; *) log "descriptor upload answered $up: $(cat "$B/upload.json")"; exit 1 ;; esac
psqlq -c "SELECT mockarty.mock_save('{\"id\":\"bench-grpc-user\",\"namespace\":\"sandbox\",\"serverName\":\"bench\",\"grpc\":{\"service\":\"bench.v1.Users\",\"method\":\"GetUser\",\"methodType\":\"unary\"},\"response\":{\"statusCode\":0,\"payload\":$BODY}}'::jsonb)" >/dev/null

COORDINATOR_ADDR=127.0.0.1:$PG API_TOKEN=$RTOKEN RESOLVER_NAME=bench HTTP_PORT=$PR DASHBOARD_PORT=$PD \
  THREADS=1 taskset -c 0 daemons/build/mock-resolver >"$B/resolver.log" 2>&1 &
pids+=("$!"); RPID=$!
gen() { # binary port dashboard-port log: starts it in the background (pid in $!)
  HTTP_ADMIN_BASE_URL=http://127.0.0.1:$PA COORDINATOR_ADDR=127.0.0.1:$PG API_TOKEN=$ATOKEN NAMESPACE=sandbox \
    SERVER_NAME=bench HTTP_PORT=$2 DASHBOARD_PORT=$3 HTTP_BIND_ADDR=127.0.0.1 THREADS=1 \
    taskset -c 0 "$1" --type grpc >"$4" 2>&1 &
}
gen "$A_BIN" "$P1" "$D1" "$B/a.log"; pids+=("$!"); APID=$!
gen "$B_BIN" "$P2" "$D2" "$B/b.log"; pids+=("$!"); BPID=$!
for _ in $(seq 300); do curl -fsS "http://127.0.0.1:$PR/health/ready" >/dev/null 2>&1 && break; sleep 0.1; done
check_body "$PR"
for p in "$P1" "$P2"; do
  ok=""
  for _ in $(seq 100); do ok=$(node bench/grpc/verify.mjs "$p" 2>"$B/verify.err") && break; ok=""; sleep 0.2; done
  [ -n "$ok" ] || { log "the server on port $p did not answer OK: $(cat "$B/verify.err")"; exit 1; }
done

TCK=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
h2() { # port pid -> us per call
  local t0 t1 out ok
  t0=$(ticks "$2")
  out=$(taskset -c 1 h2load -c64 -m1 -t1 -n"$N" -d "$B/req.bin" -H 'content-type: application/grpc' \
    -H 'te: trailers' "http://127.0.0.1:$1/bench.v1.Users/GetUser" 2>&1) || true
  t1=$(ticks "$2")
  ok=$(awk '/^requests:/ {print $8}' <<<"$out")
  if [ "$ok" != "$N" ] || ! grep -q "^status codes: $N 2xx" <<<"$out"; then
    log "port $1: $(grep -E '^(requests|status codes)' <<<"$out")"; return 1
  fi
  awk -v a="$t0" -v b="$t1" -v t="$TCK" -v n="$N" 'BEGIN {printf "%.2f", (b - a) * 1e6 / t / n}'
}
wr() { # -> us per request
  local t0 t1 out n
  t0=$(ticks "$RPID")
  out=$(taskset -c 1 wrk -t1 -c64 -d"${WRK_S}s" "http://127.0.0.1:$PR$PATH_UNDER_TEST" 2>&1)
  t1=$(ticks "$RPID")
  if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then log "resolver: $(grep -E 'Non-2xx|Socket' <<<"$out")"; return 1; fi
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  awk -v a="$t0" -v b="$t1" -v t="$TCK" -v n="$n" 'BEGIN {printf "%.2f", (b - a) * 1e6 / t / n}'
}
ra=() rb=() rr=()
for i in $(seq "$ROUNDS"); do
  a=$(h2 "$P1" "$APID") || exit 1; b=$(h2 "$P2" "$BPID") || exit 1; r=$(wr) || exit 1
  ra+=("$a") rb+=("$b") rr+=("$r")
  echo "round $i: A $a us/call | B $b us/call | resolver $r us/request"
done
echo "median: A $(median "${ra[@]}") us/call | B $(median "${rb[@]}") us/call | resolver $(median "${rr[@]}") us/request (A = $A_BIN, B = $B_BIN)"
