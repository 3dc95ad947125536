#!/usr/bin/env bash
# resolver-bench.sh - mock-resolver against nginx in the same run (this machine is shared and
# noisy; only ratios mean anything): PostgreSQL + admin node (coordinator on GRPC_PORT) + one
# resolver + nginx returning the same body.
#   1. req/s with 1 mock and with 100,000 mocks on other routes (wrk -t2 -c64 -d10s), ratio to nginx
#   2. resolver RSS after each
#   3. propagation latency p50/p99 over 1,000 sequential REST creates: POST /api/v1/mocks on the
#      admin node -> first correct answer from the resolver (polled back to back on one
#      keep-alive connection), measured from just before the POST
#   4. cold start: a second resolver started against 100,000 mocks, time until /health/ready
# Writes bench/results/resolver-latest.tsv. Knobs: DURATION (10s) THREADS (2) CONNS (64)
# MOCKS (100000) CREATES (1000), PORT_NGINX PORT_ADMIN PORT_GRPC PORT_RESOLVER PORT_RESOLVER2
# PORT_DASHBOARD PORT_DASHBOARD2 (free ports by default). Everything listens on 127.0.0.1 and every load
# run is bounded by DURATION.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s} THREADS=${THREADS:-2} CONNS=${CONNS:-64} MOCKS=${MOCKS:-100000}
CREATES=${CREATES:-1000}
# ports: free ones picked now unless given (the machine is shared with other runs)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PN=${PORT_NGINX:-$(free_port)} PA=${PORT_ADMIN:-$(free_port)} PG=${PORT_GRPC:-$(free_port)}
PR=${PORT_RESOLVER:-$(free_port)} PR2=${PORT_RESOLVER2:-$(free_port)}
PD=${PORT_DASHBOARD:-$(free_port)} PD2=${PORT_DASHBOARD2:-$(free_port)}
B=$(mktemp -d /tmp/mockarty-rbench.XXXXXX); chmod 755 "$B"
PATH_UNDER_TEST=/api/users/123
BODY='{"id":"123","name":"Alice","email":"alice@example.com"}'
log() { printf '[resolver-bench] %s\n' "$*" >&2; }
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
start_nginx

# --- database, admin node with its coordinator, a mock_resolver token
start_db
DB_DSN=$DSN HTTP_PORT=$PA GRPC_PORT=$PG AUTH_MODE=local daemons/build/mockarty-admin >"$B/admin.log" 2>&1 &
apid=$!; pids+=("$apid")
for _ in $(seq 200); do curl -fsS "http://127.0.0.1:$PA/health/ready" >/dev/null 2>&1 && break; sleep 0.1; done
TOKEN=$(psqlq -c "SELECT mockarty.integration_create('bench-resolver', 'mock_resolver')->>'token'")
case "$TOKEN" in mki_*) ;; *) log "could not create a mock_resolver token: $TOKEN"; exit 1 ;; esac

start_resolver() { # port dashboard-port name -> pid
  COORDINATOR_ADDR=127.0.0.1:$PG API_TOKEN=$TOKEN RESOLVER_NAME=$3 HTTP_PORT=$1 DASHBOARD_PORT=$2 \
    LOG_LEVEL=info daemons/build/mock-resolver >>"$B/resolver-$1.log" 2>&1 &
  echo $!
}
wait_ready() { # port timeout_s
  local end=$(( $(date +%s) + $2 ))
  until curl -fsS "http://127.0.0.1:$1/health/ready" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || { log "resolver on $1 not ready"; cat "$B/resolver-$1.log" >&2; exit 1; }
    sleep 0.01
  done
}
rpid=$(start_resolver "$PR" "$PD" resolver-bench-1); pids+=("$rpid")
wait_ready "$PR" 30

check_body "$PN"; check_body "$PR"
# (the whole curl output is captured first: grep -q in a pipe would end it early and, with
# pipefail, turn curl's SIGPIPE into a false failure)
ka=$(curl -sv "http://127.0.0.1:$PR$PATH_UNDER_TEST" "http://127.0.0.1:$PR$PATH_UNDER_TEST" 2>&1 >/dev/null)
grep -q 'Re-using existing connection' <<<"$ka" || { log "resolver does not keep connections alive"; exit 1; }


mkdir -p bench/results
res=bench/results/resolver-latest.tsv
printf 'metric\tserver\tvalue\tunit\tnote\n' > "$res"
scenario() { # name
  log "scenario $1: nginx"
  read -r n_rps n_p99 < <(run_wrk "$PN")
  log "scenario $1: mock-resolver"
  read -r r_rps r_p99 < <(run_wrk "$PR")
  local ratio; ratio=$(awk -v a="$r_rps" -v n="$n_rps" 'BEGIN {printf "%.2f", a/n}')
  printf 'req/s %s\tnginx\t%s\treq/s\tp99 %s ms\n' "$1" "$n_rps" "$n_p99" >> "$res"
  printf 'req/s %s\tmock-resolver\t%s\treq/s\tp99 %s ms, %sx nginx\n' "$1" "$r_rps" "$r_p99" "$ratio" >> "$res"
  printf 'rss %s\tmock-resolver\t%s\tMiB\t\n' "$1" "$(rss_mib "$rpid")" >> "$res"
  log "$1: resolver $r_rps req/s, nginx $n_rps req/s, ratio $ratio"
}

scenario "1 mock"

# --- propagation: create through REST, poll the resolver until it answers the new body
log "propagation over $CREATES sequential creates"
node --input-type=module - "$PA" "$PR" "$CREATES" > "$B/prop.txt" <<'JS'
import http from 'node:http';
const [pa, pr, n] = process.argv.slice(2).map(Number);
const agentA = new http.Agent({ keepAlive: true, maxSockets: 1 });
const agentR = new http.Agent({ keepAlive: true, maxSockets: 1 });
function req(port, agent, method, path, body) {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: '127.0.0.1', port, agent, method, path, headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
      let t = '';
      res.on('data', (d) => (t += d));
      res.on('end', () => resolve({ status: res.statusCode, text: t }));
    });
    r.on('error', reject);
    if (body) r.end(body); else r.end();
  });
}
const lat = [];
const run = Date.now();
for (let i = 0; i < n; i++) {
  const id = `prop-${run}-${i}`;
  const want = JSON.stringify({ i, run });
  const t0 = process.hrtime.bigint();
  const c = await req(pa, agentA, 'POST', '/api/v1/mocks', JSON.stringify({ id, http: { route: `/prop/${run}/${i}`, httpMethod: 'GET' }, response: { statusCode: 200, payload: { i, run } } }));
  if (c.status !== 200) { console.error('create failed', c.status, c.text); process.exit(1); }
  for (;;) {
    const g = await req(pr, agentR, 'GET', `/prop/${run}/${i}`);
    if (g.status === 200 && g.text === want) break;
    if (Number(process.hrtime.bigint() - t0) > 10e9) { console.error('not propagated within 10 s', id); process.exit(1); }
  }
  lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
lat.sort((a, b) => a - b);
const p = (q) => lat[Math.min(lat.length - 1, Math.ceil(q * lat.length) - 1)];
console.log(`${p(0.5).toFixed(2)} ${p(0.99).toFixed(2)} ${lat[lat.length - 1].toFixed(2)}`);
JS
read -r prop50 prop99 propmax < "$B/prop.txt"
printf 'propagation p50\tmock-resolver\t%s\tms\tREST create -> resolver answers it\n' "$prop50" >> "$res"
printf 'propagation p99\tmock-resolver\t%s\tms\tmax %s ms\n' "$prop99" "$propmax" >> "$res"
log "propagation p50 $prop50 ms, p99 $prop99 ms (max $propmax ms)"

# --- 100,000 mocks on other routes
log "loading $MOCKS mocks on other routes (batches of 10000)"
done_n=0
while [ "$done_n" -lt "$MOCKS" ]; do
  n=$(( MOCKS - done_n < 10000 ? MOCKS - done_n : 10000 ))
  psqlq -c "SELECT mockarty.mock_batch_save(jsonb_agg(jsonb_build_object(
      'id', 'bulk-' || g, 'http', jsonb_build_object('route', '/svc' || (g % 997) || '/items/' || g || '/:sub', 'httpMethod', 'GET'),
      'response', jsonb_build_object('statusCode', 200, 'payload', jsonb_build_object('n', g)))))
    FROM generate_series($done_n + 1, $done_n + $n) g" >/dev/null
  done_n=$((done_n + n))
  printf '\r[resolver-bench] loaded %d / %d mocks' "$done_n" "$MOCKS" >&2
done
echo >&2
last="/svc$((MOCKS % 997))/items/$MOCKS/x"
# bulk writes outrun the coordinator's change window, so the resolver may resync (a fresh
# snapshot) rather than follow deltas; give it up to 5 minutes and report how long it took
t0=$(date +%s%N)
for _ in $(seq 6000); do curl -fsS "http://127.0.0.1:$PR$last" >/dev/null 2>&1 && break; sleep 0.05; done
curl -fsS "http://127.0.0.1:$PR$last" >/dev/null || { log "resolver did not receive the bulk mocks"; tail -20 "$B/resolver-$PR.log" >&2; exit 1; }
catchup=$(( ($(date +%s%N) - t0) / 1000000 ))
printf 'catch-up after bulk load\tmock-resolver\t%s\tms\tlast batch committed -> resolver serves its last mock\n' "$catchup" >> "$res"
log "resolver caught up with the bulk load $catchup ms after the last batch"
check_body "$PR"
scenario "$MOCKS mocks"

# --- cold start of a second resolver against the full set
log "cold start with $MOCKS mocks"
t0=$(date +%s%N)
r2pid=$(start_resolver "$PR2" "$PD2" resolver-bench-2); pids+=("$r2pid")
wait_ready "$PR2" 60
t1=$(date +%s%N)
cold=$(( (t1 - t0) / 1000000 ))
check_body "$PR2"
loaded=$(curl -fsS "http://127.0.0.1:$PR2/metrics" | awk '/^mockarty_resolver_mocks_loaded/ {print $2}')
printf 'cold start to ready\tmock-resolver\t%s\tms\t%s mocks loaded\n' "$cold" "$loaded" >> "$res"
printf 'rss after cold start\tmock-resolver\t%s\tMiB\t\n' "$(rss_mib "$r2pid")" >> "$res"
printf 'rss\tmockarty-admin\t%s\tMiB\tfor reference\n' "$(rss_mib "$apid")" >> "$res"

echo
column -t -s $'\t' "$res"
echo
awk -F'\t' '$2=="mock-resolver" && $1 ~ /^req/ {print "ratio " substr($1, 7) ": " $5}' "$res"
