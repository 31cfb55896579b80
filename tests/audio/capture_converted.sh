#!/bin/bash
# A device opened at 44.1 kHz (as many USB microphones insist on) still
# delivers the pattern at 16 kHz: PortAudio runs the stream at 44.1 kHz and
# the module converts.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/audio/virtual_audio.sh"

burst_pattern "$SCRATCH/pattern.raw"
with_silence "$SCRATCH/pattern.raw" "$SCRATCH/padded.raw" 0.5 3
sox -q -r 16000 -c 1 -b 16 -e signed -t raw "$SCRATCH/padded.raw" -r 44100 -t raw "$SCRATCH/mic.raw"
virtual_audio --mic-rate 44100
JIASHU_AUDIO_RATE=44100 "$AUDIO_PROBE" record 5 "$SCRATCH/got.raw" >"$SCRATCH/probe.out" ||
  fail "capture failed"
grep -q 'device rate 44100' "$SCRATCH/probe.out" || fail "not opened at 44.1 kHz: $(cat "$SCRATCH/probe.out")"
frames=$(awk '/captured/ {print $2}' "$SCRATCH/probe.out")
[ "$frames" -ge 78000 ] && [ "$frames" -le 82000 ] || fail "5 s at 16 kHz should be ~80000 frames, got $frames"
"$SIGNAL_CHECK" find "$SCRATCH/pattern.raw" "$SCRATCH/got.raw" 0.9 ||
  fail "the burst pattern is not in the converted capture"
echo ok
