#!/usr/bin/env bash
# stop.sh - `make stop`: stops the runner-agent, the admin node and the local cluster started by
# `make run`.
set -uo pipefail
cd "$(dirname "$0")/.."
local_dir=${MOCKARTY_HOME:-$PWD/.local}
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
if [ -f "$local_dir/runner.pid" ]; then
  pid=$(cat "$local_dir/runner.pid")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    echo "runner-agent stopped"
  fi
  rm -f "$local_dir/runner.pid"
fi
if [ -f "$local_dir/admin.pid" ]; then
  pid=$(cat "$local_dir/admin.pid")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    echo "admin node stopped"
  fi
  rm -f "$local_dir/admin.pid"
fi
if [ -f "$local_dir/pgdir" ]; then
  $SUDO scripts/cluster.sh stop "$(cat "$local_dir/pgdir")" && echo "postgresql stopped"
fi
