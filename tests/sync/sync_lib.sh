# Helpers for the sync tests: a real relay, homes for a family, the fault
# proxy. Source after tests/lib.sh.

SYNC_PIDS=""
stop_all() {
  local p
  for p in $SYNC_PIDS; do kill -9 "$p" 2>/dev/null || true; done
  for p in $SYNC_PIDS; do wait "$p" 2>/dev/null || true; done
  SYNC_PIDS=""
}
trap 'stop_all; cleanup_scratch' EXIT
export JIASHU_BACKOFF_MS=${JIASHU_BACKOFF_MS:-100,2000}

# start_relay NAME [PORT] [OPTIONS...]: sets RELAY_PID, RELAY_PORT.
start_relay() {
  local name=$1 port=${2:-0}; shift 2 || shift $#
  local log=$SCRATCH/$name.log
  : >"$log"
  "$JIASHU_RELAY" --listen "${RELAY_HOST:-127.0.0.1}:$port" --db "$SCRATCH/$name.db" --quiet "$@" 2>>"$log" &
  RELAY_PID=$!
  SYNC_PIDS="$SYNC_PIDS $RELAY_PID"
  RELAY_PORT=
  for _ in $(seq 200); do
    RELAY_PORT=$(sed -n 's/^jiashu-relay: listening on .*:\([0-9][0-9]*\)$/\1/p' "$log" | tail -1)
    [ -n "$RELAY_PORT" ] && break
    kill -0 "$RELAY_PID" 2>/dev/null || { cat "$log" >&2; fail "relay $name did not start"; }
    sleep 0.05
  done
  [ -n "$RELAY_PORT" ] || fail "relay $name did not say its port"
}

need_node() {
  command -v node >/dev/null 2>&1 || { echo "SKIP: node is not installed (packaging/install-deps.sh)"; exit 77; }
}

# start_proxy TARGET_PORT [--tls KEY CERT]: sets PROXY_PID, PROXY_PORT.
start_proxy() {
  local pf=$SCRATCH/proxy.port.$RANDOM
  node "$TESTS_DIR/sync/fault_proxy.js" "$pf" "$@" >>"$SCRATCH/proxy.log" 2>&1 &
  PROXY_PID=$!
  SYNC_PIDS="$SYNC_PIDS $PROXY_PID"
  for _ in $(seq 100); do [ -s "$pf" ] && break; sleep 0.05; done
  [ -s "$pf" ] || fail "the fault proxy did not start: $(cat "$SCRATCH/proxy.log")"
  PROXY_PORT=$(cat "$pf")
  PROXY_URL=http://127.0.0.1:$PROXY_PORT
  [ "${2:-}" = --tls ] && PROXY_URL=https://127.0.0.1:$PROXY_PORT
  return 0
}

# fault JSON: sets the proxy's faults.
fault() { curl -skf -X POST --data "$1" "$PROXY_URL/__fault" >/dev/null || fail "cannot set faults"; }

# family URL: homes $SCRATCH/parent and $SCRATCH/child, paired by invite code.
family() {
  local url=$1
  PARENT=(--home "$SCRATCH/parent")
  CHILD=(--home "$SCRATCH/child")
  "$JIASHU" "${PARENT[@]}" setup --relay "$url" --name mama || fail "setup (parent)"
  local code
  code=$("$JIASHU" "${PARENT[@]}" family create) || fail "family create"
  echo "$code" | grep -Eq '^[0-9]+$' || fail "family create printed '$code', not an invite code"
  "$JIASHU" "${CHILD[@]}" setup --relay "$url" --name nainai || fail "setup (child)"
  "$JIASHU" "${CHILD[@]}" family join "$code" || fail "family join"
  # Pairing finishes when the inviter has seen the answer and the joiner
  # has seen the confirmation (docs/encryption.md): one sync each.
  "$JIASHU" "${PARENT[@]}" sync >/dev/null || fail "sync (parent, pairing)"
  "$JIASHU" "${CHILD[@]}" sync >/dev/null || fail "sync (child, pairing)"
}

# note FILE.wav SECONDS: a short spoken note.
note() {
  local out=$1 secs=${2:-2}
  [ -s "$SCRATCH/speech.wav" ] || speech "$SCRATCH/speech.wav" 16000
  sox -q "$SCRATCH/speech.wav" "$out" trim 0 "$secs"
}

# count_state HOME_ARGS... STATE BOX: messages of BOX (inbox|outbox) in STATE.
count_state() {
  local box=$1 state=$2; shift 2
  "$JIASHU" "$@" "$box" --json | jq "[.[] | select(.state == \"$state\")] | length"
}
