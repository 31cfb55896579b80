#!/bin/bash
# Every class of bad input to encode and decode: one clear line, a non-zero
# exit, never a signal, and no output file left behind.
. "$TESTS_DIR/lib.sh"
cd "$SCRATCH"

speech good.wav 16000
"$JIASHU" encode good.wav good.opus

# no_output FILE: a failed command left neither FILE nor its temporary.
no_output() {
  [ ! -e "$1" ] || fail "a failed command left $1 behind"
  [ ! -e "$1.part" ] || fail "a failed command left $1.part behind"
}

# --- encode ---------------------------------------------------------------
expect_error_matching "encode: missing input" "missing\.wav: No such file" "$JIASHU" encode missing.wav o.opus
no_output o.opus
expect_error_matching "encode: unwritable output" "nodir/o\.opus: No such file" "$JIASHU" encode good.wav nodir/o.opus
touch afile
expect_error_matching "encode: output under a file" "Not a directory" "$JIASHU" encode good.wav afile/o.opus
for b in abc 5 5999 64001 16000x -16000 ""; do
  expect_error_matching "encode: --bitrate '$b'" "bitrate" "$JIASHU" encode good.wav o.opus --bitrate "$b"
done
expect_error_matching "encode: --bitrate without value" "bitrate" "$JIASHU" encode good.wav o.opus --bitrate
expect_error_matching "encode: unknown option" "unknown option" "$JIASHU" encode good.wav o.opus --fast
expect_error_matching "encode: one path" "needs IN.wav" "$JIASHU" encode good.wav
no_output o.opus

echo "not audio at all" >text.wav
expect_error_matching "encode: not a WAV" "not a WAV" "$JIASHU" encode text.wav o.opus
: >empty.wav
expect_error_matching "encode: empty file" "not a WAV" "$JIASHU" encode empty.wav o.opus
head -c 30 good.wav >cut-header.wav
expect_error_matching "encode: header cut short" "not a WAV" "$JIASHU" encode cut-header.wav o.opus
sox -q good.wav -r 96000 r96.wav
expect_error_matching "encode: 96 kHz" "8000 and 48000" "$JIASHU" encode r96.wav o.opus
sox -q good.wav -r 4000 r4.wav
expect_error_matching "encode: 4 kHz" "8000 and 48000" "$JIASHU" encode r4.wav o.opus
sox -q good.wav -c 3 c3.wav
expect_error_matching "encode: three channels" "not a WAV" "$JIASHU" encode c3.wav o.opus
sox -q good.wav -e floating-point -b 64 f64.wav
expect_error_matching "encode: 64-bit float" "not a WAV" "$JIASHU" encode f64.wav o.opus
sox -q good.wav -e a-law alaw.wav
expect_error_matching "encode: A-law" "not a WAV" "$JIASHU" encode alaw.wav o.opus
sox -q -n -r 16000 -b 16 -c 1 nothing.wav trim 0 0
expect_error_matching "encode: no samples" "no audio" "$JIASHU" encode nothing.wav o.opus
sox -q -n -r 8000 -b 16 -c 1 toolong.wav trim 0 601
expect_error_matching "encode: over the length limit" "longer than the limit" "$JIASHU" encode toolong.wav o.opus
no_output o.opus

# --- decode ---------------------------------------------------------------
expect_error_matching "decode: missing input" "missing\.opus: No such file" "$JIASHU" decode missing.opus o.wav
expect_error_matching "decode: unwritable output" "nodir/o\.wav: No such file" "$JIASHU" decode good.opus nodir/o.wav
expect_error_matching "decode: a directory" "Invalid argument" "$JIASHU" decode . o.wav
expect_error_matching "decode: one path" "needs IN.opus" "$JIASHU" decode good.opus
: >empty.opus
expect_error_matching "decode: empty" "holds no audio" "$JIASHU" decode empty.opus o.wav
expect_error_matching "decode: not Ogg" "not an Ogg" "$JIASHU" decode good.wav o.wav
sox -q good.wav vorbis.ogg
expect_error_matching "decode: Ogg Vorbis" "not an Opus" "$JIASHU" decode vorbis.ogg o.wav
size=$(stat -c %s good.opus)
for cut in 30 100 $((size / 2)) $((size - 1)); do
  head -c "$cut" good.opus >cut.opus
  expect_error_matching "decode: cut at $cut bytes" "truncated" "$JIASHU" decode cut.opus o.wav
done
sox -q good.wav -c 2 stereo.wav
opusenc --quiet stereo.wav stereo.opus
expect_error_matching "decode: stereo" "not a mono" "$JIASHU" decode stereo.opus o.wav
# A byte flipped in the middle of the audio.
cp good.opus flip.opus
printf '\x55' | dd of=flip.opus bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
expect_error_matching "decode: damaged" "damaged" "$JIASHU" decode flip.opus o.wav
# Absurd duration: the last page claims a day of audio (CRC made right
# again, so the damage is only in the timing).
python3 - good.opus absurd.opus <<'EOF'
import sys
d = bytearray(open(sys.argv[1], 'rb').read())
last = d.rfind(b'OggS')
d[last + 6:last + 14] = (48000 * 86400).to_bytes(8, 'little')
d[last + 22:last + 26] = b'\0\0\0\0'
crc = 0
for b in d[last:]:
    crc ^= b << 24
    for _ in range(8):
        crc = ((crc << 1) ^ 0x04c11db7 if crc & 0x80000000 else crc << 1) & 0xffffffff
d[last + 22:last + 26] = crc.to_bytes(4, 'little')
open(sys.argv[2], 'wb').write(d)
EOF
opusinfo absurd.opus >/dev/null 2>&1 || true
expect_error_matching "decode: absurd duration" "timing is impossible" "$JIASHU" decode absurd.opus o.wav
# Over the length limit, written by another encoder.
sox -q -n -r 8000 -b 16 -c 1 long.wav synth 601 sine 300 vol 0.1
opusenc --quiet --comp 0 --bitrate 6 long.wav long.opus
expect_error_matching "decode: over the length limit" "longer than the limit" "$JIASHU" decode long.opus o.wav
# Bigger than any voice note may be: refused before it is read.
truncate -s 7000000 huge.opus
expect_error_matching "decode: huge file" "longer than the limit" "$JIASHU" decode huge.opus o.wav
no_output o.wav

# The good note still decodes, and nothing above touched it.
"$JIASHU" decode good.opus o.wav
[ -s o.wav ] || fail "the good note did not decode"
echo ok
