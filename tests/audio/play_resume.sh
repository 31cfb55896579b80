#!/bin/bash
# The speaker vanishes half way through a message: one clear line, the
# message does not count as played, and the next play starts where the
# listener stopped hearing it, then counts it as played.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/audio/virtual_audio.sh"

sox -q -n -r 16000 -c 1 -b 16 "$SCRATCH/two.wav" synth 1.5 sine 400 vol 0.5 : synth 1.5 sine 1200 vol 0.5
"$JIASHU" encode "$SCRATCH/two.wav" "$SCRATCH/two.opus" --no-cleanup >/dev/null
id=$("$INBOX_PUT" "$SCRATCH/jh" "$SCRATCH/two.opus" "$(sha256sum <"$SCRATCH/two.opus" | cut -d' ' -f1)" mum)
virtual_audio
JIASHU_TEST_UNPLUG_PLAYBACK_AFTER=96000 LD_PRELOAD="$DEVICE_UNPLUG" \
  expect_error_after_device_trace "play to a vanished speaker" "stopped working" \
  "$JIASHU" --home "$SCRATCH/jh" play --next
[ "$(message_field "$id" 2)" = ready ] || fail "a half-heard message counts as $(message_field "$id" 2)"
# Where it stopped is kept in the message itself (play_position_ms).
position() { "$JIASHU" --home "$SCRATCH/jh" inbox --json | jq -r --arg id "$1" '.[] | select(.id == $id) | .play_position_ms'; }
pos=$(position "$id")
[ -n "$pos" ] && [ "$pos" -gt 0 ] && [ "$pos" -lt 2700 ] || fail "resume position $pos ms is not half way"

virtual_audio
"$JIASHU" --home "$SCRATCH/jh" play "$id" </dev/null >/dev/null || fail "replay failed"
[ "$(message_field "$id" 2)" = played ] || fail "heard to the end but $(message_field "$id" 2)"
frames=$(( $(stat -c %s "$SCRATCH/speaker.raw") / 2 ))
expect=$(( (3000 - pos) * 16 ))
[ "$frames" -ge $((expect - 3200)) ] && [ "$frames" -le $((expect + 3200)) ] ||
  fail "replay played $frames frames, expected about $expect (resuming at $pos ms)"
first=$("$SIGNAL_CHECK" tones "$SCRATCH/speaker.raw" 16000 | awk 'NR == 3 {print int(($2 + 50) / 100) * 100}')
if [ "$pos" -gt 1600 ]; then want=1200; else want=400; fi
[ "$first" = "$want" ] || fail "replay from $pos ms began with $first Hz, expected $want Hz"
after=$(position "$id")
[ "$after" = 0 ] || [ "$after" -ge 2900 ] ||
  fail "resume position $after ms still kept after the message was heard to the end"
echo ok
