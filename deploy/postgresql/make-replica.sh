#!/bin/sh
# Makes this machine's PostgreSQL a streaming replica of the primary: run as the postgres user
# with the local server stopped and its data directory empty (or moved away).
#
#   PRIMARY=db-primary.city.internal PGDATA=/var/lib/postgresql/15/main ./make-replica.sh
#
# The replicator's password comes from ~/.pgpass. --write-recovery-conf writes standby.signal
# and the primary's address and slot into postgresql.auto.conf: started, the server follows
# the primary and answers read-only queries (AIZU_REPLICA_DATABASE_URL points at it).
set -eu
: "${PRIMARY:?set PRIMARY to the primary's address}"
: "${PGDATA:?set PGDATA to this server's (empty) data directory}"
SLOT=${SLOT:-aizu_replica}

pg_basebackup --host="$PRIMARY" --username=replicator --pgdata="$PGDATA" \
    --write-recovery-conf --wal-method=stream --checkpoint=fast \
    --create-slot --slot="$SLOT" --progress

echo "made; start the server, then check on the primary:"
echo "  SELECT client_addr, state, replay_lsn FROM pg_stat_replication;"
