#!/usr/bin/env bash
# test-all.sh - `make test`: every test of the platform, from a clean checkout, as root or
# as a user with sudo. Installs what is missing, builds, installs the extension, then runs
#   1. core unit tests, the protobuf codec round trip and the daemons' library tests (cmocka, TAP)
#   2. pg_regress + isolation specs against a temporary instance (as the postgres user)
#   3. the pg_dump round trip (regress/pg_dump_roundtrip.sh) and `make run` (regress/run_smoke.sh)
#   4. end-to-end tests over real HTTP (node --test, regress/e2e)
# and ends with one line "N passed, N failed, N skipped" counting every individual test: a TAP
# "# SKIP" or "# TODO" directive and node's skipped / todo tests count as skipped, node's
# cancelled tests (a timeout, a parent that failed first) count as failed, and a suite that fails
# to run counts as one failure. Tests do not skip for a missing package: they install it through
# scripts/install-deps.sh (regress/e2e/lib/deps.mjs) and fail when that does not work.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
logdir=$(mktemp -d /tmp/mockarty-test.XXXXXX)
chmod 755 "$logdir"
passed=0 failed=0 skipped=0

# A TAP result line's verdict: skip when it carries a SKIP or TODO directive, else pass / fail.
tap_awk_verdict='
  function verdict(line) {
    if (line ~ /#[ \t]*([Ss][Kk][Ii][Pp]|[Tt][Oo][Dd][Oo])/) return "s"
    return line ~ /^[ \t]*not ok/ ? "f" : "p"
  }'
count_tap() { # file: counts "ok" / "not ok" TAP lines (top level and subtests)
  local p f s
  read -r p f s < <(awk "$tap_awk_verdict"'
    /^[ \t]*(not )?ok [0-9]+/ { n[verdict($0)]++ }
    END { print n["p"] + 0, n["f"] + 0, n["s"] + 0 }' "$1")
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  echo "[test] $2: $p passed, $f failed, $s skipped"
}
count_tap_top() { # file: leaf TAP lines only (a line is a leaf unless a deeper level precedes it)
  local p f s
  read -r p f s < <(awk "$tap_awk_verdict"'
    { match($0, /^ */); d = RLENGTH }
    /^ *(not )?ok [0-9]+/ { leaf = !(d < last); if (leaf) n[verdict($0)]++ }
    /^ *(not )?ok [0-9]+|^ *# Subtest|^ *[0-9]+\.\.[0-9]+/ { last = d }
    END { print n["p"] + 0, n["f"] + 0, n["s"] + 0 }' "$1")
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  echo "[test] $2: $p passed, $f failed, $s skipped"
}
suite_failed() { failed=$((failed + 1)); echo "[test] $1: FAILED to run (see $2)"; tail -n 30 "$2"; }

scripts/install-deps.sh || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }
if ! { make -s all && $SUDO make -s install; } >"$logdir/build.log" 2>&1; then
  cat "$logdir/build.log"; echo "0 passed, 1 failed, 0 skipped"; exit 1
fi

# 1. core
for t in core/build/test_*; do
  [ -x "$t" ] || continue
  (cd core/test && CMOCKA_MESSAGE_OUTPUT=TAP timeout 300 "../../$t") >"$logdir/$(basename "$t").tap" 2>&1
  rc=$?
  count_tap "$logdir/$(basename "$t").tap" "core $(basename "$t")"
  if [ $rc -ne 0 ] && ! grep -qE '^\s*not ok' "$logdir/$(basename "$t").tap"; then suite_failed "core $(basename "$t")" "$logdir/$(basename "$t").tap"; fi
done

# 1a. the core protobuf <-> JSON codec against python3-protobuf's json_format (10,000 messages)
timeout 600 regress/protobuf/roundtrip.sh >"$logdir/pb_roundtrip.tap" 2>&1
rc=$?
count_tap "$logdir/pb_roundtrip.tap" "core protobuf codec round trip"
if [ $rc -ne 0 ] && ! grep -qE '^\s*not ok' "$logdir/pb_roundtrip.tap"; then suite_failed "core protobuf codec round trip" "$logdir/pb_roundtrip.tap"; fi

# 1b. the daemons' libraries: API-test engine (daemons/tester), load generator (daemons/loadgen),
#     shared daemon modules (daemons/common/test: OpenTelemetry trace context and sampling)
for lib in tester loadgen common/test; do
  tap="$logdir/${lib//\//_}.tap"
  timeout 300 make -s -C "daemons/$lib" test >"$tap" 2>&1
  rc=$?
  count_tap "$tap" "daemons/$lib"
  if [ $rc -ne 0 ] && ! grep -qE '^\s*not ok' "$tap"; then suite_failed "daemons/$lib" "$tap"; fi
done

# 2. pg_regress + isolation (the temp instance refuses root: run as postgres on a copy)
rm -rf "$logdir/regress-tree"; mkdir -p "$logdir/regress-tree"
cp -a extension sql regress core "$logdir/regress-tree/"
chown -R postgres:postgres "$logdir/regress-tree" 2>/dev/null || true
timeout 900 runuser -u postgres -- make -C "$logdir/regress-tree/extension" installcheck >"$logdir/regress.log" 2>&1
rc=$?
p=$(grep -cE '\.\.\. ok|^ok [0-9]+' "$logdir/regress.log" || true)
f=$(grep -cE '\.\.\. FAILED|^not ok [0-9]+' "$logdir/regress.log" || true)
passed=$((passed + p)); failed=$((failed + f))
echo "[test] pg_regress + isolation: $p passed, $f failed"
if [ $rc -ne 0 ]; then
  [ "$f" -eq 0 ] && suite_failed "pg_regress" "$logdir/regress.log"
  find "$logdir/regress-tree" -name regression.diffs -exec head -n 80 {} \;
fi

# 3. pg_dump round trip
# (run from the postgres-owned copy: the checkout itself may be closed to that user)
if [ -x regress/pg_dump_roundtrip.sh ]; then
  install -m 755 -o postgres daemons/build/mockarty-admin "$logdir/regress-tree/mockarty-admin" 2>/dev/null \
    || cp daemons/build/mockarty-admin "$logdir/regress-tree/mockarty-admin"
  MOCKARTY_ADMIN_BIN="$logdir/regress-tree/mockarty-admin" \
    timeout 600 "$logdir/regress-tree/regress/pg_dump_roundtrip.sh" >"$logdir/pgdump.tap" 2>&1
  rc=$?
  count_tap "$logdir/pgdump.tap" "pg_dump round trip"
  [ $rc -ne 0 ] && ! grep -qE '^\s*not ok' "$logdir/pgdump.tap" && suite_failed "pg_dump round trip" "$logdir/pgdump.tap"
fi

# 3a. ALTER EXTENSION UPDATE from every earlier release on a filled database (regress/upgrade.sh)
cp regress/upgrade.sh "$logdir/regress-tree/regress/upgrade.sh"
timeout 300 "$logdir/regress-tree/regress/upgrade.sh" >"$logdir/upgrade.tap" 2>&1
rc=$?
count_tap "$logdir/upgrade.tap" "extension update"
[ $rc -ne 0 ] && ! grep -qE '^\s*not ok' "$logdir/upgrade.tap" && suite_failed "extension update" "$logdir/upgrade.tap"
grep -A12 -E '^not ok' "$logdir/upgrade.tap"

# 3a'. every path docs/contributing.md names exists
regress/docs_paths.sh >"$logdir/docs.tap" 2>&1
count_tap "$logdir/docs.tap" "contributor's page paths"
grep -E '^not ok' "$logdir/docs.tap"

# 3b. the README's run command: make run on free ports, the guide's example, make stop
timeout 600 regress/run_smoke.sh >"$logdir/run.tap" 2>&1
rc=$?
count_tap "$logdir/run.tap" "make run smoke"
[ $rc -ne 0 ] && ! grep -qE '^\s*not ok' "$logdir/run.tap" && suite_failed "make run smoke" "$logdir/run.tap"
grep -A3 -E '^not ok' "$logdir/run.tap"

# 3c. the container images as the guide runs them (podman; reported as skipped where it is absent)
timeout 1800 regress/containers.sh >"$logdir/containers.tap" 2>&1
rc=$?
count_tap "$logdir/containers.tap" "container images"
grep -E '# SKIP' "$logdir/containers.tap"
[ $rc -ne 0 ] && ! grep -qE '^\s*not ok' "$logdir/containers.tap" && suite_failed "container images" "$logdir/containers.tap"
grep -A25 -E '^not ok' "$logdir/containers.tap"

# the npm packages of the gRPC and end-to-end tests (regress/e2e/package-lock.json)
if ! scripts/e2e-deps.sh >"$logdir/npm.log" 2>&1; then
  suite_failed "npm ci in regress/e2e" "$logdir/npm.log"
fi

# 4. gRPC transport contract (C client, @grpc/grpc-js, python3-grpcio against the test server)
timeout 900 regress/grpc/run.sh >"$logdir/grpc.tap" 2>&1
rc=$?
count_tap_top "$logdir/grpc.tap" "gRPC transport"
[ $rc -ne 0 ] && ! grep -qE '^\s*not ok' "$logdir/grpc.tap" && suite_failed "gRPC transport" "$logdir/grpc.tap"

# 5. end to end
if ls regress/e2e/*.test.mjs >/dev/null 2>&1; then
  timeout 1800 node --test --test-reporter=tap --test-concurrency=1 regress/e2e/ >"$logdir/e2e.tap" 2>&1
  rc=$?
  # node's TAP reporter ends with "# pass N", "# fail N", "# cancelled N", "# skipped N" and
  # "# todo N", counting tests, not suites (pass counts neither skipped nor todo tests)
  summary() { local v; v=$(sed -nE "s/^# $1 ([0-9]+)\$/\\1/p" "$logdir/e2e.tap" | tail -n1); echo "${v:-0}"; }
  p=$(summary pass); f=$(summary fail); c=$(summary cancelled); sk=$(summary skipped); td=$(summary todo)
  passed=$((passed + p)); failed=$((failed + f + c)); skipped=$((skipped + sk + td))
  echo "[test] end to end: $p passed, $((f + c)) failed ($c cancelled), $((sk + td)) skipped ($td todo)"
  grep -B2 -A25 -E '^\s*not ok' "$logdir/e2e.tap" | head -n 200
  [ $rc -ne 0 ] && [ $((f + c)) -eq 0 ] && suite_failed "end to end" "$logdir/e2e.tap"
fi

echo "logs: $logdir"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
