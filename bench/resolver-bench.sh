#!/usr/bin/env bash
# resolver-bench.sh - mock-resolver against nginx returning the same body, like for like, in the
# same run (this machine is shared and noisy; only ratios measured side by side mean anything):
# PostgreSQL + admin node (coordinator on GRPC_PORT) + one resolver + nginx with 1 and 2 workers.
#   1. req/s: the resolver with THREADS=1 against nginx with 1 worker and THREADS=2 against 2
#      workers, with 1 mock and with MOCKS (100,000) mocks on other routes; per pair a warm-up of
#      each, then ROUNDS rounds per side in alternation (nginx, resolver, ...; wrk -t2 -c64
#      -d10s --latency), medians of req/s and p99. Each server's answer is checked with curl
#      first (status 200, application/json, exactly nginx's bytes); a round with any non-2xx
#      response or socket error fails. Target: >= TARGET (0.80) x nginx for every pair.
#   2. resolver RSS after each pair
#   3. propagation latency p50/p99 over CREATES (1,000) sequential REST creates: POST
#      /api/v1/mocks on the admin node -> first correct answer from the resolver (THREADS=2,
#      polled back to back on one keep-alive connection), measured from just before the POST.
#      Target: p99 <= PROP_P99_MAX_MS (50).
#   4. cold start: a resolver (THREADS=1) started against the MOCKS mocks, time until
#      /health/ready
# Exit 1 when a target is missed (performance targets only with ENFORCE=1, the default outside
# QUICK mode). Prints a table and writes bench/results/resolver-latest.tsv (pairs) and
# bench/results/resolver-other.tsv (propagation, catch-up, cold start, RSS).
# Knobs (see bench/lib.sh): QUICK=1 (2 s rounds, 2 per side, 10,000 mocks, 100 creates; a smoke
# check of the script), DURATION ROUNDS WARMUP WRK_THREADS CONNS TARGET ENFORCE, MOCKS, CREATES,
# PROP_P99_MAX_MS, SKIP_BUILD=1, KEEP=1. Runtime with the defaults about 8 minutes.
# Everything listens on 127.0.0.1 (free ports); every load run is bounded by DURATION.
set -euo pipefail
cd "$(dirname "$0")/.."
unset THREADS
if [ "${QUICK:-0}" = 1 ]; then MOCKS=${MOCKS:-10000} CREATES=${CREATES:-100}
else MOCKS=${MOCKS:-100000} CREATES=${CREATES:-1000}; fi
PROP_P99_MAX_MS=${PROP_P99_MAX_MS:-50}
B=$(mktemp -d /tmp/mockarty-rbench.XXXXXX); chmod 755 "$B"
PATH_UNDER_TEST=/api/users/123
BODY='{"id":"123","name":"Alice","email":"alice@example.com"}'
log() { printf '[resolver-bench] %s\n' "$*" >&2; }
pids=() rpid=""
cleanup() {
  for p in "${pids[@]}" $rpid; do kill "$p" 2>/dev/null || true; done
  scripts/cluster.sh stop "$B/pg" 2>/dev/null || true
  [ "${KEEP:-0}" = 1 ] || rm -rf "$B"
}
trap cleanup EXIT

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  scripts/install-deps.sh bench
  make -s all >/dev/null && make -s install >/dev/null
fi

source bench/lib.sh
PN=$(free_port) PN2=$(free_port) PA=$(free_port) PG=$(free_port) PR=$(free_port) PD=$(free_port)
start_nginx 1 "$PN"
start_nginx 2 "$PN2"
check_body "$PN"; check_body "$PN2"

# --- database, admin node with its coordinator (THREADS=2), a mock_resolver token
start_db
THREADS=2 DB_DSN=$DSN HTTP_PORT=$PA GRPC_PORT=$PG AUTH_MODE=local daemons/build/mockarty-admin >"$B/admin.log" 2>&1 &
apid=$!; pids+=("$apid")
for _ in $(seq 300); do curl -fsS "http://127.0.0.1:$PA/health/ready" >/dev/null 2>&1 && break; sleep 0.1; done
TOKEN=$(psqlq -c "SELECT mockarty.integration_create('bench-resolver', 'mock_resolver')->>'token'")
case "$TOKEN" in mki_*) ;; *) log "could not create a mock_resolver token: $TOKEN"; exit 1 ;; esac

nres=0
start_resolver() { # threads timeout_s: starts one on PR (sets rpid), waits (bounded) until ready
  nres=$((nres + 1))
  THREADS=$1 COORDINATOR_ADDR=127.0.0.1:$PG API_TOKEN=$TOKEN RESOLVER_NAME=resolver-bench-$nres HTTP_PORT=$PR \
    DASHBOARD_PORT=$PD LOG_LEVEL=info daemons/build/mock-resolver >>"$B/resolver.log" 2>&1 &
  rpid=$!
  local end=$(( $(date +%s) + $2 ))
  until curl -fsS "http://127.0.0.1:$PR/health/ready" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] && kill -0 "$rpid" 2>/dev/null || { log "resolver not ready"; tail -20 "$B/resolver.log" >&2; exit 1; }
    sleep 0.01
  done
}
stop_resolver() { kill "$rpid"; wait "$rpid" 2>/dev/null || true; rpid=""; }

mkdir -p bench/results
res=bench/results/resolver-latest.tsv
other=bench/results/resolver-other.tsv
pair_header
printf 'metric\tvalue\tunit\tnote\n' > "$other"
rss=()

start_resolver 1 30
check_body "$PR"
# (the whole curl output is captured first: grep -q in a pipe would end it early and, with
# pipefail, turn curl's SIGPIPE into a false failure)
ka=$(curl -sv "http://127.0.0.1:$PR$PATH_UNDER_TEST" "http://127.0.0.1:$PR$PATH_UNDER_TEST" 2>&1 >/dev/null)
grep -q 'Re-using existing connection' <<<"$ka" || { log "resolver does not keep connections alive"; exit 1; }
compare_pair "1 mock" 1 resolver "$PN" "$PR"; rss+=("1 mock, THREADS=1: $(rss_mib "$rpid") MiB")
stop_resolver
start_resolver 2 30
check_body "$PR"
compare_pair "1 mock" 2 resolver "$PN2" "$PR"; rss+=("1 mock, THREADS=2: $(rss_mib "$rpid") MiB")

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
printf 'propagation p50\t%s\tms\tREST create -> resolver (THREADS=2) answers it, %s creates\n' "$prop50" "$CREATES" >> "$other"
printf 'propagation p99\t%s\tms\tmax %s ms; target <= %s ms\n' "$prop99" "$propmax" "$PROP_P99_MAX_MS" >> "$other"
log "propagation p50 $prop50 ms, p99 $prop99 ms (max $propmax ms)"
if awk -v p="$prop99" -v m="$PROP_P99_MAX_MS" 'BEGIN {exit !(p <= m)}'; then prop_verdict=PASS
else
  prop_verdict=FAIL
  if [ "$ENFORCE" = 1 ]; then fail "propagation p99 $prop99 ms > $PROP_P99_MAX_MS ms"
  else log "propagation p99 $prop99 ms > $PROP_P99_MAX_MS ms (not enforced: ENFORCE=0)"; fi
fi

# --- MOCKS mocks on other routes
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
curl -fsS "http://127.0.0.1:$PR$last" >/dev/null || { log "resolver did not receive the bulk mocks"; tail -20 "$B/resolver.log" >&2; exit 1; }
catchup=$(( ($(date +%s%N) - t0) / 1000000 ))
printf 'catch-up after bulk load\t%s\tms\tlast batch committed -> resolver serves its last mock\n' "$catchup" >> "$other"
log "resolver caught up with the bulk load $catchup ms after the last batch"
check_body "$PR"
compare_pair "$MOCKS mocks" 2 resolver "$PN2" "$PR"; rss+=("$MOCKS mocks, THREADS=2: $(rss_mib "$rpid") MiB")

# --- cold start of a resolver (THREADS=1) against the full set, then its pair
stop_resolver
log "cold start with $MOCKS mocks"
t0=$(date +%s%N)
start_resolver 1 120
cold=$(( ($(date +%s%N) - t0) / 1000000 ))
check_body "$PR"
curl -fsS "http://127.0.0.1:$PR$last" >/dev/null || { log "restarted resolver does not serve the bulk mocks"; exit 1; }
loaded=$(curl -fsS "http://127.0.0.1:$PR/metrics" | awk '/^mockarty_resolver_mocks_loaded/ {print $2}')
printf 'cold start to ready\t%s\tms\t%s mocks loaded, THREADS=1\n' "$cold" "$loaded" >> "$other"
printf 'rss after cold start\t%s\tMiB\t\n' "$(rss_mib "$rpid")" >> "$other"
compare_pair "$MOCKS mocks" 1 resolver "$PN" "$PR"; rss+=("$MOCKS mocks, THREADS=1: $(rss_mib "$rpid") MiB")
printf 'rss mockarty-admin\t%s\tMiB\tfor reference\n' "$(rss_mib "$apid")" >> "$other"

echo
echo "mock-resolver vs nginx, like for like: THREADS=n vs n workers, wrk -t$WRK_THREADS -c$CONNS -d$DURATION," \
  "medians of $ROUNDS alternating rounds per side, target >= ${TARGET}x$([ "$QUICK" = 1 ] && echo "; QUICK=1: a smoke check, not a measurement")"
column -t -s $'\t' "$res"
echo
column -t -s $'\t' "$other"
echo "propagation p99 $prop99 ms, target <= $PROP_P99_MAX_MS ms: $prop_verdict"
printf 'resolver RSS after each pair: %s\n' "$(IFS=';'; echo "${rss[*]}")"
summary resolver-bench.sh
