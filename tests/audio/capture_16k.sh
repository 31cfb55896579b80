#!/bin/bash
# A known pattern of tone bursts fed to the virtual microphone is found, in
# order and in shape, in what PortAudio captured at 16 kHz.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/audio/virtual_audio.sh"

burst_pattern "$SCRATCH/pattern.raw"
with_silence "$SCRATCH/pattern.raw" "$SCRATCH/mic.raw" 0.5 3
virtual_audio
"$AUDIO_PROBE" record 6 "$SCRATCH/got.raw" >"$SCRATCH/probe.out" 2>"$SCRATCH/probe.err" ||
  fail "capture failed: $(cat "$SCRATCH/probe.err")"
grep -q 'device rate 16000' "$SCRATCH/probe.out" || fail "device not opened at 16 kHz: $(cat "$SCRATCH/probe.out")"
[ ! -s "$SCRATCH/probe.err" ] || fail "capture wrote to stderr: $(head -3 "$SCRATCH/probe.err")"
"$SIGNAL_CHECK" find "$SCRATCH/pattern.raw" "$SCRATCH/got.raw" 0.95 ||
  fail "the burst pattern is not in the capture"
# and the microphone's silence after it is silence, not the pattern again
lag=$("$SIGNAL_CHECK" find "$SCRATCH/pattern.raw" "$SCRATCH/got.raw" 0 | awk '{print $5}')
from=$(awk -v l="$lag" 'BEGIN { print l / 16000 + 3.2 }')
level=$("$SIGNAL_CHECK" energy "$SCRATCH/got.raw" 16000 "$from" 6)
awk -v e="$level" 'BEGIN { exit !(e < 0.01) }' || fail "sound after the pattern ended: rms $level"
# a capture of silence does not correlate with the pattern (the check can fail)
sox -q -n -r 16000 -c 1 -b 16 -e signed -t raw "$SCRATCH/mic.raw" synth 4 whitenoise vol 0.3
virtual_audio
"$AUDIO_PROBE" record 3 "$SCRATCH/noise.raw" >/dev/null
if "$SIGNAL_CHECK" find "$SCRATCH/pattern.raw" "$SCRATCH/noise.raw" 0.5 >/dev/null; then
  fail "noise matched the pattern"
fi
echo ok
