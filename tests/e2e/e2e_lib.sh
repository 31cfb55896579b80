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

# start_e2e_relay OPTIONS...: the relay "relay" on a port it keeps across
# restarts (sets URL). Pairings of several homes from one address need a
# looser join limit than a relay on the open internet.
start_e2e_relay() {
  E2E_RELAY_OPTS=("$@")
  start_relay relay 0 --join-burst 50 --join-rate 10 "$@"
  URL=http://127.0.0.1:$RELAY_PORT
}

# The operator edits the database with the relay stopped (a running relay
# reads through connections that may keep their snapshot), then starts it
# again on the same port.
relay_stop() { kill -TERM "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null || true; }
relay_start() { start_relay relay "$RELAY_PORT" --join-burst 50 --join-rate 10 "${E2E_RELAY_OPTS[@]}"; }

# relay_query SQL: reads the relay's database while it runs.
relay_query() { sqlite3 -cmd ".timeout 5000" "$SCRATCH/relay.db" "$@"; }

# relay_sql SQL...: changes the relay's database (as its operator could).
relay_sql() {
  relay_stop
  sqlite3 -cmd ".timeout 5000" "$SCRATCH/relay.db" "$@"
  relay_start
}

# relay_py PYTHON: a python snippet with `db` open on the relay's database.
relay_py() {
  relay_stop
  python3 - "$SCRATCH/relay.db" "$@" <<PY
import sqlite3, sys, hashlib
db = sqlite3.connect(sys.argv[1], timeout=5)
args = sys.argv[2:]
$(cat)
db.commit()
PY
  relay_start
}
