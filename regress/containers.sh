#!/usr/bin/env bash
# containers.sh - the images of docker/ as the guide runs them, with Debian's podman.
#
# Builds mockarty/postgres, mockarty/admin, mockarty/mock-resolver and mockarty/runner-agent,
# brings up docker/compose.yaml (database + admin node, ports published on 127.0.0.1 only, on
# free ports), mints an admin token inside the database container, creates a mock_resolver and a
# test_runner integration with the guide's REST call, then starts a resolver and a runner with
# the guide's `docker run` examples (name, variables and images as written; the ports are
# published on 127.0.0.1 and free ones, and COORDINATOR_ADDR names the compose service "admin").
# Checks that each container starts, connects to the coordinator, answers its health check, and
# that the resolver serves a mock created over REST on the admin node.
# Without podman the whole file is reported as one skipped test (podman is optional: the rest of
# `make test` does not need it); docs/containers.md has the recipe for this kind of machine.
# Prints TAP; exits 0 when all pass. Everything started is removed at exit.
set -uo pipefail
cd "$(dirname "$0")/.."

if ! command -v podman >/dev/null 2>&1 || ! command -v podman-compose >/dev/null 2>&1; then
	echo "1..1"
	echo "ok 1 - container images # SKIP podman and podman-compose are not installed (apt-get install podman podman-compose aardvark-dns runc)"
	exit 0
fi
export CONTAINERS_CONF=${CONTAINERS_CONF:-$(mktemp /tmp/mockarty-containers.XXXXXX.conf)}
[ -s "$CONTAINERS_CONF" ] || printf '[containers]\ndefault_ulimits = []\n' >"$CONTAINERS_CONF"
P=(podman --runtime /usr/sbin/runc --cgroup-manager=cgroupfs)
ID=mk$$
N=0
FAIL=0
ok() { N=$((N + 1)); echo "ok $N - $1"; }
nok() { N=$((N + 1)); echo "not ok $N - $1"; FAIL=1; [ -n "${2:-}" ] && sed 's/^/#   /' <<<"$2" | tail -n 25; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# wait_for what timeout_s cmd...: polls cmd every 0.5 s until it succeeds
wait_for() {
	local what=$1 t=$2; shift 2
	local end=$((SECONDS + t))
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.5
	done
}
HTTP=$(free_port) GRPC=$(free_port) RHTTP=$(free_port) RDASH=$(free_port) RUNDASH=$(free_port)
cleanup() {
	"${P[@]}" rm -f -t 2 "mockarty-resolver-$ID" "mockarty-runner-$ID" >/dev/null 2>&1
	(cd docker && ADMIN_HTTP_PORT=$HTTP ADMIN_GRPC_PORT=$GRPC podman-compose -p "$ID" down -v >/dev/null 2>&1)
	"${P[@]}" volume rm -f "${ID}_pgdata" >/dev/null 2>&1
	"${P[@]}" network rm -f "${ID}_default" >/dev/null 2>&1
	# every run re-tags the four images: the ones it untagged (and their build stages) would
	# otherwise pile up, run after run (hundreds of GB on a developer's machine)
	"${P[@]}" image prune -f --filter label=mockarty.test=1 >/dev/null 2>&1
}
trap cleanup EXIT INT TERM

# 1. the base image: Debian from the apt mirror (no registry is reachable here)
if ! "${P[@]}" image exists docker.io/library/debian:12; then
	command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null
	mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
	root=$(mktemp -d /tmp/mockarty-rootfs.XXXXXX)
	debootstrap --variant=minbase bookworm "$root" "${mirror:-http://deb.debian.org/debian}" >/dev/null 2>&1 &&
		tar -C "$root" -c . | "${P[@]}" import - docker.io/library/debian:12 >/dev/null
	rm -rf "$root"
fi

# 2. the four images
build() { # name dockerfile [target]
	local log
	if log=$("${P[@]}" build --format docker --network=host --pull=never --label mockarty.test=1 -f "$2" ${3:+--target "$3"} -t "$1" . 2>&1); then
		ok "image $1 builds"
	else
		nok "image $1 builds" "$log"
	fi
}
build mockarty/postgres docker/postgres.Dockerfile
build mockarty/admin docker/Dockerfile admin
build mockarty/mock-resolver docker/Dockerfile resolver
build mockarty/runner-agent docker/Dockerfile runner
[ $FAIL = 0 ] || { echo "1..$N"; exit 1; }

# 3. database + admin node from the compose file
log=$(cd docker && ADMIN_HTTP_PORT=$HTTP ADMIN_GRPC_PORT=$GRPC podman-compose -p "$ID" up -d 2>&1)
ADMIN=http://127.0.0.1:$HTTP
if wait_for "admin ready" 120 curl -fsS "$ADMIN/health/ready"; then
	ok "compose: the database and the admin node start; /health/ready passes on the published port"
else
	nok "compose: the database and the admin node start; /health/ready passes on the published port" \
		"$log
$("${P[@]}" logs "${ID}_admin_1" 2>&1 | tail -n 10)"
	echo "1..$N"; exit 1
fi
TOKEN=$("${P[@]}" exec "${ID}_db_1" psql -qAtX -U postgres -d mockarty -c "SELECT mockarty.token_create('containers') ->> 'token'" 2>&1)
case $TOKEN in mk_*) ok "an admin token is minted in the database container" ;; *) nok "an admin token is minted in the database container" "$TOKEN" ;; esac
AUTH=(-H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json")
curl -fsS "${AUTH[@]}" -X POST "$ADMIN/api/v1/mocks" \
	-d '{"id":"containers-ping","http":{"route":"/containers/ping","httpMethod":"GET"},"response":{"statusCode":200,"payload":{"pong":true}}}' >/dev/null \
	&& ok "a mock is created over REST on the admin node" || nok "a mock is created over REST on the admin node"
integration() { # type name -> token
	curl -fsS "${AUTH[@]}" -X POST "$ADMIN/ui/api/integrations" -d "{\"name\":\"$2\",\"type\":\"$1\"}" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
RTOK=$(integration mock_resolver resolver-docker)
UTOK=$(integration test_runner runner-docker)
case "$RTOK $UTOK" in mki_*" "mki_*) ok "the guide's POST /ui/api/integrations gives a resolver and a runner token" ;;
*) nok "the guide's POST /ui/api/integrations gives a resolver and a runner token" "$RTOK $UTOK" ;; esac

# 4. the guide's resolver example
out=$("${P[@]}" run -d \
	--name "mockarty-resolver-$ID" --network "${ID}_default" \
	-e COORDINATOR_ADDR="admin:5773" \
	-e API_TOKEN="$RTOK" \
	-e RESOLVER_NAME="resolver-docker" \
	-e HTTP_PORT="5780" \
	-p "127.0.0.1:$RHTTP:5780" \
	-p "127.0.0.1:$RDASH:6780" \
	mockarty/mock-resolver:latest 2>&1)
if wait_for "resolver ready" 60 curl -fsS "http://127.0.0.1:$RHTTP/health/ready"; then
	ok "resolver container: connected to the coordinator, /health/ready passes on 5780"
else
	nok "resolver container: connected to the coordinator, /health/ready passes on 5780" \
		"$out
$("${P[@]}" logs "mockarty-resolver-$ID" 2>&1 | tail -n 10)"
fi
body=$(curl -sS "http://127.0.0.1:$RHTTP/containers/ping")
[ "$body" = '{"pong":true}' ] && ok "the resolver container serves the mock created on the admin node" \
	|| nok "the resolver container serves the mock created on the admin node" "$body"
curl -fsS "http://127.0.0.1:$RDASH/api/status" | grep -q '"resolver-docker"\|resolver-docker' \
	&& ok "the resolver's dashboard answers on 6780" || nok "the resolver's dashboard answers on 6780"

# 5. the guide's runner example
out=$("${P[@]}" run -d \
	--name "mockarty-runner-$ID" --network "${ID}_default" \
	-e COORDINATOR_ADDR="admin:5773" \
	-e API_TOKEN="$UTOK" \
	-e RUNNER_NAME="runner-docker" \
	-e SHARED="true" \
	-e CAPABILITIES="api_test,performance" \
	-e MAX_CONCURRENT="10" \
	-p "127.0.0.1:$RUNDASH:6770" \
	mockarty/runner-agent:latest 2>&1)
if wait_for "runner ready" 60 curl -fsS "http://127.0.0.1:$RUNDASH/health/ready"; then
	ok "runner container: connected to the coordinator, /health/ready passes on 6770"
else
	nok "runner container: connected to the coordinator, /health/ready passes on 6770" \
		"$out
$("${P[@]}" logs "mockarty-runner-$ID" 2>&1 | tail -n 10)"
fi
status=$(curl -fsS "http://127.0.0.1:$RUNDASH/api/status")
grep -q '"connected":true' <<<"$status" && grep -q '"runner-docker"' <<<"$status" \
	&& ok "the runner's dashboard shows it connected as runner-docker" \
	|| nok "the runner's dashboard shows it connected as runner-docker" "$status"

echo "1..$N"
exit $FAIL
