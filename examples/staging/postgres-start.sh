#!/bin/sh
# First start: a cluster, role `launch` (may create the scratch databases backups are verified in)
# and database `trading` with its books; then PostgreSQL in the foreground.
set -eu
BIN=/usr/lib/postgresql/15/bin
DATA=/var/lib/postgresql/staging
OPTS="-c listen_addresses=127.0.0.1 -p 8732 -c unix_socket_directories=/tmp"
if [ ! -s "$DATA/PG_VERSION" ]; then
  "$BIN/initdb" -D "$DATA" -A trust -U postgres >/dev/null
  "$BIN/pg_ctl" -D "$DATA" -o "$OPTS" -w start >/dev/null
  psql -h 127.0.0.1 -p 8732 -U postgres -q -c "create role launch login createdb" \
       -c "create database trading owner launch"
  psql -h 127.0.0.1 -p 8732 -U launch -d trading -q -f /opt/staging/books.sql
  "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
fi
exec "$BIN/postgres" -D "$DATA" $OPTS
