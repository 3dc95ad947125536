#!/usr/bin/env bash
# webhook-bench.sh - what a mock.resolved webhook costs the mock resolver, and how many events a
# second it delivers without losing any. Same run, same machine: PostgreSQL + admin node
# (coordinator, webhook engine) + one resolver (THREADS=2) + a local receiver answering 200 that
# counts what it gets. The resolver is measured at full load (wrk -t2 -c64) without and with one
# webhook subscribed to mock.resolved, alternately (off, on, off, on, ...), medians of req/s.
#
# Two figures, both asserted:
#  (a) serving loss at full load with the default event cap (WEBHOOK_EVENTS_MAX_RATE unset, 200/s;
#      ROUNDS pairs): median(on) / median(off) >= MIN_RATIO (0.90);
#  (b) the highest WEBHOOK_EVENTS_MAX_RATE in RATES (400 800 1600 3200 6400, after the default)
#      at which every event the resolver passed on is delivered and serving keeps >= MIN_RATIO of
#      its rate (SEARCH_ROUNDS pairs per rate; the search stops at the first rate that misses);
#      measured also when (a) misses, and asserted: at least MIN_LOSSLESS_RATE (200) events/s.
#
# What every "on" round checks (any miss fails the round), so that events cannot be off, late
# or lost unnoticed:
#  * the load starts only once the resolver pushes events (its
#    mockarty_webhook_resolved_events_enabled gauge is 1; it learns this from a ReportAck, so the
#    warm-up's traffic is what turns it on), and an "off" round only once it is 0;
#  * over the measured run, every request the resolver answered from a mock became an event:
#    queued or shed (requests_total{local} delta == events queued + shed), and the events queued
#    match the cap: between cap x (seconds - 1) and cap x (seconds + 1) - the cap was reached and
#    no event was shed below it (a full queue or a lost batch would take events from "queued");
#  * every event queued since the webhook was created is delivered: receiver count == deliveries
#    rows of the webhook == succeeded rows == the admin's delivery successes == events queued, with
#    no failed delivery; the resolver's shed count reached the admin
#    (mockarty_webhook_resolver_events_shed_total grew by as much);
#  * the delivery keeps up: all of it has arrived within DRAIN_MAX_S (5) s after the load ends;
#  * no non-2xx response or socket error in any round.
# Each window ("on" round) accounts for itself only: before its counters are read, the resolver
# has reported everything it served earlier (its mockarty_webhook_unreported and
# mockarty_webhook_shed_unreported gauges are 0, bounded wait) and the deliveries of earlier
# windows are done; its webhook posts to a path of its own (/hook/<window>), which the receiver
# counts apart, and its delivery rows are those of its own webhook.
# The events the cap sheds are by design (counted, never delivered); "none lost" means none of the
# events the resolver passed on went missing between it and the receiver.
#
# Writes bench/results/webhook-latest.tsv; exit 1 when (a) or (b) misses or any check fails.
# Knobs (see bench/lib.sh): QUICK=1 (2 s rounds, 1 pair each, RATES 800: a smoke check of the
# script, ratio targets not enforced), DURATION ROUNDS (3) WARMUP WRK_THREADS CONNS ENFORCE,
# SEARCH_ROUNDS (3), RATES, MIN_RATIO (0.90), MIN_LOSSLESS_RATE (200), DRAIN_MAX_S (5),
# SKIP_BUILD=1, KEEP=1.
# Runtime with the defaults about 8 minutes. Everything listens on 127.0.0.1; every load run is
# bounded by DURATION and every wait by a timeout.
set -euo pipefail
cd "$(dirname "$0")/.."
unset THREADS WEBHOOK_EVENTS_MAX_RATE
if [ "${QUICK:-0}" = 1 ]; then ROUNDS=${ROUNDS:-1} SEARCH_ROUNDS=${SEARCH_ROUNDS:-1} RATES=${RATES:-800}; fi
SEARCH_ROUNDS=${SEARCH_ROUNDS:-3} RATES=${RATES:-400 800 1600 3200 6400}
MIN_RATIO=${MIN_RATIO:-0.90} DRAIN_MAX_S=${DRAIN_MAX_S:-5} MIN_LOSSLESS_RATE=${MIN_LOSSLESS_RATE:-200}
DEFAULT_RATE=200 # the resolver's default WEBHOOK_EVENTS_MAX_RATE (docs/webhooks.md)
B=$(mktemp -d /tmp/mockarty-wbench.XXXXXX); chmod 755 "$B"
PATH_UNDER_TEST=/api/users/123
BODY='{"id":"123","name":"Alice","email":"alice@example.com"}'
log() { printf '[webhook-bench] %s\n' "$*" >&2; }
pids=() rpid=""
cleanup() {
  for p in "${pids[@]}" $rpid; do kill "$p" 2>/dev/null || true; done
  scripts/cluster.sh stop "$B/pg" 2>/dev/null || true
  [ "${KEEP:-0}" = 1 ] || rm -rf "$B"
}
trap cleanup EXIT

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  make -s all >/dev/null && make -s install >/dev/null
fi
source bench/lib.sh
PN=$(free_port) PA=$(free_port) PG=$(free_port) PR=$(free_port) PD=$(free_port) PX=$(free_port)
dur_s=${DURATION%s}
start_db

# the receiver: answers 200 at once, counts mock.resolved events per window (POST /hook/<w>);
# GET /count/<w> tells a window's count
node -e "
const n = new Map();
require('http').createServer((q, r) => {
  const w = q.url.split('/')[2] || '';
  if (q.method === 'GET') { r.end(String(n.get(w) || 0)); return; }
  let b = '';
  q.on('data', (d) => (b += d));
  q.on('end', () => { if (b.includes('\"mock.resolved\"')) n.set(w, (n.get(w) || 0) + 1); r.end('ok'); });
}).listen($PX, '127.0.0.1');
" & pids+=($!)

THREADS=2 DB_DSN=$DSN HTTP_PORT=$PA GRPC_PORT=$PG AUTH_MODE=local ALLOW_PROXY_TO_PRIVATE_IPS=true \
  daemons/build/mockarty-admin >"$B/admin.log" 2>&1 &
pids+=($!)
for _ in $(seq 300); do curl -fsS "http://127.0.0.1:$PA/health/ready" >/dev/null 2>&1 && break; sleep 0.1; done
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$PX/count" >/dev/null 2>&1 && break; sleep 0.1; done
TOKEN=$(psqlq -c "SELECT mockarty.integration_create('bench-resolver', 'mock_resolver')->>'token'")
case "$TOKEN" in mki_*) ;; *) log "could not create a mock_resolver token: $TOKEN"; exit 1 ;; esac

nres=0
start_resolver() { # rate ("" = the default): starts one on PR (sets rpid), waits until ready
  nres=$((nres + 1))
  local env=(THREADS=2 COORDINATOR_ADDR=127.0.0.1:$PG API_TOKEN=$TOKEN RESOLVER_NAME=wbench-$nres
             HTTP_PORT=$PR DASHBOARD_PORT=$PD LOG_LEVEL=warn)
  [ -n "$1" ] && env+=(WEBHOOK_EVENTS_MAX_RATE=$1)
  env "${env[@]}" daemons/build/mock-resolver >>"$B/resolver.log" 2>&1 &
  rpid=$!
  local end=$(( $(date +%s) + 30 ))
  until curl -fsS "http://127.0.0.1:$PR/health/ready" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] && kill -0 "$rpid" 2>/dev/null || { log "resolver not ready"; tail -20 "$B/resolver.log" >&2; exit 1; }
    sleep 0.05
  done
  check_body "$PR"
}
stop_resolver() { kill "$rpid"; wait "$rpid" 2>/dev/null || true; rpid=""; }

# metric port name: the value of one sample line ("name value" or "name{labels} value"), 0 if absent
metric() { curl -fsS "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 == n {v = $2} END {print v + 0}'; }
rmetric() { metric "$PR" "$1"; }
ametric() { metric "$PA" "$1"; }
received() { curl -fsS "http://127.0.0.1:$PX/count/$win"; } # events of this window
win=0
served_local() { rmetric 'mockarty_resolver_requests_total{result="local"}'; }

# Sends single requests (bounded: 10 s) until the resolver's events gauge is want (1 or 0); it
# learns the webhook's presence from the acks of the reports its traffic causes.
await_events() { # want
  local end=$(( $(date +%s) + 10 ))
  until [ "$(rmetric mockarty_webhook_resolved_events_enabled)" = "$1" ]; do
    [ "$(date +%s)" -lt "$end" ] || { miss "$label: the resolver's events gauge did not become $1 within 10 s"; return 1; }
    curl -fsS -o /dev/null "http://127.0.0.1:$PR$PATH_UNDER_TEST"; sleep 0.05
  done
}

# A check that missed: it fails the run for the default cap (a); in the search (b) it only marks
# the rate as not sustained.
searching=0
miss() { if [ "$searching" = 1 ]; then log "miss: $*"; else fail "$*"; fi; }

# Waits (bounded: 10 s) until the resolver has reported all it served so far: nothing queued,
# parked or in a Report without an ack, no shed count the admin has not heard of. Then the
# counters of both sides can be read as one window's baseline or end.
drain_resolver() {
  local end=$(( $(date +%s) + 10 ))
  until [ "$(rmetric mockarty_webhook_unreported)" = 0 ] && [ "$(rmetric mockarty_webhook_shed_unreported)" = 0 ]; do
    [ "$(date +%s)" -lt "$end" ] || { miss "$label: the resolver still holds unreported webhook work after 10 s"; return 1; }
    sleep 0.05
  done
}

HOOK=""
off_round() { # -> sets r_rps
  warmup "$PR"
  await_events 0 || true
  drain_resolver || true
  wait_quiet
  read -r r_rps p99 reqs errs < <(wrk_once "$PR")
  [ "$errs" = 0 ] || fail "$label: round without webhook had $errs error(s)"
  log "  $label, without webhook: $r_rps req/s (p99 $p99 ms)"
}

# One round with a mock.resolved webhook; cap = the resolver's WEBHOOK_EVENTS_MAX_RATE. Sets r_rps,
# w_queued (events queued in the measured run), w_delivered (since the webhook was created),
# w_drain (s from the end of the load until all delivered) and round_ok (0 when a check missed).
on_round() { # cap
  local cap=$1 q0 s0 as0 ok0 rc0 q1 s1 l1 q2 s2 l2 qe se ase oke rce rows good failed t_end
  round_ok=1
  # a window of its own: what earlier rounds served has reached the admin, and deliveries of
  # earlier windows are done (they would post to their own path anyway)
  drain_resolver || round_ok=0
  for _ in $(seq 100); do
    [ "$(psqlq -c "SELECT count(*) FROM mockarty_private.webhook_deliveries WHERE status IN ('pending', 'delivering')")" = 0 ] && break
    sleep 0.1
  done
  win=$((win + 1))
  q0=$(rmetric mockarty_webhook_events_queued_total) s0=$(rmetric mockarty_webhook_events_shed_total)
  as0=$(ametric mockarty_webhook_resolver_events_shed_total)
  ok0=$(ametric 'mockarty_webhook_deliveries_total{outcome="success"}') rc0=$(received)
  HOOK=$(psqlq -c "SELECT mockarty.webhook_create('{\"url\":\"http://127.0.0.1:$PX/hook/$win\",\"events\":[\"mock.resolved\"],\"secret\":\"bench\"}')->>'id'")
  warmup "$PR"
  await_events 1 || round_ok=0
  wait_quiet # (also lets the warm-up's in-flight requests finish before the counters are read)
  sleep 0.3
  q1=$(rmetric mockarty_webhook_events_queued_total) s1=$(rmetric mockarty_webhook_events_shed_total) l1=$(served_local)
  read -r r_rps p99 reqs errs < <(wrk_once "$PR")
  t_end=$(date +%s.%N)
  sleep 0.3
  q2=$(rmetric mockarty_webhook_events_queued_total) s2=$(rmetric mockarty_webhook_events_shed_total) l2=$(served_local)
  [ "$errs" = 0 ] || { fail "$label: round with webhook had $errs error(s)"; round_ok=0; }
  w_queued=$((q2 - q1))
  local w_shed=$((s2 - s1)) w_served=$((l2 - l1))
  if [ "$w_served" != $((w_queued + w_shed)) ] || [ "$w_served" -lt "$reqs" ] || [ "$w_served" -gt $((reqs + CONNS)) ]; then
    miss "$label: served $w_served (wrk counted $reqs) but events queued $w_queued + shed $w_shed"; round_ok=0
  fi
  local lo=$(( cap * (dur_s - 1) )) hi=$(( cap * (dur_s + 1) ))
  [ "$lo" -le "$w_served" ] || lo=$w_served # a cap above the serving rate passes everything
  if [ "$w_queued" -lt "$lo" ] || [ "$w_queued" -gt "$hi" ]; then
    miss "$label: $w_queued events queued in ${dur_s} s at a cap of $cap/s (expected $lo..$hi)"; round_ok=0
  fi
  # everything queued since the webhook was created arrives (bounded wait), and the shed count
  # reaches the admin
  local end; end=$(awk -v t="$t_end" -v m="$DRAIN_MAX_S" 'BEGIN {printf "%.3f", t + m}')
  qe=$(rmetric mockarty_webhook_events_queued_total)
  until [ $(( $(received) - rc0 )) -ge $((qe - q0)) ]; do
    awk -v e="$end" -v n="$(date +%s.%N)" 'BEGIN {exit !(n < e)}' || break
    sleep 0.05
  done
  w_drain=$(awk -v t="$t_end" -v n="$(date +%s.%N)" 'BEGIN {printf "%.1f", n - t}')
  for _ in $(seq 100); do # what is still late is waited for (10 s more), to tell late from lost
    [ $(( $(received) - rc0 )) -ge $((qe - q0)) ] && \
      [ "$(psqlq -c "SELECT count(*) FROM mockarty_private.webhook_deliveries WHERE webhook_id = '$HOOK' AND status IN ('pending', 'delivering')")" = 0 ] && \
      [ "$(rmetric mockarty_webhook_unreported)" = 0 ] && [ "$(rmetric mockarty_webhook_shed_unreported)" = 0 ] && break
    sleep 0.1
  done
  qe=$(rmetric mockarty_webhook_events_queued_total) se=$(rmetric mockarty_webhook_events_shed_total)
  ase=$(ametric mockarty_webhook_resolver_events_shed_total)
  oke=$(ametric 'mockarty_webhook_deliveries_total{outcome="success"}') rce=$(received)
  read -r rows good failed < <(psqlq -F' ' -c "SELECT count(*), count(*) FILTER (WHERE status = 'succeeded'),
      count(*) FILTER (WHERE status = 'failed') FROM mockarty_private.webhook_deliveries WHERE webhook_id = '$HOOK'")
  w_delivered=$((rce - rc0))
  local want=$((qe - q0))
  if [ "$w_delivered" != "$want" ] || [ "$rows" != "$want" ] || [ "$good" != "$want" ] || [ "$failed" != 0 ] || [ $((oke - ok0)) != "$want" ]; then
    miss "$label: $want events queued, $rows deliveries ($good succeeded, $failed failed), admin counted $((oke - ok0)) successes, receiver got $w_delivered"
    round_ok=0
  fi
  if [ $((ase - as0)) != $((se - s0)) ]; then
    miss "$label: resolver shed $((se - s0)) events, the admin heard of $((ase - as0))"; round_ok=0
  fi
  if awk -v d="$w_drain" -v m="$DRAIN_MAX_S" 'BEGIN {exit !(d > m)}'; then
    miss "$label: delivery fell behind: the last event arrived $w_drain s after the load (at most $DRAIN_MAX_S s)"; round_ok=0
  fi
  log "  $label, with webhook: $r_rps req/s (p99 $p99 ms); events in the run: $w_served served, $w_queued queued, $w_shed shed by the cap; $w_delivered delivered since the webhook was created ($want queued), all in ${w_drain} s after the load"
  psqlq -c "SELECT mockarty.webhook_delete('$HOOK')" >/dev/null
}

mkdir -p bench/results
res=bench/results/webhook-latest.tsv
printf 'cap_per_s\tpairs\treq_s_without\treq_s_with\tratio\tevents_queued_per_s\tdelivered\tmax_drain_s\tverdict\n' > "$res"

# measure_cap cap pairs -> sets cap_ok (1 when every round's checks passed and the ratio holds),
# cap_ratio; appends a row to $res
measure_cap() { # cap pairs
  local cap=$1 pairs=$2 i off=() on=() qs=() drains=() delivered=0 all_ok=1
  for ((i = 1; i <= pairs; i++)); do
    label="cap $cap/s, pair $i"
    off_round; off+=("$r_rps")
    on_round "$cap"; on+=("$r_rps"); qs+=("$w_queued"); drains+=("$w_drain")
    delivered=$((delivered + w_delivered)); [ "$round_ok" = 1 ] || all_ok=0
  done
  local m_off m_on qps
  m_off=$(median "${off[@]}") m_on=$(median "${on[@]}")
  cap_ratio=$(awk -v a="$m_on" -v b="$m_off" 'BEGIN {printf "%.3f", (b > 0 ? a/b : 0)}')
  qps=$(awk -v q="$(median "${qs[@]}")" -v d="$dur_s" 'BEGIN {printf "%.0f", q/d}')
  cap_ok=$all_ok cap_checks_ok=$all_ok
  awk -v a="$m_on" -v b="$m_off" -v m="$MIN_RATIO" 'BEGIN {exit !(b > 0 && a >= m * b)}' || cap_ok=0 # unrounded
  printf '%s\t%s\t%.0f\t%.0f\t%s\t%s\t%s\t%s\t%s\n' "$cap" "$pairs" "$m_off" "$m_on" "$cap_ratio" "$qps" \
    "$delivered" "$(printf '%s\n' "${drains[@]}" | sort -g | tail -1)" "$([ "$cap_ok" = 1 ] && echo PASS || echo FAIL)" >> "$res"
  log "cap $cap/s: ratio $cap_ratio (medians $m_on / $m_off req/s), $qps events/s queued, checks $([ "$all_ok" = 1 ] && echo passed || echo FAILED)"
}

# (a) the default cap
start_resolver ""
measure_cap "$DEFAULT_RATE" "$ROUNDS"
a_ratio=$cap_ratio a_ok=$cap_ok
# (a check that missed has already failed the run, naming itself)
if [ "$cap_checks_ok" = 1 ] && [ "$a_ok" != 1 ]; then
  if [ "$ENFORCE" = 1 ]; then fail "default cap ($DEFAULT_RATE/s): serving ratio $a_ratio < $MIN_RATIO"
  else log "default cap: serving ratio $a_ratio < $MIN_RATIO (not enforced: ENFORCE=0)"; fi
fi
stop_resolver

# (b) the highest cap that still delivers everything with serving loss <= 10%: measured whether
# or not (a) met its target, and asserted (at least MIN_LOSSLESS_RATE events/s)
best=""
[ "$a_ok" = 1 ] && best=$DEFAULT_RATE
searching=1
for rate in $RATES; do
  start_resolver "$rate"
  measure_cap "$rate" "$SEARCH_ROUNDS"
  stop_resolver
  [ "$cap_ok" = 1 ] || break
  best=$rate
done
b_ok=1
[ -n "$best" ] && [ "$best" -ge "$MIN_LOSSLESS_RATE" ] || b_ok=0
if [ "$b_ok" != 1 ]; then
  if [ "$ENFORCE" = 1 ]; then fail "no cap of at least $MIN_LOSSLESS_RATE/s delivered every event with serving loss <= 10% (highest: ${best:-none})"
  else log "(b) highest lossless cap ${best:-none} < $MIN_LOSSLESS_RATE/s (not enforced: ENFORCE=0)"; fi
fi

echo
echo "mock.resolved webhook on the resolver (THREADS=2), wrk -t$WRK_THREADS -c$CONNS -d$DURATION at full load, medians of alternating rounds without/with$([ "$QUICK" = 1 ] && echo "; QUICK=1: a smoke check, not a measurement")"
column -t -s $'\t' "$res"
echo
echo "(a) serving with the default cap ($DEFAULT_RATE/s): ${a_ratio}x the rate without the webhook (target >= $MIN_RATIO) and every check: $([ "$a_ok" = 1 ] && echo PASS || echo FAIL)$([ "$a_ok" != 1 ] && [ "$ENFORCE" != 1 ] && echo " (ratio not enforced: ENFORCE=0)")"
echo "(b) highest cap delivering every event it passes with serving loss <= 10% (of $DEFAULT_RATE $RATES): ${best:-none}/s (target >= $MIN_LOSSLESS_RATE/s): $([ "$b_ok" = 1 ] && echo PASS || echo FAIL)$([ "$b_ok" != 1 ] && [ "$ENFORCE" != 1 ] && echo " (not enforced: ENFORCE=0)")"
summary webhook-bench.sh
