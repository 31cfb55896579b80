#!/bin/bash
# Both sides run `sync --watch` and nothing else: a 10 s note recorded on
# the parent from a WAV fed in real time is sent by the parent's watch
# (woken by the store's wake file, not by its long poll) and fetched by the
# child's watch (woken by the relay); the child's played mark reaches the
# parent's watch through the long poll, which receipts end too. The note is
# ready on the child within 1.5 s of the end of recording, and the played
# mark reaches the parent within 1.5 s of playback (issue 11); an idle
# watch sleeps without waking. The times are the programs' own: `record`
# says when it kept the note (JIASHU_RECORD_TRACE), the watches stamp every
# event (at_ms), so a slow poll of this script's own adds nothing.
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

note "$SCRATCH/in.wav" 10
# 20 ms of sound every 20 ms, as a microphone delivers it.
JIASHU_RECORD_TRACE=1 JIASHU_RECORD_PACE_US=20000 \
  "$JIASHU" "${PARENT[@]}" record --to nainai --input "$SCRATCH/in.wav" >"$SCRATCH/rec" ||
  fail "record"
id=$(tail -1 "$SCRATCH/rec")
t0=$(sed -n 's/^finished at \([0-9]*\) ms$/\1/p' "$SCRATCH/rec")
[ -n "$t0" ] || fail "record did not say when it finished: $(tail -2 "$SCRATCH/rec")"
await pw "\"sent\",\"id\":\"$id\"" 15 "the parent's watch did not send the new note"
await cw "\"received\",\"id\":\"$id\"" 15 "the child's watch did not fetch the note"
# at EVENTS PATTERN: the at_ms of the first event of the watch matching PATTERN.
at() { grep -m1 "$2" "$SCRATCH/$1" | jq -r .at_ms; }
t_up=$(at pw "\"upload_start\",\"id\":\"$id\"")
t_sent=$(at pw "\"sent\",\"id\":\"$id\"")
t_dl=$(at cw "\"download_start\",\"id\":\"$id\"")
t1=$(at cw "\"received\",\"id\":\"$id\"")
ready_ms=$((t1 - t0))
echo "10 s note, end of recording -> ready on the watching child: $ready_ms ms" \
  "(upload starts +$((t_up - t0)), sent +$((t_sent - t0)), download starts +$((t_dl - t0)))"
[ "$(count_state inbox ready "${CHILD[@]}")" = 1 ] || fail "the note is not ready on the child"
[ "$ready_ms" -le 1500 ] || fail "the note was ready on the child $ready_ms ms after the end of recording (at most 1500)"

# Timed from before play starts: the mark is queued as playback ends, and
# the watch may send it before the play command has even exited.
t2=$(( ${EPOCHREALTIME/./} / 1000 ))
"$JIASHU" "${CHILD[@]}" play --next --output "$SCRATCH/played.wav" >/dev/null || fail "play --next"
await cw "\"receipt_sent\",\"id\":\"$id\",\"state\":\"played\"" 15 "the child's watch did not send the played mark"
await pw "\"receipt\",\"id\":\"$id\",\"state\":\"played\"" 15 "the parent's watch did not get the played mark"
t3=$(at pw "\"receipt\",\"id\":\"$id\",\"state\":\"played\"")
played_ms=$((t3 - t2))
echo "played -> seen by the watching parent: $played_ms ms" \
  "(sent by the child +$(( $(at cw "\"receipt_sent\",\"id\":\"$id\",\"state\":\"played\"") - t2 )))"
[ "$(count_state outbox played "${PARENT[@]}")" = 1 ] || fail "the parent's outbox does not say played"
[ "$played_ms" -le 1500 ] || fail "the played mark reached the parent $played_ms ms after playback (at most 1500)"
check_schema sync-event "$SCRATCH/pw" --lines
echo ok
