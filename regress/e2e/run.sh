#!/usr/bin/env bash
# run.sh - runs the end-to-end suite (regress/e2e/*.test.mjs) with node's built-in test
# runner and a TAP reporter; exits nonzero when any test fails. Needs the extension
# installed (make install) and daemons/build/mockarty-admin built (make daemons).
# Usage: regress/e2e/run.sh [file.test.mjs ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$#" -gt 0 ]; then
  exec node --test --test-reporter=tap --test-concurrency=1 "$@"
fi
exec node --test --test-reporter=tap --test-concurrency=1 regress/e2e/
