#!/bin/bash
# The relay's database, WAL and shared-memory files are 0600 whatever the
# umask; a database left 0644 is brought back.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/relay/relay_lib.sh"

mode() { stat -c %a "$1"; }
umask 022
# The program refuses a database folder that does not exist (it says how
# to make one 0700); in an existing folder the files are private anyway.
mkdir "$SCRATCH/data"
RELAY_DB=$SCRATCH/data/relay.db
start_relay files
new_family dad   # a write, so the WAL has content
for f in relay.db relay.db-wal relay.db-shm; do
  [ -e "$SCRATCH/data/$f" ] || fail "$f missing"
  [ "$(mode "$SCRATCH/data/$f")" = 600 ] || fail "$f is $(mode "$SCRATCH/data/$f") with umask 022"
done
stop_relays

umask 000
chmod 0644 "$SCRATCH/data/relay.db"
rm -f "$SCRATCH/data/relay.db-wal" "$SCRATCH/data/relay.db-shm"
start_relay files
as "$TOKEN" GET /v1/family
expect_status "the family after a restart" 200
for f in relay.db relay.db-wal relay.db-shm; do
  [ "$(mode "$SCRATCH/data/$f")" = 600 ] || fail "$f is $(mode "$SCRATCH/data/$f") after a restart with umask 000"
done
