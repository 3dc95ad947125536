#!/usr/bin/env bash
# Starts PostgreSQL in the foreground with the mockarty database, initialising it once.
# POSTGRES_PASSWORD (required) is the password of role postgres for TCP clients.
set -euo pipefail
PGBIN=/usr/lib/postgresql/15/bin
D=${PGDATA:-/var/lib/postgresql/data}
if [ ! -f "$D/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
  "$PGBIN/initdb" -D "$D" -U postgres -E UTF8 --no-locale --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  echo "listen_addresses = '*'" >> "$D/postgresql.conf"
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$D/pg_hba.conf"
  "$PGBIN/pg_ctl" -D "$D" -w start -o "-c listen_addresses=''" >/dev/null
  psql -qX -U postgres -c "ALTER ROLE postgres PASSWORD '$POSTGRES_PASSWORD'"
  createdb -U postgres mockarty
  psql -qX -U postgres -d mockarty -c "CREATE EXTENSION mockarty CASCADE"
  "$PGBIN/pg_ctl" -D "$D" -w stop >/dev/null
fi
exec "$PGBIN/postgres" -D "$D"
