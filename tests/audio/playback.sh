#!/bin/bash
# Samples played through PortAudio arrive at the virtual speaker: at the
# device's own rate, and at 48 kHz (a decoded voice note's rate), converted.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/audio/virtual_audio.sh"

burst_pattern "$SCRATCH/pattern.raw"
virtual_audio
"$AUDIO_PROBE" play "$SCRATCH/pattern.raw" 16000 >"$SCRATCH/probe.out" 2>"$SCRATCH/probe.err" ||
  fail "playback failed: $(cat "$SCRATCH/probe.err")"
[ ! -s "$SCRATCH/probe.err" ] || fail "playback wrote to stderr"
"$SIGNAL_CHECK" find "$SCRATCH/pattern.raw" "$SCRATCH/speaker.raw" 0.98 ||
  fail "the pattern did not reach the speaker"
heard=$(awk '/heard/ {print $2}' "$SCRATCH/probe.out")
[ "$heard" -ge 47000 ] || fail "only $heard of 48000 frames counted as heard after draining"

# (padded: the converters delay the sound by a few samples)
sox -q -r 16000 -c 1 -b 16 -e signed -t raw "$SCRATCH/pattern.raw" -r 48000 -t raw "$SCRATCH/p48.raw" pad 0 0.2
virtual_audio
"$AUDIO_PROBE" play "$SCRATCH/p48.raw" 48000 >/dev/null || fail "48 kHz playback failed"
"$SIGNAL_CHECK" find "$SCRATCH/pattern.raw" "$SCRATCH/speaker.raw" 0.95 ||
  fail "the 48 kHz pattern did not reach the speaker"

# the earcons: two rising notes, then three falling ones
virtual_audio
"$AUDIO_PROBE" earcon next 16000 || fail "earcon failed"
notes=$("$SIGNAL_CHECK" tones "$SCRATCH/speaker.raw" 16000 | awk '{print int(($2 + 5) / 10) * 10}' | uniq | tr '\n' ' ')
[ "$notes" = "660 990 " ] || fail "next earcon sounded as '$notes'"
virtual_audio
"$AUDIO_PROBE" earcon end 16000 || fail "earcon failed"
notes=$("$SIGNAL_CHECK" tones "$SCRATCH/speaker.raw" 16000 | awk '{print int(($2 + 5) / 10) * 10}' | uniq | tr '\n' ' ')
[ "$notes" = "990 780 520 " ] || fail "end earcon sounded as '$notes'"
echo ok
