#!/usr/bin/env bash
# bench.sh - `make bench`: wrk against the admin node and against nginx returning the same
# body, in the same run, because this machine is shared and noisy and only ratios mean
# anything. Scenarios: 1 mock; 100,000 mocks on other routes. For each it prints req/s,
# p99 latency, the server's RSS and the ratio to nginx, and writes bench/results/latest.tsv.
# It also times the bulk load (mock_batch_save in batches of 10,000, then until the admin
# node serves the last mock) and a cold start (admin node start -> ready with all mocks).
# Knobs: DURATION (10s) THREADS (2) CONNS (64) MOCKS (100000) PORT_ADMIN (18090) PORT_NGINX (18080)
# Everything listens on 127.0.0.1; every load run is bounded by DURATION.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
DURATION=${DURATION:-10s} THREADS=${THREADS:-2} CONNS=${CONNS:-64} MOCKS=${MOCKS:-100000}
PA=${PORT_ADMIN:-18090} PN=${PORT_NGINX:-18080}
B=$(mktemp -d /tmp/mockarty-bench.XXXXXX); chmod 755 "$B"
PATH_UNDER_TEST=/api/users/123
BODY='{"id":"123","name":"Alice","email":"alice@example.com"}'
log() { printf '[bench] %s\n' "$*" >&2; }
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  scripts/cluster.sh stop "$B/pg" 2>/dev/null || true
}
trap cleanup EXIT

scripts/install-deps.sh bench
make -s all >/dev/null && make -s install >/dev/null

source bench/lib.sh
start_nginx

# --- database + admin node (AUTH_MODE=local: the benchmark measures serving, not auth)
start_db
DB_DSN=$DSN HTTP_PORT=$PA GRPC_PORT=0 AUTH_MODE=local daemons/build/mockarty-admin >"$B/admin.log" 2>&1 &
apid=$!; pids+=("$apid")
for _ in $(seq 200); do curl -fsS "http://127.0.0.1:$PA/health/ready" >/dev/null 2>&1 && break; sleep 0.1; done

check_body "$PN"; check_body "$PA"


mkdir -p bench/results
res=bench/results/latest.tsv
printf 'scenario\tserver\treq_per_s\tp99_ms\trss_mib\tratio_to_nginx\n' > "$res"
scenario() { # name
  log "scenario $1: nginx"
  read -r n_rps n_p99 < <(run_wrk "$PN")
  log "scenario $1: mockarty-admin"
  read -r a_rps a_p99 < <(run_wrk "$PA")
  local ratio; ratio=$(awk -v a="$a_rps" -v n="$n_rps" 'BEGIN {printf "%.2f", a/n}')
  printf '%s\tnginx\t%s\t%s\t%s\t1.00\n' "$1" "$n_rps" "$n_p99" "$(rss_mib "$(cat "$B/nginx/nginx.pid")")" >> "$res"
  printf '%s\tmockarty-admin\t%s\t%s\t%s\t%s\n' "$1" "$a_rps" "$a_p99" "$(rss_mib "$apid")" "$ratio" >> "$res"
}

scenario "1 mock"

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
scenario "$MOCKS mocks"

# cold start: a fresh admin node loads every mock from mockarty.snapshot() before it is ready
kill "$apid"; wait "$apid" 2>/dev/null || true
t_cold0=$(now_s)
DB_DSN=$DSN HTTP_PORT=$PA GRPC_PORT=0 AUTH_MODE=local daemons/build/mockarty-admin >"$B/admin2.log" 2>&1 &
apid=$!; pids+=("$apid")
for _ in $(seq 12000); do curl -fsS "http://127.0.0.1:$PA/health/ready" >/dev/null 2>&1 && break; sleep 0.01; done
t_cold=$(now_s)
curl -fsS "http://127.0.0.1:$PA$last" >/dev/null || { log "restarted admin node does not serve the bulk mocks"; exit 1; }
cold_rss=$(rss_mib "$apid")

echo
column -t -s $'\t' "$res"
echo
awk -F'\t' '$2=="mockarty-admin" {print "ratio " $1 ": " $6 "x nginx, RSS " $5 " MiB"}' "$res"
awk -v a="$t_load0" -v b="$t_sql" -v c="$t_served" -v n="$MOCKS" \
  'BEGIN {printf "bulk load %d mocks: %.1f s in mock_batch_save, %.1f s until served\n", n, b-a, c-a}'
awk -v a="$t_cold0" -v b="$t_cold" -v n="$MOCKS" -v r="$cold_rss" \
  'BEGIN {printf "cold start with %d mocks: %.1f s to ready, RSS %s MiB\n", n + 1, b-a, r}'
