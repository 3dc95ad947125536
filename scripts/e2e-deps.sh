#!/usr/bin/env bash
# e2e-deps.sh - installs the npm packages of the end-to-end tests (regress/e2e/package-lock.json)
# when node_modules is missing or was installed from another lock file. Used by
# scripts/test-all.sh and regress/grpc/run.sh; prints npm's output only when it fails.
set -euo pipefail
cd "$(dirname "$0")/../regress/e2e"
want=$(sha256sum package-lock.json | cut -d' ' -f1)
have=$(cat node_modules/.mockarty-lock-sha256 2>/dev/null || true)
[ "$want" = "$have" ] && exit 0
log=$(mktemp)
if timeout 600 npm ci --no-audit --no-fund >"$log" 2>&1; then
  echo "$want" > node_modules/.mockarty-lock-sha256
  rm -f "$log"
else
  cat "$log" >&2; rm -f "$log"; exit 1
fi
