#!/bin/bash
# ALSA's default device has no capture side: one clear line, no ALSA or JACK
# chatter, even though other PCMs in the configuration could capture.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/audio/virtual_audio.sh"

virtual_audio --no-capture
expect_error_matching "record with no microphone" "no microphone" \
  "$AUDIO_PROBE" record 1 "$SCRATCH/got.raw"
# and the speaker of that configuration still works
burst_pattern "$SCRATCH/pattern.raw"
"$AUDIO_PROBE" play "$SCRATCH/pattern.raw" 16000 >/dev/null || fail "speaker broken too"
"$SIGNAL_CHECK" find "$SCRATCH/pattern.raw" "$SCRATCH/speaker.raw" 0.98 >/dev/null ||
  fail "the pattern did not reach the speaker"
# no sound card: ALSA's default is the first card's hardware, which is not there
echo 'pcm.!default { type hw; card 0 }' >"$SCRATCH/nocard.conf"
ALSA_CONFIG_PATH="$SCRATCH/nocard.conf" expect_error_matching "record with no sound card" \
  "no microphone" "$AUDIO_PROBE" record 1 "$SCRATCH/got.raw"
echo ok
