#!/bin/bash
# Both sides run `sync --watch` and nothing else: a note recorded on the
# parent is sent by the parent's watch (woken by the store's wake file,
# not by its long poll) and fetched by the child's watch (woken by the
# relay); the child's played mark reaches the parent's watch through the
# long poll, which receipts now end too. Each step must come far sooner
# than the 60 s long poll would; an idle watch sleeps without waking.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/sync/sync_lib.sh"

start_relay relay
family "http://127.0.0.1:$RELAY_PORT"

# watch NAME HOME_ARGS...: a watch with a 60 s long poll, events in $SCRATCH/NAME.
watch() {
  local name=$1; shift
  "$JIASHU" "$@" sync --watch --wait 60 --json >"$SCRATCH/$name" 2>&1 &
  SYNC_PIDS="$SYNC_PIDS $!"
  eval "${name}_pid=$!"
}
# await NAME PATTERN SECONDS WHAT: the watch's events match PATTERN in time.
await() {
  local deadline=$(( $(date +%s) + $3 ))
  while [ "$(date +%s)" -le "$deadline" ]; do
    grep -q "$2" "$SCRATCH/$1" && return 0
    sleep 0.05
  done
  fail "$4 (no '$2' within $3 s): $(cat "$SCRATCH/$1")"
}

watch pw "${PARENT[@]}"
watch cw "${CHILD[@]}"
await pw '"waiting"' 20 "the parent's watch did not start waiting"
await cw '"waiting"' 20 "the child's watch did not start waiting"
sleep 1 # both are now inside their long polls

# Idle: the watch sleeps in one poll; no timer wakes it.
ctx() { awk '/^voluntary_ctxt_switches/ {v=$2} /^nonvoluntary_ctxt_switches/ {n=$2} END {print v+n}' "/proc/$1/status"; }
c0=$(ctx "$pw_pid"); sleep 3; c1=$(ctx "$pw_pid")
[ $((c1 - c0)) -le 2 ] || fail "an idle watch woke $((c1 - c0)) times in 3 s"

note "$SCRATCH/in.wav" 2
t0=$(date +%s.%N)
id=$("$JIASHU" "${PARENT[@]}" record --to nainai --input "$SCRATCH/in.wav") || fail "record"
await pw "\"sent\",\"id\":\"$id\"" 15 "the parent's watch did not send the new note"
await cw "\"received\",\"id\":\"$id\"" 15 "the child's watch did not fetch the note"
t1=$(date +%s.%N)
echo "recorded -> ready on the watching child: $(echo "$t1 - $t0" | bc) s (long poll 60 s)"
[ "$(count_state inbox ready "${CHILD[@]}")" = 1 ] || fail "the note is not ready on the child"

"$JIASHU" "${CHILD[@]}" play --next --output "$SCRATCH/played.wav" >/dev/null || fail "play --next"
t2=$(date +%s.%N)
await cw "\"receipt_sent\",\"id\":\"$id\",\"state\":\"played\"" 15 "the child's watch did not send the played mark"
await pw "\"receipt\",\"id\":\"$id\",\"state\":\"played\"" 15 "the parent's watch did not get the played mark"
t3=$(date +%s.%N)
echo "played -> seen by the watching parent: $(echo "$t3 - $t2" | bc) s"
[ "$(count_state outbox played "${PARENT[@]}")" = 1 ] || fail "the parent's outbox does not say played"
echo ok
