#!/usr/bin/env bash
# run_smoke.sh - the README's run command end to end: `make run` on free ports with its own
# home folder (so a developer's running instance is left alone), the guide's curl example
# for POST /mock/create with the printed token, the mock served, the local runner-agent
# connected, then `make stop` and nothing left listening. Prints TAP.
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
MOCKARTY_HOME=$home make -s stop >/dev/null 2>&1
check "make stop exits 0" 0 $?
check "nothing answers on the admin port after make stop" 000 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$hp/health/live")"
check "nothing answers on the runner dashboard after make stop" 000 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$rp/health/live")"
echo "1..$n"
exit $fail
