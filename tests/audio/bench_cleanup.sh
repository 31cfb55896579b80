#!/bin/bash
# Benchmark: the quality measure (segmental SNR, dB, higher is better; log-
# spectral distance, dB, lower is better) of speech through the codec at
# 16 kbit/s against the clean reference, with the earlier always-on clean-up
# ("before"), today's adaptive one (the default) and none (--no-cleanup), on
# clean speech and on speech in white, pink, babble and fan noise at 0, 5,
# 10 and 20 dB SNR, all in one run.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/audio/quality_lib.sh"
clean_speech "$SCRATCH/clean.wav"
secs=$(soxi -D "$SCRATCH/clean.wav")
printf '%-12s %-14s %-14s %-14s\n' condition "before" "adaptive" "none"
score() { "$SPEECH_QUALITY" "$SCRATCH/clean.wav" "$1" | awk '{ print $2 "/" $4 }'; }
row() {
  through_codec "$1" "$SCRATCH/before.wav" --always
  through_codec "$1" "$SCRATCH/adaptive.wav"
  through_codec "$1" "$SCRATCH/none.wav" --no-cleanup
  printf '%-12s %-14s %-14s %-14s\n' "$2" "$(score "$SCRATCH/before.wav")" \
    "$(score "$SCRATCH/adaptive.wav")" "$(score "$SCRATCH/none.wav")"
}
row "$SCRATCH/clean.wav" clean
for kind in white pink babble fan; do
  make_noise "$kind" "$(awk -v s="$secs" 'BEGIN { print int(s) + 2 }')" "$SCRATCH/$kind.wav"
  for db in 0 5 10 20; do
    mix_at "$SCRATCH/clean.wav" "$SCRATCH/$kind.wav" "$db" "$SCRATCH/noisy.wav"
    row "$SCRATCH/noisy.wav" "$kind/$db"
  done
done
