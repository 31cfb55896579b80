# Starting and stopping the foreign tus peer. Source after lib.sh.
PEERS_DIR="$TESTS_DIR/peers/node_modules"

need_tus_peer() {
  command -v node >/dev/null 2>&1 || { echo "SKIP: node is not installed (packaging/install-deps.sh)"; exit 77; }
  [ -d "$PEERS_DIR/@tus/server" ] && [ -d "$PEERS_DIR/@tus/file-store" ] ||
    { echo "SKIP: @tus/server is not installed: run 'cd tests/peers && npm ci'"; exit 77; }
}

# start_peer DIR [PORT] [ARGS...]: starts the peer, sets PEER_PID and PEER_PORT.
start_peer() {
  local dir=$1 port=${2:-0}; shift 2 || shift $#
  rm -f "$dir/port"
  mkdir -p "$dir"
  NODE_PATH="$PEERS_DIR" node "$TESTS_DIR/sync/tus_peer.js" "$port" "$dir" "$@" >>"$dir/peer.log" 2>&1 &
  PEER_PID=$!
  for _ in $(seq 100); do
    [ -s "$dir/port" ] && break
    kill -0 "$PEER_PID" 2>/dev/null || fail "the tus peer did not start: $(cat "$dir/peer.log")"
    sleep 0.1
  done
  PEER_PORT=$(cat "$dir/port")
}

stop_peer() {
  [ -n "${PEER_PID:-}" ] && { kill -9 "$PEER_PID" 2>/dev/null; wait "$PEER_PID" 2>/dev/null || true; }
  PEER_PID=
  return 0
}
