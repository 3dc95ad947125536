#!/usr/bin/env bash
# stop.sh - `make stop`: stops the admin node and the local cluster started by `make run`.
set -uo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
if [ -f .local/admin.pid ]; then
  pid=$(cat .local/admin.pid)
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    echo "admin node stopped"
  fi
  rm -f .local/admin.pid
fi
if [ -f .local/pgdir ]; then
  $SUDO scripts/cluster.sh stop "$(cat .local/pgdir)" && echo "postgresql stopped"
fi
