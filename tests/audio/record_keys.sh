#!/bin/bash
# Enter, Ctrl-C and SIGTERM stop a recording and keep it; space pauses it.
# The microphone is a live one (real time, as a headset's), and each run is
# compared with a run driven the same way without the pause.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/audio/virtual_audio.sh"
. "$TESTS_DIR/audio/live_microphone.sh"

virtual_audio
live_microphone

# capturing PID: waits until the program listens to the microphone, so keys
# land while it records. (The store is locked while a recording runs, so the
# test cannot ask it.)
capturing() {
  for _ in $(seq 300); do
    pactl list source-outputs | grep -q "application.process.id = \"$1\"" && return 0
    kill -0 "$1" 2>/dev/null || fail "the recording ended before it listened"
    sleep 0.1
  done
  fail "the recording never started listening to the microphone"
}

# keys_run KEYS...: starts a recording fed by a pipe and, once it records,
# sends each argument as keys ("sleep:N" waits N s).
keys_run() {
  rm -f "$SCRATCH/keys"
  mkfifo "$SCRATCH/keys"
  "$JIASHU" --home "$SCRATCH/jh" record --max-seconds 600 <"$SCRATCH/keys" >"$SCRATCH/id" &
  local pid=$!
  exec 7>"$SCRATCH/keys"
  capturing "$pid"
  sleep 0.3
  for k in "$@"; do
    case $k in
      sleep:*) sleep "${k#sleep:}" ;;
      *) printf '%s' "$k" >&7 ;;
    esac
  done
  wait "$pid" || fail "record failed"
  exec 7>&-
  cat "$SCRATCH/id"
}

id1=$(keys_run sleep:2 $'\n')
d1=$(message_field "$id1" 3)
[ "$(message_field "$id1" 2)" = ready ] || fail "stopped recording not kept"
awk -v d="$d1" 'BEGIN { exit !(d > 0 && d < 600) }' || fail "Enter did not stop the recording ($d1 s)"

id2=$(keys_run ' ' sleep:2 $'\n')
d2=$(message_field "$id2" 3)
[ "$(message_field "$id2" 2)" = ready ] || fail "paused recording not kept"
awk -v a="$d1" -v b="$d2" 'BEGIN { exit !(b > 0 && b < a / 2) }' ||
  fail "a recording paused for 2 of 3 s lasts $d2 s; unpaused $d1 s"

# space again resumes (2 s after resuming: a loaded machine may take a
# moment to read the keys, and this asks only that more was recorded)
id3=$(keys_run ' ' sleep:1 ' ' sleep:2 $'\n')
d3=$(message_field "$id3" 3)
awk -v a="$d2" -v c="$d3" 'BEGIN { exit !(c > a) }' ||
  fail "resuming after a pause recorded nothing more ($d3 s vs $d2 s)"

# Ctrl-C (SIGINT) and SIGTERM stop and keep too
for sig in INT TERM; do
  rm -f "$SCRATCH/keys"
  mkfifo "$SCRATCH/keys"
  "$JIASHU" --home "$SCRATCH/jh" record --max-seconds 600 <"$SCRATCH/keys" >"$SCRATCH/id" 2>"$SCRATCH/err" &
  pid=$!
  exec 7>"$SCRATCH/keys"
  capturing "$pid"
  sleep 0.5
  kill -$sig "$pid"
  rc=0
  wait "$pid" || rc=$?
  exec 7>&-
  [ "$rc" -eq 0 ] || fail "SIG$sig: record exited $rc: $(cat "$SCRATCH/err")"
  id=$(cat "$SCRATCH/id")
  [ "$(message_field "$id" 2)" = ready ] || fail "SIG$sig: the recording was not kept"
done
echo ok
