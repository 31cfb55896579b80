# A relay for the station's end-to-end tests. Source after tests/lib.sh and
# tests/station/tmux.sh; the relay is stopped with the screen at exit.
RELAY_PID=""
stop_station_relay() {
  [ -n "$RELAY_PID" ] && kill -TERM "$RELAY_PID" 2>/dev/null && wait "$RELAY_PID" 2>/dev/null
  RELAY_PID=""
}
trap 'screen_stop; stop_station_relay; cleanup_scratch' EXIT

# Skips (exit 77) while the sync commands are not in this build.
need_sync() {
  if "$JIASHU" --home "$SCRATCH/probe" setup --relay http://127.0.0.1:9 --name probe 2>&1 |
    grep -q "not built yet"; then
    echo "skipped: the sync commands are not built yet"
    exit 77
  fi
  rm -rf "$SCRATCH/probe"
}

# start_station_relay: sets RELAY_URL.
start_station_relay() {
  local log=$SCRATCH/relay.log port="" i
  "$JIASHU_RELAY" --listen 127.0.0.1:0 --db "$SCRATCH/relay.db" 2>"$log" &
  RELAY_PID=$!
  for i in $(seq 100); do
    port=$(sed -n 's/^jiashu-relay: listening on .*:\([0-9][0-9]*\)$/\1/p' "$log" | tail -1)
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || { cat "$log" >&2; fail "the relay did not start"; }
  RELAY_URL=http://127.0.0.1:$port
}

# invite_code HOME: a new invite code of HOME's family (digits only).
invite_code() {
  "$JIASHU" --home "$1" family invite | grep -Eo '[0-9]{4,}' | tail -1
}

# wait_for_state HOME BOX REGEX [SECONDS]: until a message of BOX has a
# state matching REGEX (syncing HOME each time if SYNC=1).
wait_for_state() {
  local home=$1 box=$2 regex=$3 timeout=${4:-30} i
  for i in $(seq $((timeout * 5))); do
    [ "${SYNC:-0}" = 1 ] && "$JIASHU" --home "$home" sync >/dev/null 2>&1 || true
    "$JIASHU" --home "$home" "$box" --json | grep -Eq "\"state\": \"($regex)\"" && return 0
    sleep 0.2
  done
  "$JIASHU" --home "$home" "$box" >&2 || true
  fail "no $box message of $home reached /$regex/ in ${timeout}s"
}
