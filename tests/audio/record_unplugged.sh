#!/bin/bash
# The microphone vanishes mid-recording: one clear line that names the kept
# message, and that message holds what was recorded before.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/audio/virtual_audio.sh"

speech "$SCRATCH/speech.wav"
sox -q "$SCRATCH/speech.wav" -t raw "$SCRATCH/mic.raw"
virtual_audio
JIASHU_TEST_UNPLUG_CAPTURE_AFTER=40000 LD_PRELOAD="$DEVICE_UNPLUG" \
  expect_error_after_device_trace "record from a vanished microphone" \
  "stopped working after [0-9.]+ s; what was recorded is kept as [0-9a-f-]{36}" \
  "$JIASHU" --home "$SCRATCH/jh" record --max-seconds 60
id=$(echo "$LAST_ERROR" | grep -Eo '[0-9a-f-]{36}')
[ "$(message_field "$id" 2)" = ready ] || fail "the kept message is $(message_field "$id" 2)"
d=$(message_field "$id" 3)
awk -v d="$d" 'BEGIN { exit !(d >= 0.5 && d <= 2.5) }' || fail "kept $d s, expected up to 2.5 s"
decoded_raw "$id" "$SCRATCH/decoded.raw"
head -c 16000 "$SCRATCH/mic.raw" >"$SCRATCH/start.raw"
"$SIGNAL_CHECK" find "$SCRATCH/start.raw" "$SCRATCH/decoded.raw" 0.7 ||
  fail "the kept message is not the start of the speech"
# the store is healthy afterwards: a second recording works
virtual_audio
"$JIASHU" --home "$SCRATCH/jh" record --max-seconds 1 </dev/null >/dev/null || fail "store broken"
echo ok
