#!/bin/bash
# A damaged, foreign or newer database: one clear line, a non-zero exit,
# and the file exactly as it was.
. "$TESTS_DIR/lib.sh"

check_untouched() { # WHAT HOME -- COMMAND...: fails cleanly and leaves HOME/jiashu.db as it was
  local what=$1 home=$2 regex=$3; shift 3
  local before after
  before=$(sha256sum <"$home/jiashu.db")
  expect_error_matching "$what: outbox" "$regex" "$JIASHU" --home "$home" outbox
  expect_error_matching "$what: record" "$regex" "$JIASHU" --home "$home" record --input "$SCRATCH/in.wav"
  after=$(sha256sum <"$home/jiashu.db")
  [ "$before" = "$after" ] || fail "$what: the database file was changed"
}

speech "$SCRATCH/in.wav" 16000 "你好"

mkdir -m 700 "$SCRATCH/garbage"
head -c 20000 /dev/urandom >"$SCRATCH/garbage/jiashu.db"
check_untouched "random bytes" "$SCRATCH/garbage" "damaged or is not a jiashu database"

mkdir -m 700 "$SCRATCH/text"
echo "not a database" >"$SCRATCH/text/jiashu.db"
check_untouched "a text file" "$SCRATCH/text" "damaged or is not a jiashu database"

mkdir -m 700 "$SCRATCH/foreign"
sqlite3 "$SCRATCH/foreign/jiashu.db" "CREATE TABLE notes (x); INSERT INTO notes VALUES ('mine');"
check_untouched "another program's SQLite file" "$SCRATCH/foreign" "damaged or is not a jiashu database"

"$JIASHU" --home "$SCRATCH/newer" record --input "$SCRATCH/in.wav" >/dev/null
newer=$(($(sqlite3 "$SCRATCH/newer/jiashu.db" "PRAGMA user_version") + 1))
sqlite3 "$SCRATCH/newer/jiashu.db" "PRAGMA user_version = $newer"
check_untouched "a newer schema" "$SCRATCH/newer" "newer version of jiashu"

# A store cut short (a bad copy): page 2 onwards is gone.
"$JIASHU" --home "$SCRATCH/cut" record --input "$SCRATCH/in.wav" >/dev/null
"$JIASHU" --home "$SCRATCH/cut" record --input "$SCRATCH/in.wav" >/dev/null
truncate -s 4096 "$SCRATCH/cut/jiashu.db"
check_untouched "a truncated file" "$SCRATCH/cut" "damaged"

# The home is a file.
touch "$SCRATCH/plainfile"
expect_error_matching "home is a file" "Not a directory" "$JIASHU" --home "$SCRATCH/plainfile" outbox
echo ok
