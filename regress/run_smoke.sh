#!/usr/bin/env bash
# run_smoke.sh - the README's run command end to end: `make run` on free ports with its own
# home folder (so a developer's running instance is left alone), the guide's curl example
# for POST /mock/create with the printed token, the mock served, the local runner-agent
# connected, the first start's one-time admin password printed and good for a sign-in; a start
# that makes no progress (the mocks table locked, READY_STALL_SECONDS=3) fails and leaves no
# process behind; a slow start (100,000 mocks) is waited for with its progress shown; then
# `make stop` and nothing left listening on any of the four listeners (HTTP, gRPC coordinator,
# runner dashboard, PostgreSQL). Prints TAP.
set -uo pipefail
cd "$(dirname "$0")/.."
home=$(mktemp -d /tmp/mockarty-run.XXXXXX); chmod 755 "$home"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
hp=$(free_port); gp=$(free_port); rp=$(free_port)
n=0 fail=0
check() { n=$((n + 1)); if [ "$2" = "$3" ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; echo "#   expected: $2"; echo "#   actual:   $3"; fail=1; fi; }
cleanup() { MOCKARTY_HOME=$home make -s stop >/dev/null 2>&1; rm -rf "$home"; }
trap cleanup EXIT

out=$(MOCKARTY_HOME=$home HTTP_PORT=$hp GRPC_PORT=$gp RUNNER_DASHBOARD_PORT=$rp make -s run 2>&1)
check "make run exits 0" 0 $?
token=$(echo "$out" | grep -o 'mk_[0-9a-f]*_[0-9a-f]*' | head -1)
check "make run prints an mk_ admin token" yes "$([ -n "$token" ] && echo yes || echo no)"
otp=$(echo "$out" | sed -n 's/.*one-time password \([^ ]*\) .*/\1/p' | head -1)
check "make run prints the first start's one-time admin password" yes "$([ -n "$otp" ] && echo yes || echo no)"
check "signing in as admin with it works and asks for a password change" "200 true" "$(curl -s -o "$home/login.json" -w '%{http_code}' \
  -X POST "http://127.0.0.1:$hp/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d "{\"login\":\"admin\",\"password\":\"$otp\"}") $(python3 -c 'import json,sys; print(str(json.load(open(sys.argv[1])).get("requires_password_change")).lower())' "$home/login.json" 2>/dev/null)"
check "make run prints the admin URL" yes "$(echo "$out" | grep -q "http://127.0.0.1:$hp" && echo yes || echo no)"
check "make run starts a runner-agent connected to the coordinator" 200 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$rp/health/ready")"
code=$(curl -s -o "$home/create.json" -w '%{http_code}' -X POST "http://127.0.0.1:$hp/mock/create" \
  -H "Content-Type: application/json" -H "Authorization: Bearer $token" -d '{
"id": "ci-users-get",
"http": {
"route": "/api/users/:id",
"httpMethod": "GET"
},
"response": {
"statusCode": 200,
"payload": {
"id": "$.pathParam.id",
"name": "$.fake.FirstName",
"email": "$.fake.Email"
}
}
}')
check "the guide's POST /mock/create with the printed token answers 2xx" 2 "${code:0:1}"
body=$(curl -s "http://127.0.0.1:$hp/api/users/123")
check "GET /api/users/123 returns id \"123\", a first name and an e-mail" ok "$(echo "$body" | python3 -c '
import json, re, sys
b = json.load(sys.stdin)
ok = b.get("id") == "123" and re.fullmatch(r"[A-Z][a-z]+", b.get("name", "")) and re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", b.get("email", ""))
print("ok" if ok else "bad: %r" % b)' 2>&1)"

pgdir=$(cat "$home/pgdir")
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
psqlq() { as_pg psql -h "$pgdir/run" -p 5432 -U postgres -d mockarty -qAtX -v ON_ERROR_STOP=1 "$@"; }
tcp_open() { python3 -c 'import socket,sys; s=socket.socket(); s.settimeout(1); print("open" if s.connect_ex(("127.0.0.1",int(sys.argv[1])))==0 else "closed")' "$1"; }
# a pid counts as alive while it runs; a zombie (exited, not yet reaped by its new parent) is dead
pids_dead() {
  for p in "$@"; do
    kill -0 "$p" 2>/dev/null || continue
    [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" = Z ] && continue
    echo "alive: $p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-80)"; return
  done
  echo dead
}

# --- a start that makes no progress fails and leaves nothing behind
# (the admin node and runner of the first run are stopped by their pids; the cluster stays up)
first_pids="$(cat "$home/admin.pid") $(cat "$home/runner.pid")"
kill $first_pids 2>/dev/null
for _ in $(seq 1 100); do [ "$(pids_dead $first_pids)" = dead ] && break; sleep 0.1; done
PGAPPNAME=run-smoke-lock as_pg psql -h "$pgdir/run" -p 5432 -U postgres -d mockarty -qAtX \
  -c "BEGIN; LOCK TABLE mockarty_private.mocks IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(120); COMMIT" >/dev/null 2>&1 &
lock_pid=$!
for _ in $(seq 1 100); do
  [ "$(psqlq -c "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'run-smoke-lock' AND l.mode = 'AccessExclusiveLock' AND l.granted")" -ge 1 ] && break
  sleep 0.1
done
t0=$SECONDS
fout=$(MOCKARTY_HOME=$home HTTP_PORT=$hp GRPC_PORT=$gp RUNNER_DASHBOARD_PORT=$rp READY_STALL_SECONDS=3 make -s run 2>&1)
frc=$?
check "make run without progress (mocks table locked, READY_STALL_SECONDS=3) fails" yes "$([ $frc -ne 0 ] && echo yes || echo "no (exit $frc)")"
check "the failure names READY_STALL_SECONDS and took about 3 s, not the whole lock" yes \
  "$(echo "$fout" | grep -q 'no progress becoming ready for 3 s (READY_STALL_SECONDS' && [ $((SECONDS - t0)) -lt 60 ] && echo yes || echo "no: $(echo "$fout" | tail -3)")"
fpids=$(echo "$fout" | sed -n 's/.*stopped what it had started (pids: \([0-9 ]*\).*/\1/p')
check "the failed make run names the processes it stopped" yes "$([ -n "$fpids" ] && echo yes || echo "no: $(echo "$fout" | tail -2)")"
# (an orphan the init process has not reaped yet still answers kill -0: give it a moment)
for _ in $(seq 1 30); do [ "$(pids_dead $fpids)" = dead ] && break; sleep 0.1; done
check "no process of the failed make run is left" dead "$(pids_dead $fpids)"
check "nothing answers on the admin port after the failed make run" 000 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$hp/health/live")"
check "nothing listens on the gRPC port after the failed make run" closed "$(tcp_open "$gp")"
kill "$lock_pid" 2>/dev/null
psqlq -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'run-smoke-lock'" >/dev/null
wait "$lock_pid" 2>/dev/null

# --- a slow start is waited for, with its progress shown
done_n=0
while [ "$done_n" -lt 100000 ]; do
  psqlq -c "SELECT mockarty.mock_batch_save(jsonb_agg(jsonb_build_object(
      'id', 'bulk-' || g, 'http', jsonb_build_object('route', '/svc' || (g % 997) || '/items/' || g, 'httpMethod', 'GET'),
      'response', jsonb_build_object('statusCode', 200, 'payload', jsonb_build_object('n', g)))))
    FROM generate_series($done_n + 1, $done_n + 10000) g" >/dev/null
  done_n=$((done_n + 10000))
done
sout=$(MOCKARTY_HOME=$home HTTP_PORT=$hp GRPC_PORT=$gp RUNNER_DASHBOARD_PORT=$rp make -s run 2>&1)
check "make run with 100,000 mocks to load exits 0" 0 $?
check "make run shows the load progress (loaded N of 100001 mocks)" yes \
  "$(echo "$sout" | grep -Eq 'admin node: loaded [0-9]+ of 100001 mocks' && echo yes || echo "no: $(echo "$sout" | grep -i loaded | head -3)")"
check "the last bulk mock is served" 200 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$hp/svc$((100000 % 997))/items/100000")"

# --- make stop: all four listeners are up before, none after
check "the gRPC coordinator listens before make stop" open "$(tcp_open "$gp")"
check "PostgreSQL accepts connections before make stop" 0 "$(as_pg "${PGBIN:-/usr/lib/postgresql/15/bin}/pg_isready" -q -h "$pgdir/run" -p 5432; echo $?)"
MOCKARTY_HOME=$home make -s stop >/dev/null 2>&1
check "make stop exits 0" 0 $?
check "nothing answers on the admin port after make stop" 000 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$hp/health/live")"
check "nothing listens on the gRPC port after make stop" closed "$(tcp_open "$gp")"
check "nothing answers on the runner dashboard after make stop" 000 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$rp/health/live")"
check "PostgreSQL does not answer after make stop" 2 "$(as_pg "${PGBIN:-/usr/lib/postgresql/15/bin}/pg_isready" -q -h "$pgdir/run" -p 5432; echo $?)"
echo "1..$n"
exit $fail
