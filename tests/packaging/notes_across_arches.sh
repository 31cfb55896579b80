#!/bin/bash
# Notes travel between machines of different architectures: one speech
# recording is encoded by the amd64, arm64 and armhf builds, and every note
# is decoded by every build. Encoders may make different bytes (each
# architecture's libopus has its own optimised paths), so what must hold
# is what a listener hears: every decode keeps the input's exact length;
# the three decoders of one note agree as the codec tests ask jiashu and
# opusdec to (encode_decode_cli.sh: the difference at least 40 dB below the
# sound); each note's loudness is within 1 dB of the amd64 note's; and by
# the project's quality measure (tests/audio/speech_quality.c, against the
# input) each note scores within 1 dB segmental SNR and 0.5 dB log-spectral
# distance of the amd64 note.
#   tests/packaging/notes_across_arches.sh AMD64_BUILD ARM64_BUILD ARMHF_BUILD
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
declare -A build=([amd64]=$1 [arm64]=$2 [armhf]=$3)
declare -A sysroot=([amd64]="" [arm64]=$top/build-cross/sysroot-arm64 [armhf]=$top/build-cross/sysroot-armhf)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
run() { local arch=$1; shift; QEMU_LD_PREFIX=${sysroot[$arch]} "${build[$arch]}/app/cli/jiashu" "$@"; }

espeak-ng -v cmn -s 150 -w "$scratch/espeak.wav" "今天工厂下班早，我给你们录一段话。奶奶身体好吗？宝贝要听话。" 2>/dev/null
sox -q "$scratch/espeak.wav" -r 16000 -c 1 -b 16 "$scratch/in.wav"
declare -A score
quality=${build[amd64]}/tests/audio/speech_quality
[ -x "$quality" ] || fail "no quality measure at $quality (build the amd64 tree first)"
rms() { sox "$1" -n stat 2>&1 | awk '/RMS +amplitude/ { print $3 }'; }
samples() { soxi -s "$1"; }
want=$(soxi -D "$scratch/in.wav")

for enc in amd64 arm64 armhf; do
  run "$enc" encode "$scratch/in.wav" "$scratch/$enc.opus" || fail "$enc could not encode"
done
echo "note sizes: amd64 $(stat -c %s "$scratch/amd64.opus"), arm64 $(stat -c %s "$scratch/arm64.opus"), armhf $(stat -c %s "$scratch/armhf.opus") bytes"
for enc in amd64 arm64 armhf; do
  for dec in amd64 arm64 armhf; do
    run "$dec" decode "$scratch/$enc.opus" "$scratch/$enc-by-$dec.wav" || fail "$dec could not decode the $enc note"
    got=$(soxi -D "$scratch/$enc-by-$dec.wav")
    awk -v a="$got" -v b="$want" 'BEGIN { exit !(a - b < 0.001 && b - a < 0.001) }' ||
      fail "the $enc note decoded by $dec lasts $got s, the input $want s"
  done
  for dec in arm64 armhf; do
    sox -q -m -v 1 "$scratch/$enc-by-amd64.wav" -v -1 "$scratch/$enc-by-$dec.wav" "$scratch/diff.wav"
    snr=$(awk -v s="$(rms "$scratch/$enc-by-amd64.wav")" -v d="$(rms "$scratch/diff.wav")" \
      'BEGIN { if (d == 0) print 999; else printf "%.1f", 20 * log(s / d) / log(10) }')
    echo "the $enc note: $dec's decode against amd64's: $snr dB (999: the same samples)"
    awk -v x="$snr" 'BEGIN { exit !(x >= 40) }' || fail "the $enc note decodes differently on $dec ($snr dB)"
  done
  level=$(awk -v a="$(rms "$scratch/$enc-by-amd64.wav")" -v b="$(rms "$scratch/amd64-by-amd64.wav")" \
    'BEGIN { printf "%.2f", 20 * log(a / b) / log(10) }')
  echo "the $enc note's loudness against the amd64 note's: $level dB"
  awk -v x="$level" 'BEGIN { exit !(x <= 1 && x >= -1) }' || fail "the $enc note is $level dB off"
  sox -q "$scratch/$enc-by-$enc.wav" -r 16000 -b 16 "$scratch/$enc-16k.wav"
  score[$enc]=$("$quality" "$scratch/in.wav" "$scratch/$enc-16k.wav")
  echo "the $enc note (decoded on $enc) against the input: ${score[$enc]}"
done
for enc in arm64 armhf; do
  read -r _ snr _ lsd <<<"${score[$enc]}"
  read -r _ snr0 _ lsd0 <<<"${score[amd64]}"
  awk -v a="$snr" -v b="$snr0" 'BEGIN { exit !(a - b <= 1 && b - a <= 1) }' ||
    fail "the $enc note's segmental SNR is $snr dB, the amd64 note's $snr0 dB"
  awk -v a="$lsd" -v b="$lsd0" 'BEGIN { exit !(a - b <= 0.5 && b - a <= 0.5) }' ||
    fail "the $enc note's log-spectral distance is $lsd dB, the amd64 note's $lsd0 dB"
done
echo "notes across architectures: every note decodes everywhere, the same"
