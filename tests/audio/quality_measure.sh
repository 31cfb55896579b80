#!/bin/bash
# The quality measure itself: a signal scores the top against itself, is not
# marked down for a codec's delay or a change of overall level, and scores
# lower the more noise is added, on both of its numbers.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/audio/quality_lib.sh"
clean_speech "$SCRATCH/clean.wav"
make_noise white 12 "$SCRATCH/white.wav"
q() { "$SPEECH_QUALITY" "$1" "$2"; }
snr() { q "$1" "$2" | awk '{ print $2 }'; }
lsd() { q "$1" "$2" | awk '{ print $4 }'; }
above() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }

[ "$(q "$SCRATCH/clean.wav" "$SCRATCH/clean.wav")" = "segsnr 35.00 lsd 0.00" ] ||
  fail "a signal against itself scores $(q "$SCRATCH/clean.wav" "$SCRATCH/clean.wav")"
# 7 ms later and 6 dB quieter: the same speech.
sox -q "$SCRATCH/clean.wav" "$SCRATCH/late.wav" pad 0.007 0 vol 0.5
above "$(snr "$SCRATCH/clean.wav" "$SCRATCH/late.wav")" 30 ||
  fail "a delay and a level change cost $(q "$SCRATCH/clean.wav" "$SCRATCH/late.wav")"
prev_snr=100 prev_lsd=-1
for db in 30 20 10 0; do
  mix_at "$SCRATCH/clean.wav" "$SCRATCH/white.wav" "$db" "$SCRATCH/noisy$db.wav"
  s=$(snr "$SCRATCH/clean.wav" "$SCRATCH/noisy$db.wav"); l=$(lsd "$SCRATCH/clean.wav" "$SCRATCH/noisy$db.wav")
  above "$prev_snr" "$s" || fail "segsnr did not fall from $prev_snr to $s at $db dB"
  above "$l" "$prev_lsd" || fail "lsd did not rise from $prev_lsd to $l at $db dB"
  prev_snr=$s prev_lsd=$l
done
echo ok
