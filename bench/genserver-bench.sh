#!/usr/bin/env bash
# genserver-bench.sh - the generic generated server (daemons/build/mockarty-gen-server --type
# openapi) against a mock-resolver serving the same mock, both synced from one admin node's
# coordinator: PostgreSQL + admin node + resolver + generated server. The machine is shared and
# noisy, so the servers are measured in alternating rounds (resolver first in odd rounds,
# generated server first in even ones) and the figures are medians over the rounds.
#   * both answer PATH_UNDER_TEST with the same status, content type and body, byte for byte
#   * the same THREADS for both servers and for wrk (-t THREADS -c CONNS -d DURATION)
#   * a round with a non-2xx answer or a socket error fails the benchmark
#   * exit 1 when the generated server's median req/s is below TARGET (0.9) x the resolver's
# Writes bench/results/genserver-latest.tsv. Knobs: QUICK=1 (2 rounds of 3 s), ROUNDS (5),
# DURATION (10s), THREADS (2), CONNS (64), TARGET (0.9), SKIP_BUILD=1. Free ports, 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${QUICK:-0}" = 1 ]; then ROUNDS=${ROUNDS:-2} DURATION=${DURATION:-3s}; fi
ROUNDS=${ROUNDS:-5} DURATION=${DURATION:-10s} THREADS=${THREADS:-2} CONNS=${CONNS:-64} TARGET=${TARGET:-0.9}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PN=0 PA=$(free_port) PG=$(free_port) PR=$(free_port) PD=$(free_port) PS=$(free_port) PSD=$(free_port)
B=$(mktemp -d /tmp/mockarty-gbench.XXXXXX); chmod 755 "$B"
PATH_UNDER_TEST=/api/users/123
BODY='{"id":"123","name":"Alice","email":"alice@example.com"}'
log() { printf '[genserver-bench] %s\n' "$*" >&2; }
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
source bench/lib.sh

start_db
DB_DSN=$DSN HTTP_PORT=$PA GRPC_PORT=$PG AUTH_MODE=local daemons/build/mockarty-admin >"$B/admin.log" 2>&1 &
pids+=("$!")
for _ in $(seq 200); do curl -fsS "http://127.0.0.1:$PA/health/ready" >/dev/null 2>&1 && break; sleep 0.1; done
RTOKEN=$(psqlq -c "SELECT mockarty.integration_create('bench-resolver', 'mock_resolver')->>'token'")
GTOKEN=$(psqlq -c "SELECT mockarty.integration_create('bench-gen', 'orchestrator')->>'token'")
case "$RTOKEN$GTOKEN" in mki_*mki_*) ;; *) log "could not create the tokens"; exit 1 ;; esac

COORDINATOR_ADDR=127.0.0.1:$PG API_TOKEN=$RTOKEN RESOLVER_NAME=bench HTTP_PORT=$PR DASHBOARD_PORT=$PD \
  THREADS=$THREADS daemons/build/mock-resolver >"$B/resolver.log" 2>&1 &
pids+=("$!")
HTTP_ADMIN_BASE_URL=http://127.0.0.1:$PA COORDINATOR_ADDR=127.0.0.1:$PG API_TOKEN=$GTOKEN HTTP_PORT=$PS \
  DASHBOARD_PORT=$PSD HTTP_BIND_ADDR=127.0.0.1 THREADS=$THREADS \
  daemons/build/mockarty-gen-server --type openapi >"$B/genserver.log" 2>&1 &
pids+=("$!")
for p in $PR $PS; do
  for _ in $(seq 300); do curl -fsS "http://127.0.0.1:$p/health/ready" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -fsS "http://127.0.0.1:$p/health/ready" >/dev/null || { log "server on $p not ready"; cat "$B"/*.log >&2; exit 1; }
done

# the same answer, byte for byte: status line, content type and body
answer() { curl -sS -o "$B/body-$1" -w '%{http_code} %{content_type}' "http://127.0.0.1:$1$PATH_UNDER_TEST"; }
ra=$(answer "$PR"); ga=$(answer "$PS")
[ "$ra" = "$ga" ] && cmp -s "$B/body-$PR" "$B/body-$PS" || { log "answers differ: resolver '$ra' $(cat "$B/body-$PR") vs generated '$ga' $(cat "$B/body-$PS")"; exit 1; }
case "$ra" in 200\ *) ;; *) log "the mock answered $ra"; exit 1 ;; esac

one_round() { # port -> req/s; fails on non-2xx or socket errors
  wrk -t"$THREADS" -c"$CONNS" -d1s "http://127.0.0.1:$1$PATH_UNDER_TEST" >/dev/null 2>&1 || true
  local out; out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" "http://127.0.0.1:$1$PATH_UNDER_TEST")
  if echo "$out" | grep -qE 'Non-2xx|Socket errors'; then
    log "round failed on port $1: $(echo "$out" | grep -E 'Non-2xx|Socket')"; return 1
  fi
  echo "$out" | awk '/Requests\/sec/ {print $2}'
}
res=() gen=()
for i in $(seq "$ROUNDS"); do
  if [ $((i % 2)) = 1 ]; then
    r=$(one_round "$PR") || exit 1; g=$(one_round "$PS") || exit 1
  else
    g=$(one_round "$PS") || exit 1; r=$(one_round "$PR") || exit 1
  fi
  res+=("$r"); gen+=("$g")
  log "round $i: resolver ${res[-1]} req/s, generated server ${gen[-1]} req/s"
done
mkdir -p bench/results
python3 - "$TARGET" "$THREADS" "$CONNS" "$DURATION" "${res[*]}" "${gen[*]}" <<'PY' | tee bench/results/genserver-latest.tsv
import statistics, sys
target, threads, conns, dur = float(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
res = [float(x) for x in sys.argv[5].split()]
gen = [float(x) for x in sys.argv[6].split()]
mr, mg = statistics.median(res), statistics.median(gen)
print("server\tmedian_req_per_s\trounds\tthreads\tconns\tduration")
print("resolver\t%.0f\t%s\t%s\t%s\t%s" % (mr, " ".join("%.0f" % x for x in res), threads, conns, dur))
print("generated\t%.0f\t%s\t%s\t%s\t%s" % (mg, " ".join("%.0f" % x for x in gen), threads, conns, dur))
print("ratio\t%.3f\ttarget >= %.2f\t%s" % (mg / mr, target, "PASS" if mg / mr >= target else "MISS"))
PY
awk -F'\t' '$1=="ratio" && $4=="MISS" {exit 1}' bench/results/genserver-latest.tsv
