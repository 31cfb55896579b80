#!/bin/sh
# The main job: builds jiashu and shows a voice letter's trip through it.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if [ -f build/build.ninja ]; then meson setup --reconfigure build >/dev/null; else meson setup build >/dev/null; fi
meson compile -C build >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "1. A parent speaks (synthesised Mandarin speech, 16 kHz WAV)"
espeak-ng -v cmn -s 150 -w "$work/espeak.wav" "今天工厂下班早，我给你们录一段话。奶奶身体好吗？宝贝要听话，好好学习，过年爸爸妈妈就回家了。" 2>/dev/null
sox -q "$work/espeak.wav" -r 16000 -c 1 -b 16 "$work/parent.wav"
echo "2. jiashu encode"
build/app/jiashu encode "$work/parent.wav" "$work/letter.opus"
echo "3. jiashu decode"
build/app/jiashu decode "$work/letter.opus" "$work/heard.wav"
wav_bytes=$(stat -c %s "$work/parent.wav")
note_bytes=$(stat -c %s "$work/letter.opus")
seconds=$(soxi -D "$work/heard.wav")
echo "   speech WAV:  $wav_bytes bytes"
echo "   voice note:  $note_bytes bytes ($(awk "BEGIN{printf \"%.1f\", $wav_bytes/$note_bytes}")x smaller)"
awk -v b="$note_bytes" -v s="$seconds" 'BEGIN { printf "   duration:    %.3f s\n   bitrate:     %.1f kbit/s (whole file)\n", s, b * 8 / s / 1000 }'
