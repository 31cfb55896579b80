#!/bin/bash
# The screen stays true: while the home screen shows, a background sync
# that brings letters updates the count on the screen at once and says it
# aloud ("a new letter has arrived, you have N"), a second one too. Home
# mode against a real relay; sound goes through files, prompts to the trace.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/station/tmux.sh"
. "$TESTS_DIR/station/relay_lib.sh"
. "$TESTS_DIR/station/sound_devices.sh"
need_sync
start_station_relay
P=$SCRATCH/parent
G=$SCRATCH/grandma
AUDIO=$SCRATCH/audio
TRACE=$SCRATCH/trace
mkdir -p "$AUDIO"

"$JIASHU" --home "$P" setup --relay "$RELAY_URL" --name Papa >/dev/null
"$JIASHU" --home "$P" family create >"$SCRATCH/create.out"
code=$(grep -Eo '[0-9]{4,}' "$SCRATCH/create.out" | tail -1)
[ -n "$code" ] || fail "family create printed no invite code"
"$JIASHU" --home "$G" setup --relay "$RELAY_URL" --name Nainai >/dev/null
"$JIASHU" --home "$G" family join "$code" >/dev/null
sox -n -r 16000 -c 1 -b 16 "$SCRATCH/a.wav" synth 1 sine 400 vol 0.3

trace_wait() {
  local i
  for i in $(seq 300); do grep -qxF -- "$1" "$TRACE" 2>/dev/null && return 0; sleep 0.1; done
  cat "$TRACE" >&2; fail "the trace did not say '$1'"
}

sound_devices
screen_start 80 24 env LANG=C JIASHU_STATION_AUDIO_DIR="$AUDIO" JIASHU_STATION_TRACE="$TRACE" \
  JIASHU_STATION_SYNC_SECONDS=1 JIASHU_STATION_IDLE_SECONDS=300 "$JIASHU" --home "$G" station
screen_wait "No new messages"
trace_wait "say en home-none"

"$JIASHU" --home "$P" record --input "$SCRATCH/a.wav" >/dev/null
"$JIASHU" --home "$P" sync >/dev/null
screen_wait "New messages: 1" 60
trace_wait "say en arrived 1"
screen_lacks "No new messages" "the screen still says there is nothing new"

"$JIASHU" --home "$P" record --input "$SCRATCH/a.wav" >/dev/null
"$JIASHU" --home "$P" sync >/dev/null
screen_wait "New messages: 2" 60
trace_wait "say en arrived 2"
screen_stop
echo ok
