#!/usr/bin/env bash
# loadgen-grpc-bench.sh - mockarty-load in gRPC mode against h2load, both driving the same
# @grpc/grpc-js server (regress/grpc-load/server.mjs, unary loadtest.v1.Echo/Say) in the same run.
#   h2load -c C -m M -t T -D D -d req.bin -H 'content-type: application/grpc' -H 'te: trailers'
#   mockarty-load -c C --streams M -t T -d D --descriptor-set echo.pb --method ... --data JSON
# The request is the same message: mockarty-load encodes it from JSON with the core codec,
# h2load sends a data file made by `protoc --encode` plus the 5-byte gRPC prefix. h2load does not
# read grpc-status (it counts HTTP 2xx) and reports no percentiles; mockarty-load's report is
# checked for zero errors. Server on CPU 0, client on CPU 1 (PIN=1, the default). Order h2load,
# mockarty-load, mockarty-load, h2load, ... (ROUNDS); figures are medians over rounds; the ratio is
# mockarty-load req/s / h2load req/s. Writes bench/results/loadgen-grpc-latest.tsv.
# Knobs: QUICK=1 (2 rounds of 3 s), DURATION (10), ROUNDS (4), CONNS (4), STREAMS (16),
# THREADS (1), PIN (1), SKIP_BUILD=1. Everything listens on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${QUICK:-0}" = 1 ]; then DURATION=${DURATION:-3}; ROUNDS=${ROUNDS:-2}; fi
DURATION=${DURATION:-10} ROUNDS=${ROUNDS:-4} CONNS=${CONNS:-4} STREAMS=${STREAMS:-16} THREADS=${THREADS:-1}
PIN=${PIN:-1}
if [ "$PIN" = 1 ]; then SERVER="taskset -c 0"; CLIENT="taskset -c 1"; else SERVER=""; CLIENT=""; fi
B=$(mktemp -d /tmp/mockarty-gbench.XXXXXX)
log() { printf '[loadgen-grpc-bench] %s\n' "$*" >&2; }
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ "${KEEP:-0}" = 1 ] || rm -rf "$B"
}
trap cleanup EXIT
for t in h2load protoc node; do
  command -v $t >/dev/null || { log "$t is not installed (h2load: Debian nghttp2-client)"; exit 1; }
done
[ "${SKIP_BUILD:-0}" = 1 ] || make -s -C daemons/loadgen >/dev/null
LOAD=daemons/build/mockarty-load
FIX=regress/grpc-load

protoc --include_imports --descriptor_set_out="$B/echo.pb" -I "$FIX" -I /usr/include "$FIX/echo.proto"
JSON='{"text":"hello from the benchmark","count":"42","tags":["a","b"]}'
printf 'text: "hello from the benchmark"\ncount: 42\ntags: "a"\ntags: "b"\n' |
  protoc --encode=loadtest.v1.EchoRequest -I "$FIX" -I /usr/include "$FIX/echo.proto" > "$B/msg.bin"
python3 - "$B/msg.bin" "$B/req.bin" <<'PY'
import struct, sys
m = open(sys.argv[1], 'rb').read()
open(sys.argv[2], 'wb').write(b'\0' + struct.pack('>I', len(m)) + m)
PY

# grpc-js slows down over a long run (both clients saw req/s fall by a third from one 3 s round
# to the next on the same server process), so every round gets a fresh server and a 1 s warm-up
# by the client under test; the server is the same program on the same CPU for both.
srv=""
start_server() {
  [ -n "$srv" ] && { kill "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true; }
  : > "$B/server.out"
  $SERVER node "$FIX/server.mjs" 0 > "$B/server.out" 2>&1 &
  srv=$!
  pids+=("$srv")
  for _ in $(seq 100); do grep -q listening "$B/server.out" 2>/dev/null && break; sleep 0.1; done
  PORT=$(awk '/listening/ {print $2}' "$B/server.out")
  [ -n "$PORT" ] || { log "the grpc-js server did not start: $(cat "$B/server.out")"; exit 1; }
  URL="http://127.0.0.1:$PORT/loadtest.v1.Echo/Say"
  GARGS=("127.0.0.1:$PORT" --descriptor-set "$B/echo.pb" --method loadtest.v1.Echo/Say --data "$JSON")
}
start_server


run_h2load() { # prints "req_per_s mean_ms"
  start_server
  $CLIENT h2load -c "$CONNS" -m "$STREAMS" -t "$THREADS" -D 1 -d "$B/req.bin" \
    -H 'content-type: application/grpc' -H 'te: trailers' "$URL" > /dev/null 2>&1 || true
  local out; out=$($CLIENT h2load -c "$CONNS" -m "$STREAMS" -t "$THREADS" -D "$DURATION" -d "$B/req.bin" \
    -H 'content-type: application/grpc' -H 'te: trailers' "$URL" 2>&1)
  echo "$out" | grep -q ' 0 failed, 0 errored' || log "h2load errors: $(echo "$out" | grep '^requests:')"
  echo "$out" | awk '/^finished in/ {gsub(",","",$4); rps=$4}
    /^time for request:/ {v=$6; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else {sub(/s/,"",v); v=v*1000}; mean=v}
    END {print rps, mean}'
}
run_load() { # prints "req_per_s mean_ms p99_ms"
  start_server
  $CLIENT $LOAD "${GARGS[@]}" -c "$CONNS" --streams "$STREAMS" -t "$THREADS" -d 1s --json > /dev/null
  local out; out=$($CLIENT $LOAD "${GARGS[@]}" -c "$CONNS" --streams "$STREAMS" -t "$THREADS" -d "${DURATION}s" --json)
  echo "$out" | python3 -c '
import json, sys
r = json.load(sys.stdin)
if r["errors"]: print("mockarty-load errors: %s" % r["errorKinds"], file=sys.stderr)
print(r["rps"], r["latencyMs"]["mean"], r["latencyMs"]["p99"])'
}

log "$ROUNDS round(s) of ${DURATION}s each (fresh server, 1 s warm-up): -c$CONNS streams $STREAMS -t$THREADS"
h2=() ld=()
for i in $(seq "$ROUNDS"); do
  if [ $((i % 2)) = 1 ]; then h2+=("$(run_h2load)"); ld+=("$(run_load)")
  else ld+=("$(run_load)"); h2+=("$(run_h2load)"); fi
done
mkdir -p bench/results
printf '%s\n' "${h2[@]}" > "$B/h2.txt"
printf '%s\n' "${ld[@]}" > "$B/ld.txt"
python3 - "$B/h2.txt" "$B/ld.txt" "$CONNS" "$STREAMS" "$THREADS" "$DURATION" <<'PY' | tee bench/results/loadgen-grpc-latest.tsv
import statistics, sys
h2 = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
ld = [list(map(float, l.split())) for l in open(sys.argv[2]) if l.strip()]
med = lambda rs, i: statistics.median(r[i] for r in rs)
c, m, t, d = sys.argv[3:7]
print("# mockarty-load (gRPC) vs h2load on a grpc-js unary server: -c%s streams %s -t%s %ss, %d round(s) each, medians" % (c, m, t, d, len(h2)))
print("client\treq_per_s\tmean_ms\tp99_ms")
print("h2load\t%.1f\t%.3f\t-" % (med(h2, 0), med(h2, 1)))
print("mockarty-load\t%.1f\t%.3f\t%.3f" % (med(ld, 0), med(ld, 1), med(ld, 2)))
print("ratio\t%.2f" % (med(ld, 0) / med(h2, 0)))
PY
