# Speech and noise for the quality measure (tests/audio/speech_quality.c).
# Source after tests/lib.sh.
#
#   clean_speech OUT.wav          espeak-ng Mandarin, 16 kHz, with pauses
#   make_noise KIND SECONDS OUT   white, pink, babble (four voices) or fan (hum)
#   mix_at SPEECH NOISE SNR OUT   speech plus noise at SNR dB (RMS over the file)
#   through_codec IN OUT [--no-cleanup|--always]  encode and decode at 16 kHz
#       (--always: the earlier, always-on clean-up, through $ENCODE_CLEANUP)

# The same noise and dither in every run (sox's repeatable mode): the gates
# compare clean-ups by tenths of a dB, which fresh random noise could move.
export SOX_OPTS="${SOX_OPTS:+$SOX_OPTS }-R"
rms_of() { sox "$1" -n stat 2>&1 | awk '/RMS +amplitude/ { print $3 }'; }

clean_speech() {
  local out=$1 i=0 parts=()
  for text in "妈妈，我是小明的爸爸，今天下班早。" "过年我们就回家了，你要听奶奶的话。" \
              "学校的老师说你最近进步很大。"; do
    i=$((i + 1))
    espeak-ng -v cmn -s 150 -w "$SCRATCH/part$i.raw.wav" "$text" 2>/dev/null
    sox -q "$SCRATCH/part$i.raw.wav" -r 16000 -c 1 -b 16 "$SCRATCH/part$i.wav" pad 0 0.6
    parts+=("$SCRATCH/part$i.wav")
  done
  sox -q "${parts[@]}" "$out" norm -3
}

make_noise() {
  local kind=$1 secs=$2 out=$3
  case $kind in
  white) sox -q -n -r 16000 -c 1 -b 16 "$out" synth "$secs" whitenoise vol 0.3 ;;
  pink) sox -q -n -r 16000 -c 1 -b 16 "$out" synth "$secs" pinknoise vol 0.3 ;;
  babble)
    local v=0 voices=()
    for text in "The meeting starts at nine and ends after lunch today." \
                "我们明天去市场买菜，然后回家做饭。" "Il fait beau aujourd'hui, allons au parc." \
                "Der Zug kommt heute leider später als geplant an."; do
      v=$((v + 1))
      espeak-ng -v "$(echo "en-us cmn fr de" | cut -d' ' -f$v)" -s 170 -w "$SCRATCH/babble$v.raw.wav" "$text" 2>/dev/null
      sox -q "$SCRATCH/babble$v.raw.wav" -r 16000 -c 1 -b 16 "$SCRATCH/babble$v.wav" repeat 9 trim 0.$v "$secs"
      voices+=("$SCRATCH/babble$v.wav")
    done
    sox -q -m "${voices[@]}" "$out" ;;
  fan)
    # A fan: mains hum with its harmonics over broadband rush.
    sox -q -n -r 16000 -c 1 -b 16 "$SCRATCH/hum.wav" synth "$secs" sine 100 vol 0.2
    sox -q -n -r 16000 -c 1 -b 16 "$SCRATCH/hum2.wav" synth "$secs" sine 150 vol 0.1
    sox -q -n -r 16000 -c 1 -b 16 "$SCRATCH/rush.wav" synth "$secs" brownnoise vol 0.3
    sox -q -m "$SCRATCH/hum.wav" "$SCRATCH/hum2.wav" "$SCRATCH/rush.wav" "$out" ;;
  esac
}

mix_at() {
  local speech=$1 noise=$2 snr=$3 out=$4 s n v
  s=$(rms_of "$speech"); n=$(rms_of "$noise")
  v=$(awk -v s="$s" -v n="$n" -v snr="$snr" 'BEGIN { printf "%.6f", s / (n * 10 ^ (snr / 20)) }')
  sox -q -m -v 1 "$speech" -v "$v" "$noise" "$out" trim 0 "$(soxi -D "$speech")"
}

# Decoded by opusdec at 16 kHz without dither: jiashu decode (opusfile)
# dithers with a seed from the stream's random serial number, which moves
# segmental SNR by up to 0.06 dB between two encodings of the same packets.
through_codec() {
  local in=$1 out=$2; shift 2
  if [ "${1:-}" = --always ]; then
    "$ENCODE_CLEANUP" always "$in" "$SCRATCH/through.opus"
  else
    "$JIASHU" --home "$SCRATCH/tools" encode "$@" "$in" "$SCRATCH/through.opus" >/dev/null
  fi
  opusdec --quiet --no-dither --rate 16000 "$SCRATCH/through.opus" "$out"
}
