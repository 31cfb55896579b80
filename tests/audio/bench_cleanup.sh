#!/bin/bash
# Benchmark: the quality measure (segmental SNR, dB, higher is better; log-
# spectral distance, dB, lower is better) of speech through the codec at
# 16 kbit/s with the clean-up and without it (--no-cleanup), against the
# clean reference, on clean speech and on speech in white, pink, babble and
# fan noise at 0, 5, 10 and 20 dB SNR, all in one run.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/audio/quality_lib.sh"
clean_speech "$SCRATCH/clean.wav"
secs=$(soxi -D "$SCRATCH/clean.wav")
printf '%-12s %-20s %-20s\n' condition "clean-up segsnr/lsd" "none segsnr/lsd"
row() {
  through_codec "$1" "$SCRATCH/on.wav"
  through_codec "$1" "$SCRATCH/off.wav" --no-cleanup
  printf '%-12s %-20s %-20s\n' "$2" \
    "$("$SPEECH_QUALITY" "$SCRATCH/clean.wav" "$SCRATCH/on.wav" | awk '{ print $2 "/" $4 }')" \
    "$("$SPEECH_QUALITY" "$SCRATCH/clean.wav" "$SCRATCH/off.wav" | awk '{ print $2 "/" $4 }')"
}
row "$SCRATCH/clean.wav" clean
for kind in white pink babble fan; do
  make_noise "$kind" "$(awk -v s="$secs" 'BEGIN { print int(s) + 2 }')" "$SCRATCH/$kind.wav"
  for db in 0 5 10 20; do
    mix_at "$SCRATCH/clean.wav" "$SCRATCH/$kind.wav" "$db" "$SCRATCH/noisy.wav"
    row "$SCRATCH/noisy.wav" "$kind/$db"
  done
done
