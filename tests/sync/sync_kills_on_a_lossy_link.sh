#!/bin/bash
# Three 10 s notes over a 64 kbit/s link with 2 % loss each way, and each
# side's sync SIGKILLed three times at random moments, then left to finish:
# all three arrive exactly once and whole, and what crossed each side's
# interface (IP bytes both ways, TCP headers, retransmissions and ACKs
# included, counted by iptables) is at most 1.3x the notes' bytes, because
# the relay keeps what arrived of a cut upload and the client keeps what
# arrived of a cut download: nothing is sent twice.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/sync/sync_lib.sh"
. "$TESTS_DIR/sync/netns_lib.sh"
netns_up
export JIASHU_BACKOFF_MS=200,2000

shape 64kbit
lose 0.02
log=$SCRATCH/relay.log
ip netns exec "$NS_R" "$JIASHU_RELAY" --listen "$IP_R:0" --db "$SCRATCH/relay.db" 2>"$log" &
RELAY_PID=$!
SYNC_PIDS="$SYNC_PIDS $RELAY_PID"
for _ in $(seq 100); do
  RELAY_PORT=$(sed -n 's/^jiashu-relay: listening on .*:\([0-9][0-9]*\)$/\1/p' "$log" | tail -1)
  [ -n "$RELAY_PORT" ] && break
  sleep 0.05
done
[ -n "$RELAY_PORT" ] || fail "the relay did not start: $(cat "$log")"
J() { ip netns exec "$NS_C" "$JIASHU" "$@"; }
PARENT=(--home "$SCRATCH/parent")
CHILD=(--home "$SCRATCH/child")
url=http://$IP_R:$RELAY_PORT
J "${PARENT[@]}" setup --relay "$url" --name mama
code=$(J "${PARENT[@]}" family create) || fail "family create"
J "${CHILD[@]}" setup --relay "$url" --name nainai
J "${CHILD[@]}" family join "$code" || fail "family join"
J "${PARENT[@]}" family >/dev/null || fail "family list"

speech "$SCRATCH/s.wav" 16000
sox -q "$SCRATCH/s.wav" "$SCRATCH/ten.wav" repeat 3 trim 0 10
for i in 1 2 3; do
  "$JIASHU" "${PARENT[@]}" record --to nainai --input "$SCRATCH/ten.wav" >>"$SCRATCH/ids" || fail "record $i"
done
notes=$("$JIASHU" "${PARENT[@]}" outbox --json | jq '[.[].bytes] | add')
count_bytes "$RELAY_PORT"

# side NAME HOME_ARGS...: three syncs killed at a random moment of their
# transfer, then one left to finish; prints the IP bytes both ways.
side() {
  local name=$1; shift
  local k pid
  zero_counters
  for k in 1 2 3; do
    ip netns exec "$NS_C" "$JIASHU" "$@" sync >>"$SCRATCH/$name.out" 2>&1 &
    pid=$!
    sleep "$(( 1 + RANDOM % 3 )).$(( RANDOM % 10 ))"
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  J "$@" sync >>"$SCRATCH/$name.out" 2>&1 || fail "$name: the last sync failed: $(tail -3 "$SCRATCH/$name.out")"
  read -r out in < <(counted_bytes "$RELAY_PORT")
  echo $((out + in))
}
up=$(side parent "${PARENT[@]}")
down=$(side child "${CHILD[@]}")

inbox=$("$JIASHU" "${CHILD[@]}" inbox --json)
[ "$(echo "$inbox" | jq length)" = 3 ] || fail "the child holds $(echo "$inbox" | jq length) messages, not 3"
[ "$(echo "$inbox" | jq '[.[] | select(.state == "ready")] | length')" = 3 ] || fail "not every note is ready"
for id in $(cat "$SCRATCH/ids"); do
  "$JIASHU" "${PARENT[@]}" export "$id" "$SCRATCH/a.opus" || fail "export $id (parent)"
  "$JIASHU" "${CHILD[@]}" export "$id" "$SCRATCH/b.opus" || fail "$id did not arrive"
  cmp -s "$SCRATCH/a.opus" "$SCRATCH/b.opus" || fail "$id arrived damaged"
done
kept=$(grep -c 'bytes kept' "$log" || true)
echo "three 10 s notes, $notes bytes; sender's interface $up bytes ($(echo "scale=3; $up / $notes" | bc)x)," \
  "recipient's $down bytes ($(echo "scale=3; $down / $notes" | bc)x); cut uploads whose bytes the relay kept: $kept"
[ $((up * 10)) -le $((notes * 13)) ] || fail "the sender's interface carried $up bytes for $notes bytes of notes"
[ $((down * 10)) -le $((notes * 13)) ] || fail "the recipient's interface carried $down bytes for $notes bytes of notes"
echo ok
