#!/usr/bin/env bash
# coordinator_py.sh - runs regress/e2e/coordinator_grpcio.py (Debian's python3-grpcio, gRPC
# C-core) against the real coordinator: starts PostgreSQL + an admin node with the e2e harness
# (lib/harness.mjs), creates the tokens and a seed mock over REST, runs the Python peer, stops
# the stack. Prints TAP; exits nonzero when a check fails. Needs the extension installed
# (make install), daemons/build/mockarty-admin built and /usr/bin/python3 with python3-grpcio.
# Usage: regress/e2e/coordinator_py.sh          (env: COORD_PY_TIMEOUT seconds, default 120)
set -uo pipefail
cd "$(dirname "$0")/../.."
export MOCKARTY_ROOT=$PWD
limit=${COORD_PY_TIMEOUT:-120}

# The launcher prints one JSON line with the stack's coordinates, then keeps the stack up until
# its stdin closes (so the stack is torn down even when this script is interrupted).
coproc STACK { exec node --input-type=module -e '
  const { startStack } = await import(process.env.MOCKARTY_ROOT + "/regress/e2e/lib/harness.mjs");
  const s = await startStack();
  const mk = async (name, type) => (await s.api("POST", "/ui/api/integrations", { name, type })).body.token;
  const seed = await s.api("POST", "/api/v1/mocks", { id: "py-pre", http: { route: "/py-pre", httpMethod: "GET" },
    response: { payload: { ok: true } } });
  if (seed.status !== 200) throw new Error("seed mock: " + seed.text);
  console.log(JSON.stringify({ addr: s.grpcAddr, url: s.url, mk: s.token,
    resolver: await mk("py-resolver", "mock_resolver"), runner: await mk("py-runner", "test_runner") }));
  process.stdin.resume();
  process.stdin.on("end", async () => { await s.stop(); process.exit(0); });
' 2>&1; }

if ! IFS= read -r -t 60 line <&"${STACK[0]}" || [[ "$line" != "{"* ]]; then
  echo "TAP version 13"; echo "1..1"; echo "not ok 1 - start the stack # ${line:-no output}"
  timeout 5 cat <&"${STACK[0]}" | sed "s/^/# /"; exit 1
fi
field() { node -e 'console.log(JSON.parse(process.argv[1])[process.argv[2]])' "$line" "$1"; }
COORD_ADDR=$(field addr) ADMIN_URL=$(field url) MK_TOKEN=$(field mk) RESOLVER_TOKEN=$(field resolver) \
  RUNNER_TOKEN=$(field runner) DESC=daemons/grpc/build/gen/mockarty-grpc.desc \
  timeout "$limit" /usr/bin/python3 regress/e2e/coordinator_grpcio.py
rc=$?
exec {STACK[1]}>&-   # closing the launcher's stdin stops the stack
wait "$STACK_PID" 2>/dev/null
exit $rc
