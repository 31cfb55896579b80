#!/bin/bash
# `jiashu record` without --input takes Mandarin speech from the virtual
# microphone through PortAudio into the outbox: the message is ready, as long
# as --max-seconds says, and decoding it gives back the speech.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/audio/virtual_audio.sh"

speech "$SCRATCH/speech.wav"
sox -q "$SCRATCH/speech.wav" -t raw "$SCRATCH/speech.raw"
with_silence "$SCRATCH/speech.raw" "$SCRATCH/mic.raw" 0.3 5
virtual_audio
id=$("$JIASHU" --home "$SCRATCH/jh" record --max-seconds 4 </dev/null 2>"$SCRATCH/err") ||
  fail "record failed: $(cat "$SCRATCH/err")"
[ ! -s "$SCRATCH/err" ] || fail "record wrote to stderr: $(cat "$SCRATCH/err")"
[[ "$id" =~ ^[0-9a-f-]{36}$ ]] || fail "record printed '$id', not an id"
[ "$(message_field "$id" 2)" = ready ] || fail "message is $(message_field "$id" 2), not ready"
[ "$(message_field "$id" 3)" = 4.0 ] || fail "message lasts $(message_field "$id" 3) s, not 4.0"
decoded_raw "$id" "$SCRATCH/decoded.raw"
head -c 96000 "$SCRATCH/speech.raw" >"$SCRATCH/first3s.raw"
"$SIGNAL_CHECK" find "$SCRATCH/first3s.raw" "$SCRATCH/decoded.raw" 0.7 ||
  fail "the speech is not in the recorded message"

# the setting gives the length when --max-seconds does not
"$JIASHU" --home "$SCRATCH/jh" config record_max_seconds 2
id=$("$JIASHU" --home "$SCRATCH/jh" record </dev/null) || fail "record failed"
[ "$(message_field "$id" 3)" = 2.0 ] || fail "message lasts $(message_field "$id" 3) s, not 2.0"
echo ok
