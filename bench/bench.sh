#!/usr/bin/env bash
# bench.sh - `make bench`: the admin node against nginx returning the same body, like for like,
# in the same run (this machine is shared and noisy; only ratios measured side by side mean
# anything):
#   * the admin node with THREADS=1 against nginx with 1 worker, and THREADS=2 against 2 workers;
#   * scenarios: 1 mock; MOCKS (100,000) other mocks on other routes;
#   * per pair, a warm-up of each, then ROUNDS rounds per side in alternation (nginx, admin,
#     nginx, admin, ...; wrk -t2 -c64 -d10s --latency) and the medians of req/s and p99;
#   * before measuring, each server's answer is checked with curl: status 200, application/json,
#     exactly the bytes nginx sends; a round with any non-2xx response or socket error fails.
# Target: admin req/s >= TARGET (0.80) x nginx's for every pair; exit 1 when one is missed.
# Also times the bulk load (mock_batch_save in batches of 10,000, then until the admin node
# serves the last mock) and a cold start (THREADS=1 admin node start -> ready with all mocks).
# Prints a table and writes bench/results/latest.tsv.
# Knobs (see bench/lib.sh): QUICK=1 (2 s rounds, 2 per side, 10,000 mocks, targets reported but
# not enforced: a smoke check of the script), DURATION ROUNDS WARMUP WRK_THREADS CONNS TARGET
# ENFORCE, MOCKS, SKIP_BUILD=1, KEEP=1. Runtime with the defaults about 7 minutes.
# Everything listens on 127.0.0.1 (free ports); every load run is bounded by DURATION.
set -euo pipefail
cd "$(dirname "$0")/.."
unset THREADS
if [ "${QUICK:-0}" = 1 ]; then MOCKS=${MOCKS:-10000}; else MOCKS=${MOCKS:-100000}; fi
B=$(mktemp -d /tmp/mockarty-bench.XXXXXX); chmod 755 "$B"
PATH_UNDER_TEST=/api/users/123
BODY='{"id":"123","name":"Alice","email":"alice@example.com"}'
log() { printf '[bench] %s\n' "$*" >&2; }
pids=() apid=""
cleanup() {
  for p in "${pids[@]}" $apid; do kill "$p" 2>/dev/null || true; done
  scripts/cluster.sh stop "$B/pg" 2>/dev/null || true
  [ "${KEEP:-0}" = 1 ] || rm -rf "$B"
}
trap cleanup EXIT

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  scripts/install-deps.sh bench
  make -s all >/dev/null && make -s install >/dev/null
fi

source bench/lib.sh
PN=$(free_port) PN2=$(free_port) PA=$(free_port)
start_nginx 1 "$PN"
start_nginx 2 "$PN2"
check_body "$PN"; check_body "$PN2"

# --- database + admin node (AUTH_MODE=local: the benchmark measures serving, not auth)
start_db
start_admin() { # threads; waits (bounded) until ready
  THREADS=$1 DB_DSN=$DSN HTTP_PORT=$PA GRPC_PORT=0 AUTH_MODE=local daemons/build/mockarty-admin >>"$B/admin.log" 2>&1 &
  apid=$!
  local end=$(( $(date +%s) + 300 ))
  until curl -fsS "http://127.0.0.1:$PA/health/ready" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] && kill -0 "$apid" 2>/dev/null || { log "admin node not ready"; tail -20 "$B/admin.log" >&2; exit 1; }
    sleep 0.01
  done
}
stop_admin() { kill "$apid"; wait "$apid" 2>/dev/null || true; apid=""; }

mkdir -p bench/results
res=bench/results/latest.tsv
pair_header
rss=()

start_admin 1; check_body "$PA"
compare_pair "1 mock" 1 admin "$PN" "$PA"; rss+=("1 mock, THREADS=1: $(rss_mib "$apid") MiB")
stop_admin
start_admin 2; check_body "$PA"
compare_pair "1 mock" 2 admin "$PN2" "$PA"; rss+=("1 mock, THREADS=2: $(rss_mib "$apid") MiB")

log "loading $MOCKS mocks on other routes (batches of 10000)"
now_s() { date +%s.%N; }
t_load0=$(now_s)
done_n=0
while [ "$done_n" -lt "$MOCKS" ]; do
  n=$(( MOCKS - done_n < 10000 ? MOCKS - done_n : 10000 ))
  psqlq -c "SELECT mockarty.mock_batch_save(jsonb_agg(jsonb_build_object(
      'id', 'bulk-' || g, 'http', jsonb_build_object('route', '/svc' || (g % 997) || '/items/' || g || '/:sub', 'httpMethod', 'GET'),
      'response', jsonb_build_object('statusCode', 200, 'payload', jsonb_build_object('n', g)))))
    FROM generate_series($done_n + 1, $done_n + $n) g" >/dev/null
  done_n=$((done_n + n))
  printf '\r[bench] loaded %d / %d mocks' "$done_n" "$MOCKS" >&2
done
echo >&2
t_sql=$(now_s)
last="/svc$((MOCKS % 997))/items/$MOCKS/x"
for _ in $(seq 6000); do curl -fsS "http://127.0.0.1:$PA$last" >/dev/null 2>&1 && break; sleep 0.01; done
curl -fsS "http://127.0.0.1:$PA$last" >/dev/null || { log "admin node did not pick up the bulk mocks"; exit 1; }
t_served=$(now_s)
check_body "$PA"
compare_pair "$MOCKS mocks" 2 admin "$PN2" "$PA"; rss+=("$MOCKS mocks, THREADS=2: $(rss_mib "$apid") MiB")

# cold start: a fresh admin node (THREADS=1) loads every mock from mockarty.snapshot() before
# it is ready
stop_admin
t_cold0=$(now_s)
start_admin 1
t_cold=$(now_s)
curl -fsS "http://127.0.0.1:$PA$last" >/dev/null || { log "restarted admin node does not serve the bulk mocks"; exit 1; }
cold_rss=$(rss_mib "$apid")
check_body "$PA"
compare_pair "$MOCKS mocks" 1 admin "$PN" "$PA"; rss+=("$MOCKS mocks, THREADS=1: $(rss_mib "$apid") MiB")

echo
echo "admin node vs nginx, like for like: THREADS=n vs n workers, wrk -t$WRK_THREADS -c$CONNS -d$DURATION," \
  "medians of $ROUNDS alternating rounds per side, target >= ${TARGET}x$([ "$QUICK" = 1 ] && echo "; QUICK=1: a smoke check, not a measurement")"
column -t -s $'\t' "$res"
echo
printf 'admin RSS after each pair: %s\n' "$(IFS=';'; echo "${rss[*]}")"
awk -v a="$t_load0" -v b="$t_sql" -v c="$t_served" -v n="$MOCKS" \
  'BEGIN {printf "bulk load %d mocks: %.1f s in mock_batch_save, %.1f s until served\n", n, b-a, c-a}'
awk -v a="$t_cold0" -v b="$t_cold" -v n="$MOCKS" -v r="$cold_rss" \
  'BEGIN {printf "cold start with %d mocks (THREADS=1): %.1f s to ready, RSS %s MiB\n", n + 1, b-a, r}'
summary bench.sh
