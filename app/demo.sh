#!/bin/bash
# The main job: a voice letter's whole trip on one machine. A relay on
# loopback; a parent's phone and a grandmother's phone paired by invite code;
# the parent speaks, the grandmother's side receives and plays it, and the
# parent learns that it was delivered and then heard.
#
# Builds into build/ first, unless JIASHU and JIASHU_RELAY name the programs
# (the test suite runs it that way). Leaves nothing running. Exits non-zero
# unless the parent ends up seeing "played".
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

if [ -z "${JIASHU:-}" ] || [ -z "${JIASHU_RELAY:-}" ]; then
  cd "$top"
  if [ -f build/build.ninja ]; then meson setup --reconfigure build >/dev/null; else meson setup build >/dev/null; fi
  meson compile -C build >/dev/null
  JIASHU=$top/build/app/cli/jiashu
  JIASHU_RELAY=$top/build/net/relay/jiashu-relay
fi
out=${DEMO_OUT:-$top/build/demo}
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/jiashu-demo.XXXXXX")
relay_pid=""
finish() {
  [ -z "$relay_pid" ] || { kill -TERM "$relay_pid" 2>/dev/null; wait "$relay_pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap finish EXIT

step() { printf '\n== %s\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }
has_card() { # has_card playback|capture: a real ALSA card with such a device
  local lister=aplay
  [ "$1" = capture ] && lister=arecord
  command -v "$lister" >/dev/null && "$lister" -l 2>/dev/null | grep -q '^card '
}
state_of() { # state_of HOME BOX ID
  "$JIASHU" --home "$1" "$2" --json | jq -r --arg id "$3" '.[] | select(.id == $id) | .state'
}

step "A relay on loopback (one SQLite file)"
"$JIASHU_RELAY" --listen 127.0.0.1:0 --db "$work/relay.db" 2>"$work/relay.log" &
relay_pid=$!
port=""
for _ in $(seq 100); do
  port=$(sed -n 's/^jiashu-relay: listening on .*:\([0-9][0-9]*\)$/\1/p' "$work/relay.log" | head -1)
  [ -n "$port" ] && break
  kill -0 "$relay_pid" 2>/dev/null || die "the relay did not start: $(cat "$work/relay.log")"
  sleep 0.05
done
[ -n "$port" ] || die "the relay did not say its port"
relay=http://127.0.0.1:$port
echo "relay at $relay"

parent=$work/mama
grandma=$work/nainai
step "The parent's phone makes a family; the grandmother's phone joins with the invite code"
"$JIASHU" --home "$parent" setup --relay "$relay" --name mama
code=$("$JIASHU" --home "$parent" family create)
echo "invite code: $code"
"$JIASHU" --home "$grandma" setup --relay "$relay" --name nainai
"$JIASHU" --home "$grandma" family join "$code"
# The pairing is end to end: the parent's phone confirms it at its next
# sync, and the grandmother's phone learns the family's keys at hers.
"$JIASHU" --home "$parent" sync >/dev/null
"$JIASHU" --home "$grandma" sync >/dev/null
"$JIASHU" --home "$parent" family

step "The parent records a voice letter"
if has_card capture; then
  echo "speak now (5 seconds; Enter stops early)"
  id=$("$JIASHU" --home "$parent" record --to nainai --max-seconds 5)
else
  # No microphone: synthesised Mandarin speech goes into a virtual one
  # (ALSA's file plugin), so the recording still runs through PortAudio.
  echo "no microphone here: synthesised Mandarin speech (espeak-ng) goes into a virtual microphone"
  espeak-ng -v cmn -s 150 -w "$work/espeak.wav" \
    "今天工厂下班早，我给你们录一段话。奶奶身体好吗？宝贝要听话，好好学习，过年爸爸妈妈就回家了。" 2>/dev/null
  sox -q "$work/espeak.wav" -r 16000 -c 1 -b 16 "$work/letter.wav"
  virtual_audio=1
  real_home=$HOME
  . "$top/app/demo_audio.sh"
  demo_audio_devices "$work/audio"
  demo_audio_speak "$work/letter.wav"
  seconds=$(soxi -D "$work/letter.wav" | awk '{ printf "%d", $1 + 1 }')
  id=$("$JIASHU" --home "$parent" record --to nainai --max-seconds "$seconds" </dev/null)
fi
"$JIASHU" --home "$parent" export "$id" "$out/letter.opus"
"$JIASHU" decode "$out/letter.opus" "$work/check.wav"
bytes=$(stat -c %s "$out/letter.opus")
seconds=$(soxi -D "$work/check.wav")
awk -v b="$bytes" -v s="$seconds" 'BEGIN {
  printf "voice note: %d bytes, %.3f s, %.1f kbit/s in all (%s)\n", b, s, b * 8 / s / 1000, "Ogg Opus" }'

step "The parent's phone syncs: the letter goes to the relay"
"$JIASHU" --home "$parent" sync
[ "$(state_of "$parent" outbox "$id")" = sent ] || die "the letter was not sent"

step "The grandmother's phone syncs: the letter arrives"
"$JIASHU" --home "$grandma" sync
"$JIASHU" --home "$grandma" inbox
[ "$(state_of "$grandma" inbox "$id")" = ready ] || die "the letter did not arrive"

step "The parent syncs again and sees it delivered"
"$JIASHU" --home "$parent" sync >/dev/null
[ "$(state_of "$parent" outbox "$id")" = delivered ] || die "the parent does not see 'delivered'"
"$JIASHU" --home "$parent" outbox

step "The grandmother presses play"
if has_card playback && [ -z "${virtual_audio:-}" ]; then
  "$JIASHU" --home "$grandma" play --next
else
  # No sound card: the letter plays through PortAudio into a virtual
  # speaker, whose samples are kept as a WAV.
  [ -n "${virtual_audio:-}" ] || { real_home=$HOME; . "$top/app/demo_audio.sh"; demo_audio_devices "$work/audio"; }
  : >"$work/audio/speaker.raw"
  "$JIASHU" --home "$grandma" play --next </dev/null
  sox -q -r 16000 -c 1 -b 16 -e signed -t raw "$work/audio/speaker.raw" "$out/heard.wav"
  export HOME=$real_home; unset ALSA_CONFIG_PATH
  echo "no sound card here: the speaker's sound is in $out/heard.wav ($(soxi -D "$out/heard.wav") s, with the cues)"
fi
"$JIASHU" --home "$grandma" sync >/dev/null

step "The parent syncs and learns the letter was heard"
"$JIASHU" --home "$parent" sync >/dev/null
"$JIASHU" --home "$parent" outbox
[ "$(state_of "$parent" outbox "$id")" = played ] || die "the parent does not see 'played'"
echo
echo "The letter $id was recorded, sent, delivered and heard."
