#!/bin/bash
# The adaptive clean-up on the quality measure (speech_quality.c), against
# the clean reference: clean speech through the default path scores within
# 0.05 dB of --no-cleanup, on segmental SNR and log-spectral distance alike;
# speech in noise scores at least the segmental SNR of the earlier always-on
# clean-up, and its log-spectral distance is no more than 0.25 dB worse.
# The noisy conditions here are one per noise type at 0 dB (the smallest
# margins in the full grid, bench_cleanup.sh) and the two at 20 dB that sit
# closest to the line between noisy and clean.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/audio/quality_lib.sh"
clean_speech "$SCRATCH/clean.wav"
secs=$(soxi -D "$SCRATCH/clean.wav")
score() { "$SPEECH_QUALITY" "$SCRATCH/clean.wav" "$1"; }
field() { echo "$1" | awk -v f="$2" '{ print $f }'; }
holds() { awk "BEGIN { exit !($1) }"; }

through_codec "$SCRATCH/clean.wav" "$SCRATCH/default.wav"
through_codec "$SCRATCH/clean.wav" "$SCRATCH/none.wav" --no-cleanup
d=$(score "$SCRATCH/default.wav") n=$(score "$SCRATCH/none.wav")
echo "clean: default $d; --no-cleanup $n"
holds "$(field "$d" 2) - $(field "$n" 2) > -0.05 && $(field "$d" 4) - $(field "$n" 4) < 0.05" ||
  fail "the clean-up costs clean speech: $d against $n without it"

for condition in white/0 pink/0 babble/0 fan/0 babble/20 fan/20; do
  kind=${condition%/*} db=${condition#*/}
  [ -f "$SCRATCH/$kind.wav" ] ||
    make_noise "$kind" "$(awk -v s="$secs" 'BEGIN { print int(s) + 2 }')" "$SCRATCH/$kind.wav"
  mix_at "$SCRATCH/clean.wav" "$SCRATCH/$kind.wav" "$db" "$SCRATCH/noisy.wav"
  through_codec "$SCRATCH/noisy.wav" "$SCRATCH/default.wav"
  through_codec "$SCRATCH/noisy.wav" "$SCRATCH/before.wav" --always
  d=$(score "$SCRATCH/default.wav") b=$(score "$SCRATCH/before.wav")
  echo "$condition dB: default $d; earlier clean-up $b"
  holds "$(field "$d" 2) >= $(field "$b" 2)" ||
    fail "$condition dB: segmental SNR $(field "$d" 2), below the earlier clean-up's $(field "$b" 2)"
  holds "$(field "$d" 4) <= $(field "$b" 4) + 0.25" ||
    fail "$condition dB: log-spectral distance $(field "$d" 4), over the earlier clean-up's $(field "$b" 4)"
done
echo ok
