#!/usr/bin/env bash
# grpc-serve-bench.sh - unary gRPC calls served by mockarty-gen-server --type grpc against a
# @grpc/grpc-js server returning the same message, and the mock-resolver's HTTP/1.1 req/s for the
# same record, in one run: PostgreSQL + admin node (coordinator) + resolver + gRPC generated
# server + bench/grpc/grpcjs-server.mjs. The machine is shared and noisy, so the three are measured
# in alternating rounds (resolver, ours, grpc-js in odd rounds; grpc-js, ours, resolver in even
# ones) and the figures are medians over the rounds.
#   * gRPC load: h2load (nghttp2-client) -c CONNS -m 1 -t THREADS posting the same prepared data
#     file to both gRPC servers: the 5-byte gRPC prefix + bench.v1.GetUserRequest {id:"123"}
#     encoded by protoc --encode, headers content-type: application/grpc and te: trailers
#   * HTTP/1.1 load: wrk -t THREADS -c CONNS on the resolver's GET /api/users/123 answering
#     {"id":"123","name":"Alice","email":"alice@example.com"}, the JSON of the same record
#   * h2load counts HTTP statuses only: before the rounds each gRPC server is called once with
#     @grpc/grpc-js (bench/grpc/verify.mjs), which must end with grpc-status 0 and the same
#     message from both; a round whose h2load summary shows a failed, errored or timed-out
#     stream or a non-2xx status fails the benchmark, as does a non-2xx or socket error in wrk
#   * servers pinned to CPU 0, clients to CPU 1 (PIN=1, the default, as loadgen-bench.sh)
#   * exit 1 when our median req/s is below TARGET (0.8) x the resolver's HTTP/1.1 median; the
#     ratio to grpc-js is reported, with wrk's p99 and h2load's request-time min/max/mean/sd
#     (h2load prints no percentiles), and each server's CPU use during its runs (% of one core)
# Writes bench/results/grpc-serve-latest.tsv. Knobs: QUICK=1 (2 rounds of 3 s), ROUNDS (5),
# DURATION (10, seconds), THREADS (1 pinned, 2 unpinned), CONNS (64), TARGET (0.8), PIN (1),
# SKIP_BUILD=1. Free ports, everything on 127.0.0.1, every load run bounded by DURATION.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${QUICK:-0}" = 1 ]; then ROUNDS=${ROUNDS:-2} DURATION=${DURATION:-3}; fi
PIN=${PIN:-1}
ROUNDS=${ROUNDS:-5} DURATION=${DURATION:-10} CONNS=${CONNS:-64} TARGET=${TARGET:-0.8}
DURATION=${DURATION%s}
if [ "$PIN" = 1 ]; then THREADS=${THREADS:-1}; CLIENT="taskset -c 1"; SERVER="taskset -c 0"
else THREADS=${THREADS:-2}; CLIENT=""; SERVER=""; fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PN=0 PA=$(free_port) PG=$(free_port) PR=$(free_port) PD=$(free_port) PS=$(free_port) PSD=$(free_port)
PJ=$(free_port)
B=$(mktemp -d /tmp/mockarty-grpcbench.XXXXXX); chmod 755 "$B"
PATH_UNDER_TEST=/api/users/123
BODY='{"id":"123","name":"Alice","email":"alice@example.com"}'
RPC=/bench.v1.Users/GetUser
log() { printf '[grpc-serve-bench] %s\n' "$*" >&2; }
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  scripts/cluster.sh stop "$B/pg" 2>/dev/null || true
  [ "${KEEP:-0}" = 1 ] || rm -rf "$B"
}
trap cleanup EXIT

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  scripts/install-deps.sh bench
  make -s all >/dev/null && make -s install >/dev/null
fi
for t in h2load wrk protoc taskset node; do
  command -v "$t" >/dev/null || { log "$t is not installed (scripts/install-deps.sh bench; h2load is Debian's nghttp2-client)"; exit 1; }
done
source bench/lib.sh

# --- the request body h2load sends: uncompressed flag 0, 4-byte big-endian length, the message
echo 'id: "123"' | protoc --encode=bench.v1.GetUserRequest -Ibench/grpc bench/grpc/bench.proto > "$B/msg.bin"
python3 - "$B/msg.bin" "$B/req.bin" <<'PY'
import struct, sys
m = open(sys.argv[1], 'rb').read()
open(sys.argv[2], 'wb').write(b'\0' + struct.pack('>I', len(m)) + m)
PY
protoc --include_imports --descriptor_set_out="$B/bench.pb" -Ibench/grpc bench/grpc/bench.proto

# --- database (with the HTTP mock bench-user), admin node, tokens, descriptor set, gRPC mock
start_db
DB_DSN=$DSN HTTP_PORT=$PA GRPC_PORT=$PG AUTH_MODE=local daemons/build/mockarty-admin >"$B/admin.log" 2>&1 &
pids+=("$!")
for _ in $(seq 200); do curl -fsS "http://127.0.0.1:$PA/health/ready" >/dev/null 2>&1 && break; sleep 0.1; done
RTOKEN=$(psqlq -c "SELECT mockarty.integration_create('bench-resolver', 'mock_resolver')->>'token'")
ATOKEN=$(psqlq -c "SELECT mockarty.token_create('grpc-bench')->>'token'")
case "$RTOKEN" in mki_*) ;; *) log "could not create the resolver token"; exit 1 ;; esac
[ -n "$ATOKEN" ] || { log "could not create an API token"; exit 1; }
up=$(curl -sS -o "$B/upload.json" -w '%{http_code}' -H "Authorization: Bearer $ATOKEN" \
  -H 'Content-Type: application/octet-stream' --data-binary @"$B/bench.pb" \
  "http://127.0.0.1:$PA/api/v1/grpc/descriptors?namespace=sandbox&serverName=bench")
case "$up" in 20?) ;; *) log "descriptor upload answered $up: $(cat "$B/upload.json")"; exit 1 ;; esac
psqlq -c "SELECT mockarty.mock_save('{\"id\":\"bench-grpc-user\",\"namespace\":\"sandbox\",\"serverName\":\"bench\",\"grpc\":{\"service\":\"bench.v1.Users\",\"method\":\"GetUser\",\"methodType\":\"unary\"},\"response\":{\"statusCode\":0,\"payload\":$BODY}}'::jsonb)" >/dev/null

# --- the three servers, on CPU 0 when pinned
COORDINATOR_ADDR=127.0.0.1:$PG API_TOKEN=$RTOKEN RESOLVER_NAME=bench HTTP_PORT=$PR DASHBOARD_PORT=$PD \
  THREADS=$THREADS $SERVER daemons/build/mock-resolver >"$B/resolver.log" 2>&1 &
pids+=("$!"); RPID=$!
HTTP_ADMIN_BASE_URL=http://127.0.0.1:$PA COORDINATOR_ADDR=127.0.0.1:$PG API_TOKEN=$ATOKEN NAMESPACE=sandbox \
  SERVER_NAME=bench HTTP_PORT=$PS DASHBOARD_PORT=$PSD HTTP_BIND_ADDR=127.0.0.1 THREADS=$THREADS \
  $SERVER daemons/build/mockarty-gen-server --type grpc >"$B/genserver.log" 2>&1 &
pids+=("$!"); SPID=$!
$SERVER node bench/grpc/grpcjs-server.mjs "$PJ" >"$B/grpcjs.log" 2>&1 &
pids+=("$!"); JPID=$!
for _ in $(seq 300); do curl -fsS "http://127.0.0.1:$PR/health/ready" >/dev/null 2>&1 && break; sleep 0.1; done
check_body "$PR"
# the same message from both gRPC servers, with grpc-status 0 (a real client; the mock may take
# a poll interval to arrive)
ours="" theirs=""
for _ in $(seq 100); do ours=$(node bench/grpc/verify.mjs "$PS" 2>"$B/verify.err") && break; ours=""; sleep 0.2; done
[ -n "$ours" ] || { log "our gRPC server did not answer OK: $(cat "$B/verify.err")"; tail -20 "$B/genserver.log" >&2; exit 1; }
for _ in $(seq 50); do theirs=$(node bench/grpc/verify.mjs "$PJ" 2>"$B/verify.err") && break; theirs=""; sleep 0.2; done
[ -n "$theirs" ] || { log "the grpc-js server did not answer OK: $(cat "$B/verify.err")"; exit 1; }
[ "$ours" = "$theirs" ] || { log "answers differ: ours $ours, grpc-js $theirs"; exit 1; }
log "both gRPC servers answer $ours with status OK"

# CPU used by a server process during a measured run, in % of one core (taskset execs, so the
# pid is the server's): tells a server-bound round (near 100 when pinned) from a client-bound one
TCK=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
cpu_pct() { awk -v a="$2" -v b="$3" -v t="$TCK" -v d="$DURATION" 'BEGIN {printf "%.0f", (b - a) * 100 / (t * d)}'; } # pid before after

# CPU used by the load client of a run (bash's time), in % of one core: near 100 = client-bound
client_pct() { awk -v d="$DURATION" '{printf "%.0f", ($1 + $2) * 100 / d}' "$1"; }
h2_round() { # port pid -> "req/s min max mean sd p99 client% cpu%"; fails on any failed stream or non-2xx
  $CLIENT h2load -c"$CONNS" -m1 -t"$THREADS" -D1 -d "$B/req.bin" -H 'content-type: application/grpc' \
    -H 'te: trailers' "http://127.0.0.1:$1$RPC" >/dev/null 2>&1 || true
  rm -f "$B/h2log"
  local t0; t0=$(ticks "$2")
  local out; out=$( { TIMEFORMAT='%U %S'; time $CLIENT h2load -c"$CONNS" -m1 -t"$THREADS" -D"$DURATION" \
    -d "$B/req.bin" --log-file="$B/h2log" -H 'content-type: application/grpc' -H 'te: trailers' \
    "http://127.0.0.1:$1$RPC" 2>&1; } 2>"$B/time" ) || true
  local cpu; cpu=$(cpu_pct "$2" "$t0" "$(ticks "$2")")
  # h2load prints no percentiles: p99 from its per-request log (3rd column: microseconds)
  local p99; p99=$(sort -n -k3,3 "$B/h2log" | awk '{v[NR]=$3} END {i=int(NR*0.99); if (i<1) i=1; printf "%.2fms", v[i]/1000}')
  echo "$out" >> "$B/h2load-$1.txt"
  local bad; bad=$(echo "$out" | awk '/^requests:/ {f=$10+$12+$14} /^status codes:/ {n=$5+$7+$9} END {print f+n+0}')
  # (here-strings, not echo | grep -q: under pipefail grep -q exiting at its match can kill the
  # echo with SIGPIPE, failing a good round about once in 1,500)
  if [ "$bad" != 0 ] || ! grep -q '^finished in' <<<"$out"; then
    log "round failed on port $1: $(echo "$out" | grep -E '^(requests|status codes|finished)')"; return 1
  fi
  local rps; rps=$(echo "$out" | awk '/^finished in/ {print $4}')
  echo "$rps $(echo "$out" | awk '/^time for request:/ {print $4, $5, $6, $7}') $p99 $(client_pct "$B/time") $cpu"
}
wrk_round() { # port pid -> "req/s p99 client% cpu%"; fails on non-2xx or socket errors
  $CLIENT wrk -t"$THREADS" -c"$CONNS" -d1s "http://127.0.0.1:$1$PATH_UNDER_TEST" >/dev/null 2>&1 || true
  local t0; t0=$(ticks "$2")
  local out; out=$( { TIMEFORMAT='%U %S'; time $CLIENT wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency \
    "http://127.0.0.1:$1$PATH_UNDER_TEST"; } 2>"$B/time" )
  local cpu; cpu=$(cpu_pct "$2" "$t0" "$(ticks "$2")")
  if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then
    log "round failed on port $1: $(echo "$out" | grep -E 'Non-2xx|Socket')"; return 1
  fi
  echo "$(echo "$out" | awk '/Requests\/sec/ {print $2}') $(echo "$out" | awk '$1=="99%" {print $2}') $(client_pct "$B/time") $cpu"
}
res=() gen=() gjs=()
for i in $(seq "$ROUNDS"); do
  if [ $((i % 2)) = 1 ]; then
    r=$(wrk_round "$PR" "$RPID") || exit 1; g=$(h2_round "$PS" "$SPID") || exit 1; j=$(h2_round "$PJ" "$JPID") || exit 1
  else
    j=$(h2_round "$PJ" "$JPID") || exit 1; g=$(h2_round "$PS" "$SPID") || exit 1; r=$(wrk_round "$PR" "$RPID") || exit 1
  fi
  res+=("$r") gen+=("$g") gjs+=("$j")
  log "round $i: resolver HTTP/1.1 $r | ours gRPC $g | grpc-js $j"
done
# the answer is still OK after the load
node bench/grpc/verify.mjs "$PS" >/dev/null || { log "our server no longer answers OK after the rounds"; exit 1; }
mkdir -p bench/results
python3 - "$TARGET" "$THREADS" "$CONNS" "$DURATION" "$PIN" "$(IFS=';'; echo "${res[*]}")" \
  "$(IFS=';'; echo "${gen[*]}")" "$(IFS=';'; echo "${gjs[*]}")" <<'PY' | tee bench/results/grpc-serve-latest.tsv
import statistics, sys
target, threads, conns, dur, pin = float(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
rows = [[r.split() for r in a.split(';')] for a in sys.argv[6:9]]
med = lambda rs: statistics.median(float(r[0]) for r in rs)
mr, mg, mj = med(rows[0]), med(rows[1]), med(rows[2])
cfg = "threads %s, conns %s, %s s, %s" % (threads, conns, dur, "servers CPU 0, clients CPU 1" if pin == "1" else "unpinned")
cpu = lambda rs: "%.0f" % statistics.median(float(r[-1]) for r in rs)
ccpu = lambda rs: "%.0f" % statistics.median(float(r[-2]) for r in rs)
# server CPU time per call, microseconds (median over rounds of cpu% x 10^4 / req/s)
us = lambda rs: "%.1f" % statistics.median(float(r[-1]) * 1e4 / float(r[0]) for r in rs)
print("server\tmedian_req_per_s\trounds\tlatency (last round)\tserver_cpu_pct (median)\tserver_cpu_us_per_call (median)\tclient_cpu_pct (median)\tsetup")
print("resolver HTTP/1.1 (wrk)\t%.0f\t%s\tp99 %s\t%s\t%s\t%s\t%s" % (mr, " ".join("%.0f" % float(r[0]) for r in rows[0]), rows[0][-1][1], cpu(rows[0]), us(rows[0]), ccpu(rows[0]), cfg))
for name, rs, m in (("ours gRPC (h2load)", rows[1], mg), ("grpc-js (h2load)", rows[2], mj)):
    print("%s\t%.0f\t%s\tp99 %s min %s max %s mean %s sd %s\t%s\t%s\t%s\t%s" % (name, m, " ".join("%.0f" % float(r[0]) for r in rs), rs[-1][5], *rs[-1][1:5], cpu(rs), us(rs), ccpu(rs), cfg))
print("ratio ours/resolver\t%.3f\ttarget >= %.2f\t%s" % (mg / mr, target, "PASS" if mg / mr >= target else "MISS"))
print("ratio ours/grpc-js\t%.3f\tfor information\t" % (mg / mj))
PY
awk -F'\t' '$1=="ratio ours/resolver" && $4=="MISS" {exit 1}' bench/results/grpc-serve-latest.tsv
