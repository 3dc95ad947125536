#!/bin/sh
# pg_dump_roundtrip.sh - proves that pg_dump keeps everything mockarty needs.
#
# Creates cluster A, installs the extension, writes mocks, stores, a token and
# some resolve state with SQL, dumps A with pg_dump, restores into a fresh
# cluster B, and checks that the same mockarty.resolve() calls give the same
# responses in both (same use counters, oneOf cursors and stores), that the
# change-log head survived, and that the token still verifies; then starts the
# admin node on the restored database and checks that it serves the same mocks
# over HTTP and accepts the restored token (MOCKARTY_ADMIN_BIN, default
# daemons/build/mockarty-admin; skipped with a "not ok" when it is missing).
# Clusters live in a temp dir and listen on a unix socket only.
# Run as postgres (as root it re-executes itself through runuser).
# Prints TAP-like "ok"/"not ok" lines; exits 0 when all pass.
set -eu

if [ "$(id -u)" = 0 ]; then
	exec runuser -u postgres -- sh "$(readlink -f "$0")" "$@"
fi

BIN=${PGBIN:-$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)}
T=$(mktemp -d /tmp/mockarty-dump.XXXXXX)
FAIL=0
N=0

cleanup() {
	for c in a b; do
		[ -f "$T/$c/postmaster.pid" ] && "$BIN/pg_ctl" -D "$T/$c" -m immediate -w stop >/dev/null 2>&1 || true
	done
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

start_cluster() {
	"$BIN/initdb" -A trust --nosync -U postgres --no-locale -E UTF8 -D "$T/$1" >/dev/null
	"$BIN/pg_ctl" -D "$T/$1" -l "$T/$1.log" -w \
		-o "-c listen_addresses='' -c unix_socket_directories='$T' -c port=$2 -c fsync=off -c shared_preload_libraries=mockarty" \
		start >/dev/null
}

check() { # name, expected, actual
	N=$((N + 1))
	if [ "$2" = "$3" ]; then
		echo "ok $N - $1"
	else
		echo "not ok $N - $1"
		echo "#   expected: $2"
		echo "#   actual:   $3"
		FAIL=1
	fi
}

PA=54391
PB=54392
start_cluster a $PA
start_cluster b $PB
A="$BIN/psql -X -q -At -v ON_ERROR_STOP=1 -h $T -p $PA -U postgres -d src"
B="$BIN/psql -X -q -At -v ON_ERROR_STOP=1 -h $T -p $PB -U postgres -d dst"
"$BIN/createdb" -h "$T" -p $PA -U postgres src
"$BIN/createdb" -h "$T" -p $PB -U postgres dst

if ! $A >/dev/null 2>"$T/setup.err" <<'SQL'
CREATE EXTENSION mockarty CASCADE;
SELECT mockarty.namespace_create('qa');
SELECT mockarty.mock_batch_save($$[
 {"id":"user","http":{"route":"/api/users/:id","httpMethod":"GET"},"response":{"statusCode":200,"payload":{"id":"$.pathParam.id","n":"$.fake.FirstName"}}},
 {"id":"seq","http":{"route":"/seq"},"oneOf":{"order":"order","responses":[{"statusCode":200,"payload":1},{"statusCode":200,"payload":2},{"statusCode":200,"payload":3}]}},
 {"id":"lim","useLimiter":3,"http":{"route":"/lim"},"response":{"statusCode":200,"payload":"ok"}},
 {"id":"cnt","namespace":"qa","chainId":"c","http":{"route":"/cnt","httpMethod":"POST"},
  "extract":{"gStore":{"hits":"$.increment($.gS.hits)"},"cStore":{"last":"$.req.id"}},
  "response":{"statusCode":200,"payload":{"hits":"$.gS.hits","last":"$.cS.last"}}},
 {"id":"gone","http":{"route":"/gone"},"response":{"statusCode":200}}
]$$);
SELECT mockarty.mock_delete('gone');
SELECT mockarty.folder_save('{"id":"f1","name":"F"}');
SELECT mockarty.tag_create('qa', 'kept');
SELECT mockarty.store_global_set('sandbox', 'k', '"v"');
SELECT mockarty.resolve('sandbox', 'GET', '/seq');
SELECT mockarty.resolve('sandbox', 'GET', '/lim');
SELECT mockarty.resolve('sandbox', 'GET', '/lim');
SELECT mockarty.resolve('qa', 'POST', '/cnt', '', '{}', '{"id":"a"}');
SELECT mockarty.resolve('sandbox', 'GET', '/nothing');
CREATE TABLE public.tok AS SELECT mockarty.token_create('ci')->>'token' AS t;
SQL
then
	echo "not ok 1 - setting up the source database"
	sed 's/^/#   /' "$T/setup.err"
	exit 1
fi

# (pg_dump warns about the self-referencing folders table; rows of one table
# are checked at the end of its COPY, so the order inside it does not matter)
"$BIN/pg_dump" -h "$T" -p $PA -U postgres -Fc -f "$T/dump" src 2>"$T/dump.err"
if "$BIN/pg_restore" -h "$T" -p $PB -U postgres -d dst --exit-on-error "$T/dump" 2>"$T/restore.err"; then
	check "pg_restore into a fresh cluster succeeds" "0" "0"
else
	check "pg_restore into a fresh cluster succeeds" "0" "1"
	sed 's/^/#   /' "$T/restore.err"
fi

# The same calls, in the same order, against both databases.
CALLS="SELECT mockarty.resolve('sandbox', 'GET', '/api/users/7', seed => 5);
SELECT mockarty.resolve('sandbox', 'GET', '/seq');
SELECT mockarty.resolve('sandbox', 'GET', '/seq');
SELECT coalesce(mockarty.resolve('sandbox', 'GET', '/lim')::text, 'miss');
SELECT coalesce(mockarty.resolve('sandbox', 'GET', '/lim')::text, 'miss');
SELECT mockarty.resolve('qa', 'POST', '/cnt', '', '{}', '{\"id\":\"b\"}');
SELECT coalesce(mockarty.resolve('sandbox', 'GET', '/gone')::text, 'miss');
SELECT mockarty.store_global_get('sandbox');
SELECT mockarty.store_chain_get('qa', 'c');
SELECT (SELECT jsonb_agg(u->'count') FROM jsonb_array_elements(mockarty.undefined_list()) u);
SELECT mockarty.head_version();
SELECT mockarty.namespace_list();
SELECT mockarty.tag_list('qa');
SELECT jsonb_array_length(mockarty.folder_list());
SELECT jsonb_array_length(mockarty.mock_versions('seq'));
SELECT (SELECT count(*) FROM mockarty.snapshot());"
OUT_A=$(echo "$CALLS" | $A)
OUT_B=$(echo "$CALLS" | $B)
check "resolve, stores, change log and metadata agree after restore" "$OUT_A" "$OUT_B"
check "the oneOf cursor survived (second and third responses)" "2
3" "$(echo "$OUT_B" | sed -n '2,3p' | sed 's/.*"payload": \([0-9]\).*/\1/')"
check "the use limit survived (one match left, then a miss)" "ok
miss" "$(echo "$OUT_B" | sed -n '4,5p' | sed 's/.*"payload": "\(ok\)".*/\1/')"
check "the token verifies in the restored database" "ci" \
	"$($B -c "SELECT mockarty.token_verify(t)->>'name' FROM public.tok")"
check "writes continue the change log without a gap" "t" \
	"$($B -c "SELECT mockarty.mock_save('{\"id\":\"new\",\"http\":{\"route\":\"/new\"},\"response\":{\"statusCode\":200}}') IS NOT NULL; SELECT max(version) = count(*) FROM mockarty_private.change_log" | tail -1)"

# The admin node on the restored database serves what SQL resolves there.
ADMIN=${MOCKARTY_ADMIN_BIN:-$(dirname "$(readlink -f "$0")")/../daemons/build/mockarty-admin}
if [ -x "$ADMIN" ]; then
	HP=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	DB_DSN="host=$T port=$PB dbname=dst user=postgres" HTTP_PORT=$HP GRPC_PORT=0 THREADS=2 "$ADMIN" >"$T/admin.log" 2>&1 &
	APID=$!
	i=0
	until curl -fsS "http://127.0.0.1:$HP/health/ready" >/dev/null 2>&1 || [ $i -ge 200 ]; do
		i=$((i + 1))
		sleep 0.05
	done
	want=$($B -c "SELECT mockarty.resolve('sandbox', 'GET', '/api/users/9', seed => 5)->'payload'" |
		python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin), sort_keys=True))')
	got=$(curl -sS -H 'X-Mockarty-Seed: 5' "http://127.0.0.1:$HP/api/users/9" |
		python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin), sort_keys=True))' 2>&1)
	check "the admin node on the restored database serves the same response as SQL" "$want" "$got"
	check "a mock deleted before the dump stays deleted over HTTP" "404" \
		"$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HP/gone")"
	check "the restored token is accepted by the admin node" "200" \
		"$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $($B -c 'SELECT t FROM public.tok')" \
			"http://127.0.0.1:$HP/api/v1/mocks/user")"
	kill $APID 2>/dev/null
	wait $APID 2>/dev/null || true
else
	check "admin node binary present ($ADMIN)" "yes" "no"
fi

echo "1..$N"
exit $FAIL
