# Helpers for the end-to-end tests: homes paired by code through a real
# relay, and a look inside the relay's database as a hostile operator
# would take it. Source after tests/lib.sh and tests/sync/sync_lib.sh.

J() { "$JIASHU" "$@"; }

# home NAME DISPLAYNAME: a set-up home at $SCRATCH/NAME (path in HOME_DIR).
home() {
  HOME_DIR=$SCRATCH/$1
  J --home "$HOME_DIR" setup --relay "$URL" --name "$2" >/dev/null || fail "setup $1"
}

# pair INVITER_HOME JOINER_HOME: a pairing code from the inviter, typed on
# the joiner, then one sync on each side to finish it.
pair() {
  local code
  code=$(J --home "$1" family invite) || fail "family invite ($1)"
  J --home "$2" family join "$code" >/dev/null || fail "family join ($2)"
  J --home "$1" sync >/dev/null || fail "sync ($1, pairing)"
  J --home "$2" sync >/dev/null || fail "sync ($2, pairing)"
  [ -n "$(J --home "$2" config device_id)" ] || fail "$2 did not finish its pairing"
}

device_id() { J --home "$1" config device_id; }

# relay_sql SQL...: runs SQL on the relay's database (as its operator could).
relay_sql() { sqlite3 -cmd ".timeout 5000" "$SCRATCH/relay.db" "$@"; }

# relay_py PYTHON: a python snippet with `db` open on the relay's database.
relay_py() {
  python3 - "$SCRATCH/relay.db" "$@" <<PY
import sqlite3, sys, hashlib
db = sqlite3.connect(sys.argv[1], timeout=5)
args = sys.argv[2:]
$(cat)
db.commit()
PY
}
