#!/bin/bash
# jiashu encode / decode on tones and speech, every WAV format and rate the
# issue names, checked with tools nobody here wrote: opusinfo, ffprobe, sox.
. "$TESTS_DIR/lib.sh"
cd "$SCRATCH"

# opus_ok FILE SECONDS: opusinfo finds nothing to warn about, ffprobe reads
# one channel of Opus lasting SECONDS (ffprobe counts the 6.5 ms pre-skip).
opus_ok() {
  local f=$1 want=$2 info probe
  info=$(opusinfo "$f" 2>&1) || fail "opusinfo rejects $f: $info"
  if echo "$info" | grep -Eq 'WARNING|ERROR'; then fail "opusinfo complains about $f: $info"; fi
  probe=$(ffprobe -v error -select_streams a:0 -show_entries stream=codec_name,channels:format=duration \
    -of default=noprint_wrappers=1 "$f")
  echo "$probe" | grep -qx 'codec_name=opus' || fail "ffprobe: $f is not opus: $probe"
  echo "$probe" | grep -qx 'channels=1' || fail "ffprobe: $f is not mono: $probe"
  local dur
  dur=$(echo "$probe" | sed -n 's/^duration=//p')
  awk -v d="$dur" -v w="$want" 'BEGIN { exit !(d - w < 0.02 && w - d < 0.02) }' ||
    fail "ffprobe: $f lasts $dur s, expected $want"
}

# rms FILE: RMS amplitude of a WAV, from sox.
rms() { sox "$1" -n stat 2>&1 | awk '/RMS +amplitude/ { print $3 }'; }
# same_sound REF.wav GOT.wav MIN: one second of GOT (from 1 s in) is
# found in REF by correlation of at least MIN, both at 4 kHz mono (content,
# not only length: a format read wrong or a bad downmix is noise).
same_sound() {
  sox -q "$2" -r 4000 -c 1 -b 16 -e signed -t raw got.raw trim 1 1
  sox -q "$1" -r 4000 -c 1 -b 16 -e signed -t raw ref.raw remix -
  "$SIGNAL_CHECK" find got.raw ref.raw "$3" >/dev/null
}
# freq FILE: sox's rough frequency estimate.
freq() { sox "$1" -n stat 2>&1 | awk '/Rough +frequency/ { print $3 }'; }

# 1. Exact round-trip length at 8, 16, 44.1 and 48 kHz, speech and a tone,
#    with clean-up on and off: 4.000 s in, 192000 frames at 48 kHz out.
speech speech16.wav 16000
for rate in 8000 16000 44100 48000; do
  sox -q speech16.wav -r "$rate" s.wav pad 0 4 trim 0 4
  [ "$(soxi -s s.wav)" -eq $((rate * 4)) ] || fail "sox made a wrong test file"
  for cleanup in "" --no-cleanup; do
    "$JIASHU" encode s.wav s.opus $cleanup
    opus_ok s.opus 4.0065
    "$JIASHU" decode s.opus s.out.wav
    [ "$(soxi -r s.out.wav)" -eq 48000 ] || fail "decode writes 48 kHz"
    [ "$(soxi -c s.out.wav)" -eq 1 ] || fail "decode writes mono"
    [ "$(soxi -b s.out.wav)" -eq 16 ] || fail "decode writes 16-bit"
    frames=$(soxi -s s.out.wav)
    [ "$frames" -eq 192000 ] || fail "$rate Hz $cleanup: 4.000 s decoded to $frames frames"
    awk -v r="$(rms s.out.wav)" 'BEGIN { exit !(r > 0.01) }' || fail "$rate Hz $cleanup: decoded speech is silent"
  done
  sox -q -n -r "$rate" -b 16 t.wav synth 4 sine 440 vol 0.3
  "$JIASHU" encode t.wav t.opus --no-cleanup
  opus_ok t.opus 4.0065
  "$JIASHU" decode t.opus t.out.wav
  [ "$(soxi -s t.out.wav)" -eq 192000 ] || fail "$rate Hz tone: wrong length"
  awk -v f="$(freq t.out.wav)" 'BEGIN { exit !(f > 420 && f < 460) }' ||
    fail "$rate Hz tone: decoded at $(freq t.out.wav) Hz, expected 440"
done

# 2. Every input format: 8/16/24/32-bit integer, 32-bit float, stereo,
#    WAVE_FORMAT_EXTENSIBLE as sox and ffmpeg write it, odd rates.
speech sp.wav 22050
want=$(soxi -D sp.wav)
formats=("-b 8" "-b 16" "-b 24" "-b 32" "-e floating-point -b 32" "-c 2" "-c 2 -b 24" "-r 11025" "-r 32000")
for f in "${formats[@]}"; do
  # shellcheck disable=SC2086
  sox -q sp.wav $f in.wav
  "$JIASHU" encode in.wav in.opus || fail "encode of a WAV made with sox $f"
  opus_ok in.opus "$(awk -v w="$(soxi -D in.wav)" 'BEGIN { print w + 0.0065 }')"
  "$JIASHU" decode in.opus in.out.wav
  awk -v a="$(soxi -D in.out.wav)" -v b="$(soxi -D in.wav)" 'BEGIN { exit !(a - b < 0.0001 && b - a < 0.0001) }' ||
    fail "sox $f: $(soxi -D in.wav) s decoded to $(soxi -D in.out.wav) s"
  same_sound sp.wav in.out.wav 0.8 || fail "sox $f: what decodes is not the speech that went in"
done
# Downmix: the speech on the left, a 300 Hz tone on the right; the note
# must hold both (a left-only or right-only read fails one of them).
sox -q -n -r 22050 -b 16 tone.wav synth "$want" sine 300 vol 0.3
sox -q -M sp.wav tone.wav lr.wav
"$JIASHU" encode lr.wav lr.opus --no-cleanup && "$JIASHU" decode lr.opus lr.out.wav
# (Measured: 0.45 and 0.88; the left channel alone gives 0.93 and 0.01.)
same_sound sp.wav lr.out.wav 0.3 || fail "the downmix lost the left channel"
same_sound tone.wav lr.out.wav 0.5 || fail "the downmix lost the right channel"
sox -q sp.wav -b 24 ext.wav
[ "$(xxd -s 20 -l 2 -p ext.wav)" = "feff" ] || fail "sox no longer writes WAVE_FORMAT_EXTENSIBLE for 24-bit"
ffmpeg -v error -y -i sp.wav -ac 2 -c:a pcm_s24le ff.wav
[ "$(xxd -s 20 -l 2 -p ff.wav)" = "feff" ] || fail "ffmpeg no longer writes WAVE_FORMAT_EXTENSIBLE here"
"$JIASHU" encode ff.wav ff.opus
opus_ok ff.opus "$(awk -v w="$want" 'BEGIN { print w + 0.0065 }')"
ffmpeg -v error -y -i sp.wav -c:a pcm_f32le ff32.wav
"$JIASHU" encode ff32.wav ff32.opus
# Streamed WAV: ffmpeg writing to a pipe cannot fill in the data size.
ffmpeg -v error -i sp.wav -f wav - | cat >piped.wav
"$JIASHU" encode piped.wav piped.opus
"$JIASHU" decode piped.opus piped.out.wav
awk -v a="$(soxi -D piped.out.wav)" -v b="$want" 'BEGIN { exit !(a - b < 0.0001 && b - a < 0.0001) }' ||
  fail "a streamed WAV decoded to $(soxi -D piped.out.wav) s, expected $want"

# 3. --bitrate is honoured, and a tag block without padding: a 10 s note
#    at 6 kbit/s is far smaller than one at 32 kbit/s, and holds no run of
#    512 zero bytes.
sox -q speech16.wav ten.wav pad 0 10 trim 0 10
"$JIASHU" encode ten.wav lo.opus --bitrate 6000
"$JIASHU" encode ten.wav hi.opus --bitrate=32000
"$JIASHU" encode ten.wav max.opus --bitrate 64000
opus_ok max.opus 10.0065 # packets over 255 bytes take several lacing values
lo=$(stat -c %s lo.opus) hi=$(stat -c %s hi.opus)
[ "$lo" -lt $((hi / 3)) ] || fail "--bitrate: 6 kbit/s gave $lo bytes, 32 kbit/s $hi"
[ "$lo" -lt $((6000 * 10 / 8 * 12 / 10)) ] || fail "--bitrate 6000: $lo bytes for 10 s"
zeros=$(od -An -v -tx1 lo.opus | tr -s ' \n' '\n\n' | awk '$1 == "00" { run++; if (run > m) m = run; next } { run = 0 } END { print m + 0 }')
[ "$zeros" -lt 64 ] || fail "the note holds a run of $zeros zero bytes (padding?)"

# 4. Decode output is what opusdec makes of the same note: same length, and
#    the same samples (their difference 40 dB below the sound).
opusdec --quiet --rate 48000 lo.opus ref.wav
"$JIASHU" decode lo.opus mine.wav
[ "$(soxi -s ref.wav)" -eq "$(soxi -s mine.wav)" ] || fail "opusdec decodes $(soxi -s ref.wav) frames, jiashu $(soxi -s mine.wav)"
sox -q -m -v 1 ref.wav -v -1 mine.wav diff.wav
awk -v d="$(rms diff.wav)" -v r="$(rms ref.wav)" 'BEGIN { exit !(d < r / 100) }' ||
  fail "jiashu decodes other samples than opusdec: difference $(rms diff.wav), sound $(rms ref.wav)"

# 5. A note from another encoder (opusenc) decodes, mono, exact length.
opusenc --quiet --bitrate 16 ten.wav other.opus
"$JIASHU" decode other.opus other.wav
[ "$(soxi -s other.wav)" -eq 480000 ] || fail "an opusenc note decoded to $(soxi -s other.wav) frames"
echo ok
