#!/bin/bash
# The home holds the device token and every message: a home made by hand
# with mode 755 is tightened to 0700, and the database, WAL and shm files
# are 0600, whatever the umask.
. "$TESTS_DIR/lib.sh"

umask 022
H=$SCRATCH/home
mkdir -m 755 "$H"
"$JIASHU" --home "$H" setup --relay http://127.0.0.1:9 --name ma || fail "setup"
[ "$(stat -c %a "$H")" = 700 ] || fail "the home is $(stat -c %a "$H") after setup"
for f in "$H"/jiashu.db*; do
  [ "$(stat -c %a "$f")" = 600 ] || fail "$(basename "$f") is $(stat -c %a "$f")"
done
"$JIASHU" --home "$H" config >/dev/null 2>&1 || true
# Loosened by hand after the fact: brought back on the next open.
chmod 755 "$H"; chmod 644 "$H"/jiashu.db
umask 000
"$JIASHU" --home "$H" setup --name ma2 || fail "setup again"
[ "$(stat -c %a "$H")" = 700 ] || fail "the loosened home is $(stat -c %a "$H")"
[ "$(stat -c %a "$H/jiashu.db")" = 600 ] || fail "the loosened database is $(stat -c %a "$H/jiashu.db")"
# A fresh home under umask 000 is private too.
"$JIASHU" --home "$SCRATCH/fresh/deeper" setup --relay http://127.0.0.1:9 --name x || fail "fresh setup"
[ "$(stat -c %a "$SCRATCH/fresh/deeper")" = 700 ] || fail "a fresh home is $(stat -c %a "$SCRATCH/fresh/deeper")"
[ "$(stat -c %a "$SCRATCH/fresh/deeper/jiashu.db")" = 600 ] || fail "a fresh database is $(stat -c %a "$SCRATCH/fresh/deeper/jiashu.db")"
