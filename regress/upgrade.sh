#!/bin/sh
# upgrade.sh - proves that ALTER EXTENSION mockarty UPDATE keeps a filled database and
# yields the schema of a fresh install.
#
# Cluster with two databases: "old" installs the frozen 0.1.0 (sql/mockarty--0.1.0.sql),
# is filled through the SQL API (mocks in two namespaces, a store, a folder, a user token, an
# integration token, a collection, a queued task, a webhook subscription), then updated with
# ALTER EXTENSION mockarty UPDATE; "fresh" installs the default version. Checks: \dx shows the
# default version, every row of the fill is still there and works (the token verifies, the
# mock resolves, the task is still claimable), and the two schemas are equal: both
# extensions' member objects are detached from their extension (ALTER EXTENSION ... DROP), so
# that pg_dump --schema-only prints them, and the two dumps are compared line for line.
# Run as postgres (as root it re-executes itself through runuser). Prints TAP; exits 0 when
# all pass. The cluster listens on a unix socket in a temp dir only.
set -eu

if [ "$(id -u)" = 0 ]; then
	exec runuser -u postgres -- env PGBIN="${PGBIN:-}" sh "$(readlink -f "$0")" "$@"
fi

BIN=${PGBIN:-}
[ -n "$BIN" ] || BIN=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
T=$(mktemp -d /tmp/mockarty-upgrade.XXXXXX)
N=0
FAIL=0
cleanup() {
	[ -f "$T/data/postmaster.pid" ] && "$BIN/pg_ctl" -D "$T/data" -m immediate -w stop >/dev/null 2>&1 || true
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

check() { # name, expected, actual
	N=$((N + 1))
	if [ "$2" = "$3" ]; then
		echo "ok $N - $1"
	else
		echo "not ok $N - $1"
		echo "#   expected: $2" | head -c 2000
		echo "#   actual:   $3" | head -c 2000
		echo
		FAIL=1
	fi
}

"$BIN/initdb" -A trust --nosync -U postgres --no-locale -E UTF8 -D "$T/data" >/dev/null
"$BIN/pg_ctl" -D "$T/data" -l "$T/pg.log" -w \
	-o "-c listen_addresses='' -c unix_socket_directories='$T' -c port=54393 -c fsync=off" start >/dev/null
PSQL="$BIN/psql -X -q -At -v ON_ERROR_STOP=1 -h $T -p 54393 -U postgres"
"$BIN/createdb" -h "$T" -p 54393 -U postgres old
"$BIN/createdb" -h "$T" -p 54393 -U postgres fresh
OLD="$PSQL -d old"
FRESH="$PSQL -d fresh"

default=$($OLD -c "SELECT default_version FROM pg_available_extensions WHERE name = 'mockarty'")
$OLD -c "SET client_min_messages = warning" -c "CREATE EXTENSION mockarty VERSION '0.1.0' CASCADE"
check "0.1.0 installs from its frozen script" "0.1.0" "$($OLD -c "SELECT extversion FROM pg_extension WHERE extname = 'mockarty'")"

# Fill 0.1.0 through its SQL API only.
$OLD >/dev/null <<'SQL'
SELECT mockarty.namespace_create('qa');
SELECT mockarty.folder_save('{"id":"f1","name":"Users"}');
SELECT mockarty.mock_save('{"id":"ping","http":{"route":"/ping"},"response":{"payload":"pong"}}');
SELECT mockarty.mock_save('{"id":"qa-user","folderId":"f1","tags":["users"],"http":{"route":"/users/:id","httpMethod":"GET"},"response":{"statusCode":200,"payload":{"id":"$.pathParam.id"}}}', 'qa');
SELECT mockarty.mock_save('{"id":"ping","http":{"route":"/ping"},"response":{"payload":"pong v2"}}');
SELECT mockarty.mock_save('{"id":"gone","http":{"route":"/gone"},"response":{"payload":"x"}}');
SELECT mockarty.mock_delete('gone');
SELECT mockarty.store_global_set('qa', 'counter', '41');
SQL
token=$($OLD -c "SELECT mockarty.token_create('upgrade-check') ->> 'token'")
itok=$($OLD -c "SELECT mockarty.integration_create('runner-ci', 'test_runner') ->> 'token'")
coll=$($OLD -c "SELECT mockarty.collection_create('qa', 'Users API', '{\"info\":{\"name\":\"users\"},\"item\":[{\"name\":\"get\",\"request\":{\"method\":\"GET\",\"url\":\"http://127.0.0.1/users/1\"}}]}') ->> 'id'")
task=$($OLD -c "SELECT mockarty.test_run_start('$coll') ->> 'id'")
$OLD -c "SELECT mockarty.webhook_create('{\"url\":\"http://127.0.0.1:9/hook\",\"events\":[\"mock.created\"]}', 'qa')" >/dev/null
before=$($OLD -c "SELECT mockarty.head_version()")

$OLD -c "ALTER EXTENSION mockarty UPDATE"
check "ALTER EXTENSION UPDATE reaches the default version ($default)" "$default" \
	"$($OLD -c "SELECT extversion FROM pg_extension WHERE extname = 'mockarty'")"
check "\\dx lists mockarty at $default" "1" "$($OLD -c '\dx mockarty' | grep -c "^mockarty|$default|")"

# The fill survived and still works.
check "mocks survive with their namespaces" "gone:sandbox ping:sandbox qa-user:qa" \
	"$($OLD -c "SELECT string_agg((m ->> 'id') || ':' || (m ->> 'namespace'), ' ' ORDER BY m ->> 'id') FROM (SELECT mockarty.mock_get(id) AS m FROM unnest(ARRAY['ping','qa-user','gone']) id) s")"
check "the soft-deleted mock stays deleted" "f" "$($OLD -c "SELECT mockarty.mock_get('gone', false) IS NOT NULL")"
check "mock versions survive" "2" "$($OLD -c "SELECT jsonb_array_length(mockarty.mock_versions('ping'))")"
check "change log head survives" "$before" "$($OLD -c "SELECT mockarty.head_version()")"
check "a mock still resolves after the update" "pong v2" \
	"$($OLD -c "SELECT mockarty.resolve('sandbox', 'GET', '/ping') ->> 'payload'")"
check "the store survives" "41" "$($OLD -c "SELECT mockarty.store_global_get('qa') ->> 'counter'")"
check "the user token still verifies" "t" "$($OLD -c "SELECT mockarty.token_verify('$token') IS NOT NULL")"
check "the integration token still verifies" "t" "$($OLD -c "SELECT mockarty.integration_verify('$itok') IS NOT NULL")"
check "the queued task is still offered to a runner" "1" \
	"$($OLD -c "SELECT count(*) FROM mockarty.task_offers('qa', true, ARRAY['api_test']) o WHERE o::text LIKE '%$task%'")"
check "the webhook subscription survives" "1" "$($OLD -c "SELECT count(*) FROM mockarty.webhook_list('qa')")"
check "the folder survives" "Users" "$($OLD -c "SELECT mockarty.folder_list('sandbox') -> 0 ->> 'name'")"

# Same schema as a fresh install: detach members, dump, compare.
$FRESH -c "SET client_min_messages = warning" -c "CREATE EXTENSION mockarty CASCADE"
detach() { # db
	$PSQL -d "$1" >/dev/null <<'SQL'
DO $$
DECLARE r record;
BEGIN
	FOR r IN
		SELECT o.type, o.identity
		FROM pg_depend d CROSS JOIN LATERAL pg_identify_object(d.classid, d.objid, d.objsubid) o
		WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
		  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'mockarty')
	LOOP
		EXECUTE format('ALTER EXTENSION mockarty DROP %s %s', r.type, r.identity);
	END LOOP;
END $$;
SQL
}
detach old
detach fresh
# (\restrict lines carry a random key per dump)
"$BIN/pg_dump" -h "$T" -p 54393 -U postgres --schema-only -N public old | grep -v '^\\\(un\)\?restrict ' >"$T/old.sql"
"$BIN/pg_dump" -h "$T" -p 54393 -U postgres --schema-only -N public fresh | grep -v '^\\\(un\)\?restrict ' >"$T/fresh.sql"
members=$(grep -c '^CREATE FUNCTION mockarty\.' "$T/fresh.sql" || true)
check "the dump of a fresh install shows its functions (members detached)" "yes" "$([ "$members" -gt 50 ] && echo yes || echo "no ($members)")"
if diff -u "$T/fresh.sql" "$T/old.sql" >"$T/schema.diff"; then
	check "updated schema equals a fresh $default install (pg_dump --schema-only)" same same
else
	check "updated schema equals a fresh $default install (pg_dump --schema-only)" same "differs:"
	sed 's/^/#   /' "$T/schema.diff" | head -n 60
fi

echo "1..$N"
exit $FAIL
